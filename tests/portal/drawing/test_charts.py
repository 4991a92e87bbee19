import datetime
from xml.etree import ElementTree

import pytest
from django.utils.safestring import SafeString

from portal.drawing.charts import Series, bar_chart_svg, label_every, nice_ticks

SVG = "{http://www.w3.org/2000/svg}"


def outcomes(passed, failed):
    return [
        Series(label="Passed", values=tuple(passed), colour="#2f855a"),
        Series(label="Problems found", values=tuple(failed), colour="#a4161a", pattern="stripes"),
    ]


def draw(**overrides):
    arguments = {
        "chart_id": "runs",
        "title": "Runs per day",
        "description": "Runs started each day.",
        "categories": ["Mar 1", "Mar 2", "Mar 3"],
        "series": outcomes([2, 0, 5], [1, 0, 0]),
        "value_axis_label": "Runs",
        "category_axis_label": "Day",
        "empty_message": "No runs in this range",
    }
    return bar_chart_svg(**(arguments | overrides))


def parse(svg):
    return ElementTree.fromstring(str(svg))  # noqa: S314 - the chart we just drew


def bars(root):
    return [rect for rect in root.iter(f"{SVG}rect") if rect.find(f"{SVG}title") is not None]


def test_the_chart_is_an_accessible_image():
    svg = draw()

    root = parse(svg)

    assert isinstance(svg, SafeString)
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "runs-title runs-desc"
    assert root.find(f"{SVG}title").get("id") == "runs-title"
    assert root.find(f"{SVG}title").text == "Runs per day"
    assert root.find(f"{SVG}desc").get("id") == "runs-desc"
    assert root.get("width") == "100%"
    assert root.get("viewBox").startswith("0 0 960 ")


def test_one_bar_per_non_zero_segment_each_with_its_exact_value():
    root = parse(draw(category_titles=["Sat Mar 1", "Sun Mar 2", "Mon Mar 3"]))

    titles = [bar.find(f"{SVG}title").text for bar in bars(root)]

    assert titles == [
        "Sat Mar 1: Passed 2 of 3",
        "Sat Mar 1: Problems found 1 of 3",
        "Mon Mar 3: Passed 5 of 5",
    ]


def test_stacked_segments_sit_on_each_other_and_scale_with_their_values():
    root = parse(draw())
    passed, failed, tall = bars(root)

    def bottom(rect):
        return float(rect.get("y")) + float(rect.get("height"))

    assert bottom(failed) == pytest.approx(float(passed.get("y")))
    assert float(tall.get("height")) == pytest.approx(5 / 2 * float(passed.get("height")))


def test_patterned_series_fill_with_a_pattern_defined_in_the_chart():
    root = parse(draw())
    patterns = {pattern.get("id") for pattern in root.iter(f"{SVG}pattern")}

    fills = {bar.get("fill") for bar in bars(root)}

    assert patterns == {"runs-fill-1"}
    assert fills == {"#2f855a", "url(#runs-fill-1)"}


def test_the_legend_names_every_series():
    texts = list(parse(draw()).itertext())

    assert "Passed" in texts
    assert "Problems found" in texts


def test_axis_labels_and_round_tick_values():
    texts = list(parse(draw()).itertext())

    assert {"0", "1", "2", "3", "4", "5", "Runs", "Day", "Mar 1", "Mar 3"} <= set(texts)


def test_grouped_bars_stand_side_by_side():
    root = parse(draw(stacked=False, categories=["a", "b", "c"]))
    first_passed, first_failed, _ = bars(root)

    assert float(first_failed.get("x")) == pytest.approx(
        float(first_passed.get("x")) + float(first_passed.get("width"))
    )
    assert first_passed.find(f"{SVG}title").text == "a: Passed 2"


@pytest.mark.parametrize(
    ("categories", "series"),
    [
        ([], []),
        ([], outcomes([], [])),
        (["Mar 1", "Mar 2"], outcomes([0, 0], [0, 0])),
    ],
)
def test_no_data_says_so_instead_of_drawing_bars(categories, series):
    root = parse(draw(categories=categories, series=series))

    assert bars(root) == []
    assert "No runs in this range" in "".join(root.itertext())
    assert root.get("role") == "img"
    assert "No runs in this range" in root.find(f"{SVG}desc").text


def test_hostile_labels_are_escaped():
    hostile = '<script>alert("x")</script> & \x00\x1b'
    svg = draw(
        title=hostile,
        description=hostile,
        categories=[hostile, "b", "c"],
        category_titles=[hostile, "b", "c"],
        series=[Series(label=hostile, values=(1, 2, 3), colour="#112233")],
        value_axis_label=hostile,
        empty_message=hostile,
    )

    root = parse(svg)

    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert root.find(f"{SVG}title").text == '<script>alert("x")</script> & '
    assert "\x00" not in svg


def test_hostile_ids_and_colours_are_refused():
    with pytest.raises(ValueError, match="chart_id"):
        draw(chart_id='x" onload="alert(1)')
    with pytest.raises(ValueError, match="colour"):
        draw(series=[Series(label="a", values=(1, 2, 3), colour="red;fill:url(x)")])


def test_mismatched_or_negative_values_are_refused():
    with pytest.raises(ValueError, match="one value per category"):
        draw(series=outcomes([1, 2], [1, 2]))
    with pytest.raises(ValueError, match="negative"):
        draw(series=outcomes([1, -2, 3], [0, 0, 0]))


def test_the_same_data_draws_the_same_bytes():
    assert draw() == draw()


def test_one_day():
    root = parse(draw(categories=["Mar 1"], series=outcomes([4], [0])))

    (bar,) = bars(root)
    assert bar.find(f"{SVG}title").text == "Mar 1: Passed 4 of 4"


def test_four_hundred_days_thin_the_bars_and_label_only_some_days():
    start = datetime.date(2025, 1, 1)
    days = [start + datetime.timedelta(days=offset) for offset in range(400)]
    labels = [day.isoformat() for day in days]
    values = [offset % 7 for offset in range(400)]

    root = parse(
        draw(
            categories=labels,
            series=[Series(label="Runs", values=tuple(values), colour="#0b4f8a")],
        )
    )

    drawn = bars(root)
    assert len(drawn) == sum(1 for value in values if value)
    assert all(float(bar.get("width")) < 3 for bar in drawn)
    shown = [text for text in root.itertext() if text in set(labels)]
    assert 5 <= len(shown) <= 20
    assert shown[0] == "2025-01-01"


def test_horizontal_bars_write_their_value_beside_them():
    root = parse(
        draw(
            chart_id="findings",
            categories=["Weak link", "A very long rule label " * 4],
            series=[Series(label="Findings", values=(12, 3), colour="#0b4f8a")],
            horizontal=True,
        )
    )

    texts = list(root.itertext())
    assert "12" in texts
    assert "3" in texts
    assert "Weak link" in texts
    # Long labels are cut short on the axis; the full text stays in the bar's title.
    assert any(text.endswith("…") for text in texts)
    assert [bar.find(f"{SVG}title").text for bar in bars(root)] == [
        "Weak link: Findings 12",
        "A very long rule label " * 4 + ": Findings 3",
    ]
    widths = [float(bar.get("width")) for bar in bars(root)]
    assert widths[0] == pytest.approx(4 * widths[1], rel=1e-3)


@pytest.mark.parametrize(
    ("highest", "ticks"),
    [
        (0, [0, 1]),
        (1, [0, 1]),
        (3, [0, 1, 2, 3]),
        (7, [0, 2, 4, 6, 8]),
        (23, [0, 5, 10, 15, 20, 25]),
        (140, [0, 50, 100, 150]),
        (1000, [0, 200, 400, 600, 800, 1000]),
    ],
)
def test_nice_ticks(highest, ticks):
    assert nice_ticks(highest) == ticks


def test_label_every_keeps_labels_apart():
    assert label_every(7, 120, 60) == 1
    assert label_every(400, 2, 60) == 56
    assert label_every(30, 25, 60) == 3
