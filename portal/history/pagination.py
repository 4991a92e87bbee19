"""Keyset pagination: a cursor of (ordering value, id), stable under inserts, cheap at any depth."""

import base64
import binascii
import datetime as dt
from dataclasses import dataclass
from typing import Generic, TypeVar

from django.db.models import Model, Q, QuerySet

PAGE_SIZES = (25, 50)
DEFAULT_PAGE_SIZE = 50


M = TypeVar("M", bound=Model)


class InvalidCursor(ValueError):
    """A page link that was tampered with or has expired its format."""


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: just past (or, walking back, just before) one row."""

    at: dt.datetime
    row_id: int
    before: bool  # True: the page before this row; False: the page after it.

    def encode(self) -> str:
        text = f"{'b' if self.before else 'a'}|{self.at.isoformat()}|{self.row_id}"
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> "Cursor":
        try:
            padded = token + "=" * (-len(token) % 4)
            direction, at, row_id = base64.urlsafe_b64decode(padded.encode()).decode().split("|")
            moment = dt.datetime.fromisoformat(at)
            if direction not in {"a", "b"} or moment.tzinfo is None:
                raise ValueError(token)
            # A moment the database cannot hold (it must exist in UTC) is no row's.
            moment.astimezone(dt.UTC)
            return cls(at=moment, row_id=int(row_id), before=direction == "b")
        except (ValueError, OverflowError, binascii.Error) as error:
            raise InvalidCursor("That page link is not valid.") from error


@dataclass(frozen=True)
class KeysetPage(Generic[M]):
    rows: list[M]
    next_cursor: str | None
    previous_cursor: str | None


def _beyond(field: str, cursor: Cursor, *, descending: bool) -> Q:
    """Rows strictly past the cursor in the walking order.

    The first condition is a plain range the index can seek to; the second only settles
    rows that share the cursor's timestamp.
    """
    if descending:
        return Q(**{f"{field}__lte": cursor.at}) & (
            Q(**{f"{field}__lt": cursor.at}) | Q(pk__lt=cursor.row_id)
        )
    return Q(**{f"{field}__gte": cursor.at}) & (
        Q(**{f"{field}__gt": cursor.at}) | Q(pk__gt=cursor.row_id)
    )


def keyset_page(
    queryset: QuerySet[M],
    *,
    field: str,
    cursor: Cursor | None,
    newest_first: bool = True,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> KeysetPage[M]:
    """One page of rows in (field, id) order, after or before a cursor; never an OFFSET."""
    walking_backwards = cursor is not None and cursor.before
    descending = newest_first != walking_backwards
    order = [f"-{field}", "-pk"] if descending else [field, "pk"]
    queryset = queryset.order_by(*order)
    if cursor is not None:
        queryset = queryset.filter(_beyond(field, cursor, descending=descending))
    rows = list(queryset[: page_size + 1])
    more = len(rows) > page_size
    rows = rows[:page_size]
    if walking_backwards:
        rows.reverse()
    if not rows:
        return KeysetPage([], None, None)
    first, last = rows[0], rows[-1]
    has_next = more if not walking_backwards else True
    has_previous = (cursor is not None) if not walking_backwards else more
    return KeysetPage(
        rows=rows,
        next_cursor=Cursor(getattr(last, field), last.pk, before=False).encode()
        if has_next
        else None,
        previous_cursor=Cursor(getattr(first, field), first.pk, before=True).encode()
        if has_previous
        else None,
    )
