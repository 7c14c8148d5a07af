"""Paging for long lists without counting them.

Django's Paginator asks `COUNT(*)` on every page: one more query whose cost grows with the table.
`page_of` reads one row more than a page instead, which says whether there is a next page, so a
list costs the same at 10 rows and at 10,000. Pages are numbered (`?page=3`) and keep any order.

`keyset_page` is the same read for the API, by position instead of by number: it continues after
the sort key of the last row it handed out (`WHERE (created_at, id) < (…)`), so page 100 costs what
page 1 costs, where an `OFFSET` reads and throws away every row before it. `Chain` pages through
several querysets one after the other (members, then pending invitations) the same way.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import reduce
from operator import and_, or_
from typing import Any

from django.db.models import Model, Q, QuerySet


@dataclass(frozen=True)
class Page(Sequence):
    items: list
    number: int
    size: int
    has_next: bool

    def __getitem__(self, index):
        return self.items[index]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_other_pages(self) -> bool:
        return self.has_previous or self.has_next

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def start_index(self) -> int:
        """1-based position of the first row shown (0 on an empty page)."""
        return (self.number - 1) * self.size + 1 if self.items else 0

    @property
    def end_index(self) -> int:
        return (self.number - 1) * self.size + len(self.items)


def page_number(raw) -> int:
    try:
        number = int(raw)
    except (TypeError, ValueError):
        return 1
    return number if number >= 1 else 1


def read_slice(rows, start: int, size: int) -> tuple[list, bool]:
    """Up to `size` rows from `start`, and whether more follow: one row more is read, never counted."""
    found = list(rows[start:start + size + 1])
    return found[:size], len(found) > size


def page_of(rows, number, *, size: int) -> Page:
    """Page `number` (1-based; anything else is page 1) of `rows` (a queryset or a list).

    A page past the end (an old link, a hand-made URL) shows the first page instead, like
    Paginator.get_page shows the last."""
    number = page_number(number)
    items, has_next = read_slice(rows, (number - 1) * size, size)
    if not items and number > 1:
        return page_of(rows, 1, size=size)
    return Page(items=items, number=number, size=size, has_next=has_next)


# ---- keyset ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chain:
    """Querysets listed one after the other (each in its own order), paged as one list."""

    parts: tuple[QuerySet, ...]


@dataclass(frozen=True)
class Position:
    """Where a keyset page ends: which part of a chain, and the sort key of its last row."""

    part: int
    key: tuple


@dataclass(frozen=True)
class KeysetPage:
    items: list
    next: Position | None  # None: this was the last page


def ordering(rows: QuerySet) -> tuple[str, ...]:
    """The queryset's order as field names ("-created_at", "pk"), always ending in the primary key
    so that every row has a distinct position. Sort keys are columns that are never NULL."""
    fields = tuple(rows.query.order_by) or tuple(rows.model._meta.ordering)
    for field in fields:
        if not isinstance(field, str) or field.lstrip("-") == "?":
            raise ValueError(f"keyset paging needs plain field names to order by, not {field!r}")
    if not {"pk", "-pk", rows.model._meta.pk.name, f"-{rows.model._meta.pk.name}"} & set(fields):
        fields += ("pk",)
    return fields


def _value(row, field: str):
    name = field.lstrip("-")
    if isinstance(row, dict):
        return row[name]
    for part in name.split("__"):
        row = getattr(row, part)
    return row.pk if isinstance(row, Model) else row  # ordered by a foreign key: its id


def _after(fields: tuple[str, ...], key: tuple) -> Q:
    """Rows strictly after `key` in the order `fields`: (a > x) OR (a = x AND b > y) OR …, with
    the first column's bound also on its own so the database can range-scan its index."""
    def beyond(field, value, *, inclusive=False):
        name = field.lstrip("-")
        op = ("lt" if field.startswith("-") else "gt") + ("e" if inclusive else "")
        return Q(**{f"{name}__{op}": value})

    alternatives = [
        reduce(and_, [Q(**{f.lstrip("-"): v}) for f, v in zip(fields[:i], key[:i], strict=True)],
               beyond(fields[i], key[i]))
        for i in range(len(fields))
    ]
    return beyond(fields[0], key[0], inclusive=True) & reduce(or_, alternatives)


def keyset_page(rows: QuerySet | Chain, *, after: Position | None, size: int,
                offset: int = 0) -> KeysetPage:
    """Up to `size` rows after `after` (from the start when None), skipping `offset` more first.
    A queryset of a chain starts at its beginning only when the part before it is used up: each
    part costs one query, the page none beyond those."""
    parts = rows.parts if isinstance(rows, Chain) else (rows,)
    if after is not None and not 0 <= after.part < len(parts):
        raise ValueError("position outside the list")
    first = after.part if after is not None else 0
    items: list = []
    for index in range(first, len(parts)):
        fields = ordering(parts[index])
        part = parts[index].order_by(*fields)
        if after is not None and index == after.part:
            if len(after.key) != len(fields):
                raise ValueError("position of another list")
            part = part.filter(_after(fields, after.key))
        found, more = read_slice(part, offset, size - len(items))
        if offset and not found and index + 1 < len(parts):
            offset -= part.count()  # an offset past this part goes on into the next (rare, small)
        else:
            offset = 0
        items += found
        if more or (len(items) == size and index + 1 < len(parts)):
            # Full: go on after this row (a later part may be empty: the next ask finds out).
            return KeysetPage(items, Position(index, tuple(_value(found[-1], f) for f in fields)))
        if len(items) == size:
            break
    return KeysetPage(items, None)


def plain(value):
    """A sort key value as JSON can carry it (and a filter takes back): full precision."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    return value


__all__ = ["Chain", "KeysetPage", "Page", "Position", "keyset_page", "ordering", "page_of", "plain",
           "read_slice"]
