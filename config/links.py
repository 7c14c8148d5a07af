"""Links to objects, for long lists: `reverse()` once per URL name, then fill in each row's ids.

`{% url 'resources:job-detail' job.pk %}` resolves the pattern anew on every row; on a page of
25 rows that is most of the time spent on links. `link()` builds the same string from a cached
template (per URL name, URLconf and script prefix), so a row's link costs a string join.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from itertools import product
from urllib.parse import quote
from uuid import UUID

from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse

_PLAIN = (int, UUID)


def _marks(position: int) -> tuple[str, str]:
    """Stand-ins for the id at `position` that the path converters accept (a UUID, an int) and
    that appear nowhere else in a URL."""
    return f"d1ce5eed-0000-4000-8000-0000000f{position:04d}", f"91827364{position}"


@lru_cache(maxsize=256)
def _template(name: str, arity: int, urlconf, prefix: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The URL cut around its ids: (literal pieces, which id goes after each piece but the last)."""
    for marks in product(*(_marks(i) for i in range(arity))):
        try:
            url = reverse(name, args=marks, urlconf=urlconf)
        except NoReverseMatch:
            continue
        found = sorted((url.index(mark), i, mark) for i, mark in enumerate(marks))
        pieces, order, start = [], [], 0
        for at, i, mark in found:
            pieces.append(url[start:at])
            order.append(i)
            start = at + len(mark)
        pieces.append(url[start:])
        return tuple(pieces), tuple(order)
    raise NoReverseMatch(f"{name!r} takes no {arity} id arguments")


def linker(name: str, arity: int = 1) -> Callable[..., str]:
    """`link` for one URL name, resolved once for a loop: `url_of = linker(name)`, then
    `url_of(pk)` per row."""
    pieces, order = _template(name, arity, get_urlconf(), get_script_prefix())

    def fill(*ids) -> str:
        return _fill(pieces, order, ids)

    return fill


def _fill(pieces: tuple[str, ...], order: tuple[int, ...], ids) -> str:
    out = [pieces[0]]
    for piece, i in zip(pieces[1:], order, strict=True):
        value = ids[i]
        # A UUID's or an int's text needs no quoting (hex digits, hyphens, digits).
        out.append(str(value) if type(value) in _PLAIN else quote(str(value), safe=""))
        out.append(piece)
    return "".join(out)


def links(names: dict[str, str], *ids) -> dict[str, str]:
    """`{key: link(name, *ids)}` for a page's links to one object (the URLconf looked up once)."""
    urlconf, prefix = get_urlconf(), get_script_prefix()
    return {key: _fill(*_template(name, len(ids), urlconf, prefix), ids) for key, name in names.items()}


def link(name: str, *ids) -> str:
    """The same string as `reverse(name, args=ids)` for a URL that takes only ids: UUIDs, ints,
    and names of letters, digits, `_` and `-` (slugs, secret names). Nothing else is checked
    against the URL's converters."""
    return linker(name, len(ids))(*ids)


__all__ = ["link", "linker", "links"]
