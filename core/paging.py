"""Paging for long lists without counting them.

Django's Paginator asks `COUNT(*)` on every page: one more query whose cost grows with the table.
`page_of` reads one row more than a page instead, which says whether there is a next page, so a
list costs the same at 10 rows and at 10,000. Pages are numbered (`?page=3`) and keep any order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any


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


def _number(raw) -> int:
    try:
        number = int(raw)
    except (TypeError, ValueError):
        return 1
    return number if number >= 1 else 1


def page_of(rows, number, *, size: int) -> Page:
    """Page `number` (1-based; anything else is page 1) of `rows` (a queryset or a list).

    A page past the end (an old link, a hand-made URL) shows the first page instead, like
    Paginator.get_page shows the last."""
    number = _number(number)
    start = (number - 1) * size
    found = list(rows[start:start + size + 1])
    if not found and number > 1:
        return page_of(rows, 1, size=size)
    return Page(items=found[:size], number=number, size=size, has_next=len(found) > size)


__all__ = ["Page", "page_of"]
