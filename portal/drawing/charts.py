"""Bar charts as inline SVG, drawn on the server: no JavaScript, no chart library.

Pure functions over plain data. The charts scale to their container (a ``viewBox`` and
``width="100%"``) and are styled with SVG attributes only. For people who cannot see them:
``role="img"`` with a ``<title>`` and a ``<desc>`` that summarises the figures, a ``<title>``
with the exact value on every bar (shown on hover), and fills that differ in pattern as well
as colour. The page puts a data table beside each chart as well.

Every piece of text is escaped here, so the result can be marked safe. The output depends
only on the arguments: the same data draws the same bytes.
"""

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

Pattern = Literal["solid", "stripes", "dots", "crosshatch", "lines"]

WIDTH = 960
FONT_SIZE = 13
INK = "#1b2430"
MUTED = "#4f5b69"
GRID = "#d5dbe3"
AXIS = "#8794a3"
FONT_FAMILY = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"
# Roughly how wide a character of FONT_SIZE is, to lay out labels without measuring text.
CHAR_WIDTH = FONT_SIZE * 0.56
MAX_LABEL_CHARS = 40
MAX_BAR_WIDTH = 64

_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")
# Characters XML 1.0 does not allow, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class Series:
    """One colour of bars: a value per category."""

    label: str
    values: tuple[float, ...]
    colour: str  # "#rrggbb"
    pattern: Pattern = "solid"


def bar_chart_svg(
    *,
    chart_id: str,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[Series],
    category_titles: Sequence[str] | None = None,
    stacked: bool = True,
    horizontal: bool = False,
    value_axis_label: str = "",
    category_axis_label: str = "",
    empty_message: str = "No data",
) -> SafeString:
    """A bar chart: one bar per category, its series stacked (or side by side, ``stacked=False``).

    Vertical bars suit many categories (days: tick labels thin out, bars get thinner);
    ``horizontal=True`` suits a few long labels, and writes each bar's value beside it.
    ``chart_id`` prefixes the ids inside the SVG, so it must be unique on the page.
    ``category_titles`` are the fuller names used in the bars' tooltips (default: categories).
    With no categories, or only zeros, the chart says ``empty_message`` instead.
    """
    if not _ID.match(chart_id):
        raise ValueError(f"chart_id must be a plain identifier, not {chart_id!r}")
    titles = list(category_titles) if category_titles is not None else list(categories)
    if len(titles) != len(categories):
        raise ValueError("category_titles must have one title per category")
    for item in series:
        if not _COLOUR.match(item.colour):
            raise ValueError(f"colour must be #rrggbb, not {item.colour!r}")
        if len(item.values) != len(categories):
            raise ValueError(f"series {item.label!r} needs one value per category")
        if any(not math.isfinite(value) or value < 0 for value in item.values):
            raise ValueError(f"series {item.label!r} has a negative or non-finite value")

    totals = [
        sum(item.values[index] for item in series) if stacked else 0
        for index in range(len(categories))
    ]
    highest = max(
        (totals if stacked else [value for item in series for value in item.values]), default=0
    )
    if highest <= 0:
        return _empty_chart(chart_id, title, description, empty_message)

    chart = _Chart(chart_id, categories, titles, series, stacked=stacked, highest=highest)
    if horizontal:
        chart.horizontal_bars(value_axis_label)
    else:
        chart.vertical_bars(value_axis_label, category_axis_label)
    return chart.svg(title, description)


def nice_ticks(highest: float, *, target: int = 5) -> list[float]:
    """Tick values from 0 to a round number at or above ``highest``.

    Steps are 1, 2 or 5 times a power of ten, and never below 1: counts get no fractional ticks.
    """
    if highest <= 0:
        return [0, 1]
    raw_step = highest / target
    magnitude = 10 ** math.floor(math.log10(raw_step))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw_step)
    step = max(step, 1)
    count = math.ceil(highest / step - 1e-9)
    return [round(index * step, 6) for index in range(count + 1)]


def label_every(count: int, slot_width: float, label_width: float) -> int:
    """Label every Nth category so labels do not overlap: N from 1, 2, 3, 5, 7, 14, 28…"""
    for every in (1, 2, 3, 5, 7, 14, 28, 56, 91, 182, 364):
        if slot_width * every >= label_width:
            return every
    return max(count, 1)


# --- Drawing ----------------------------------------------------------------------------------


def _text(value: object) -> str:
    return str(escape(_NOT_XML.sub("", str(value))))


def _number(value: float) -> str:
    """Coordinates with two decimals at most, and no "-0", so the output is stable."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in {"", "-0"} else text


def _value_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}".rstrip("0")


def _truncate(label: str, limit: int = MAX_LABEL_CHARS) -> str:
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


class _Chart:
    def __init__(
        self,
        chart_id: str,
        categories: Sequence[str],
        titles: Sequence[str],
        series: Sequence[Series],
        *,
        stacked: bool,
        highest: float,
    ) -> None:
        self.chart_id = chart_id
        self.categories = categories
        self.titles = titles
        self.series = series
        self.stacked = stacked
        self.highest = highest
        self.height = 0.0
        self.crisp = False
        self.parts: list[str] = []

    # Fills ---------------------------------------------------------------------------------

    def fill(self, index: int) -> str:
        if self.series[index].pattern == "solid":
            return self.series[index].colour
        return f"url(#{self.chart_id}-fill-{index})"

    def defs(self) -> str:
        patterns = []
        for index, item in enumerate(self.series):
            if item.pattern == "solid":
                continue
            # A white overlay on the colour: stripes, dots, hatching or lines.
            overlay = {
                "stripes": '<rect width="2.5" height="8" fill="#fff" fill-opacity="0.6"/>',
                "dots": '<circle cx="4" cy="4" r="1.6" fill="#fff" fill-opacity="0.8"/>',
                "crosshatch": '<rect width="1.5" height="8" fill="#fff" fill-opacity="0.6"/>'
                '<rect width="8" height="1.5" fill="#fff" fill-opacity="0.6"/>',
                "lines": '<rect width="8" height="2" fill="#fff" fill-opacity="0.6"/>',
            }[item.pattern]
            rotate = ' patternTransform="rotate(45)"' if item.pattern != "lines" else ""
            patterns.append(
                f'<pattern id="{self.chart_id}-fill-{index}" width="8" height="8" '
                f'patternUnits="userSpaceOnUse"{rotate}>'
                f'<rect width="8" height="8" fill="{item.colour}"/>{overlay}</pattern>'
            )
        return f"<defs>{''.join(patterns)}</defs>" if patterns else ""

    # Pieces --------------------------------------------------------------------------------

    def add(self, part: str) -> None:
        self.parts.append(part)

    def label(
        self,
        x: float,
        y: float,
        text: str,
        *,
        anchor: str = "start",
        colour: str = MUTED,
        extra: str = "",
    ) -> None:
        self.add(
            f'<text x="{_number(x)}" y="{_number(y)}" text-anchor="{anchor}" '
            f'fill="{colour}"{extra}>{_text(text)}</text>'
        )

    def bar(self, x: float, y: float, width: float, height: float, index: int, tip: str) -> None:
        crisp = ' shape-rendering="crispEdges"' if self.crisp else ""
        self.add(
            f'<rect x="{_number(x)}" y="{_number(y)}" width="{_number(width)}" '
            f'height="{_number(height)}" fill="{self.fill(index)}"{crisp}>'
            f"<title>{_text(tip)}</title></rect>"
        )

    def legend(self, y: float) -> float:
        """One row of swatches and labels, wrapping as needed; returns the height used."""
        if len(self.series) < 2:
            return 0
        x, row_y, row_height = 0.0, y, FONT_SIZE + 10
        for index, item in enumerate(self.series):
            width = 18 + 6 + len(item.label) * CHAR_WIDTH + 20
            if x and x + width > WIDTH:
                x, row_y = 0.0, row_y + row_height
            self.add(
                f'<rect x="{_number(x)}" y="{_number(row_y)}" width="18" height="14" '
                f'fill="{self.fill(index)}" stroke="{item.colour}"/>'
            )
            self.label(x + 24, row_y + 11.5, item.label, colour=INK)
            x += width
        return row_y + row_height - y + 8

    def total(self, position: int) -> float:
        return sum(item.values[position] for item in self.series)

    def segments(self, position: int) -> Iterator[tuple[int, float, str]]:
        """Each series' index, value and tooltip at one category; zeros are left out (no bar)."""
        title = self.titles[position]
        total = self.total(position)
        for index, item in enumerate(self.series):
            value = item.values[position]
            if value <= 0:
                continue
            tip = f"{title}: {item.label} {_value_text(value)}"
            if self.stacked and len(self.series) > 1:
                tip += f" of {_value_text(total)}"
            yield index, value, tip

    # Layouts -------------------------------------------------------------------------------

    def vertical_bars(self, value_axis_label: str, category_axis_label: str) -> None:
        categories = self.categories
        top = self.legend(0) + 8
        ticks = nice_ticks(self.highest)
        tick_width = max(len(_value_text(tick)) for tick in ticks) * CHAR_WIDTH
        left = 28 + tick_width + 8
        right = 12
        plot_height = 240
        bottom = top + plot_height
        plot_width = WIDTH - left - right
        scale = plot_height / ticks[-1]
        self.height = bottom + 28 + (22 if category_axis_label else 0)

        self.axis_grid_horizontal(ticks, left, top, plot_width, scale, bottom)
        if value_axis_label:
            middle = top + plot_height / 2
            self.label(
                14,
                middle,
                value_axis_label,
                anchor="middle",
                extra=f' transform="rotate(-90 14 {_number(middle)})"',
            )

        slot = plot_width / len(categories)
        # Thin bars touch, drawn on whole pixels so no hairline seams show between them; wider
        # ones keep a gap so neighbours read as separate, and a lone bar is not a wall.
        bar_width = slot if slot < 4 else min(slot * 0.72, MAX_BAR_WIDTH)
        self.crisp = slot < 4
        groups = 1 if self.stacked else len(self.series)
        for position in range(len(categories)):
            x = left + position * slot + (slot - bar_width) / 2
            base = bottom
            for index, value, tip in self.segments(position):
                height = value * scale
                if self.stacked:
                    base -= height
                    self.bar(x, base, bar_width, height, index, tip)
                else:
                    width = bar_width / groups
                    self.bar(x + index * width, bottom - height, width, height, index, tip)

        longest = max(len(category) for category in categories) * CHAR_WIDTH + 16
        every = label_every(len(categories), slot, longest)
        for position in range(0, len(categories), every):
            x = left + position * slot + slot / 2
            self.add(
                f'<line x1="{_number(x)}" y1="{_number(bottom)}" x2="{_number(x)}" '
                f'y2="{_number(bottom + 5)}" stroke="{AXIS}"/>'
            )
            # Keep the first and last labels inside the chart.
            half = len(categories[position]) * CHAR_WIDTH / 2
            self.label(
                min(max(x, half), WIDTH - half), bottom + 19, categories[position], anchor="middle"
            )
        self.add(
            f'<line x1="{_number(left)}" y1="{_number(bottom)}" x2="{_number(left + plot_width)}" '
            f'y2="{_number(bottom)}" stroke="{AXIS}"/>'
        )
        if category_axis_label:
            self.label(left + plot_width / 2, bottom + 44, category_axis_label, anchor="middle")

    def axis_grid_horizontal(
        self,
        ticks: Sequence[float],
        left: float,
        top: float,
        plot_width: float,
        scale: float,
        bottom: float,
    ) -> None:
        for tick in ticks:
            y = bottom - tick * scale
            self.add(
                f'<line x1="{_number(left)}" y1="{_number(y)}" x2="{_number(left + plot_width)}" '
                f'y2="{_number(y)}" stroke="{GRID}"/>'
            )
            self.label(left - 6, y + 4, _value_text(tick), anchor="end")

    def horizontal_bars(self, value_axis_label: str) -> None:
        top = self.legend(0) + 4
        row = 30.0
        shown = [_truncate(category) for category in self.categories]
        left = max(len(label) for label in shown) * CHAR_WIDTH + 16
        right = 16 + len(_value_text(self.highest)) * CHAR_WIDTH + 8
        plot_width = WIDTH - left - right
        bottom = top + row * len(self.categories)
        ticks = nice_ticks(self.highest)
        scale = plot_width / ticks[-1]
        self.height = bottom + 26 + (22 if value_axis_label else 0)

        for tick in ticks:
            x = left + tick * scale
            self.add(
                f'<line x1="{_number(x)}" y1="{_number(top)}" x2="{_number(x)}" '
                f'y2="{_number(bottom)}" stroke="{GRID}"/>'
            )
            self.label(x, bottom + 18, _value_text(tick), anchor="middle")
        if value_axis_label:
            self.label(left + plot_width / 2, bottom + 42, value_axis_label, anchor="middle")

        bar_height = row * 0.64
        groups = 1 if self.stacked else len(self.series)
        for position, label in enumerate(shown):
            y = top + position * row + (row - bar_height) / 2
            self.label(left - 8, y + bar_height / 2 + 4.5, label, anchor="end", colour=INK)
            start = left
            for index, value, tip in self.segments(position):
                width = value * scale
                if self.stacked:
                    self.bar(start, y, width, bar_height, index, tip)
                    start += width
                else:
                    height = bar_height / groups
                    self.bar(left, y + index * height, width, height, index, tip)
                    self.label(
                        left + width + 4, y + (index + 0.5) * height + 4.5, _value_text(value)
                    )
            if self.stacked:
                # The value itself, beside the bar: readable without hovering or colour.
                total_text = _value_text(self.total(position))
                self.label(start + 6, y + bar_height / 2 + 4.5, total_text, colour=INK)
        self.add(
            f'<line x1="{_number(left)}" y1="{_number(top)}" x2="{_number(left)}" '
            f'y2="{_number(bottom)}" stroke="{AXIS}"/>'
        )

    def svg(self, title: str, description: str) -> SafeString:
        return _svg(
            self.chart_id, title, description, self.height, self.defs() + "".join(self.parts)
        )


def _empty_chart(chart_id: str, title: str, description: str, message: str) -> SafeString:
    height = 120
    body = (
        f'<rect x="0.5" y="0.5" width="{WIDTH - 1}" height="{height - 1}" fill="#f3f5f8" '
        f'stroke="{GRID}" rx="6"/>'
        f'<text x="{WIDTH / 2:g}" y="{height / 2 + 5:g}" text-anchor="middle" fill="{MUTED}" '
        f'font-size="{FONT_SIZE + 3}">{_text(message)}</text>'
    )
    return _svg(chart_id, title, f"{description} {message}.".strip(), height, body)


def _svg(chart_id: str, title: str, description: str, height: float, body: str) -> SafeString:
    # Every piece of text in ``body`` went through _text(); the ids are checked identifiers.
    return mark_safe(  # noqa: S308
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{chart_id}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'viewBox="0 0 {WIDTH} {_number(height)}" width="100%" '
        f'preserveAspectRatio="xMidYMid meet" font-family="{FONT_FAMILY}" '
        f'font-size="{FONT_SIZE}">'
        f'<title id="{chart_id}-title">{_text(title)}</title>'
        f'<desc id="{chart_id}-desc">{_text(description)}</desc>'
        f"{body}</svg>"
    )
