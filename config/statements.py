"""Querysets that pages run on every request, built by the ORM once per process.

Building a queryset costs Django more than running it here: `.values("gpu_type__name", …)`
resolves each path through the model graph, then the compiler writes the SQL. For a page's list
that is 0.5–1 ms of the request, every request, for the same statement with another id in it.

`Statement(build)` asks the ORM for the statement once (per database and per set of values that
are given, so `build` may leave a filter out for a None): `build(**values)` returns a `.values()`
queryset, called with stand-in values; the stand-ins' places among the statement's parameters
are remembered, and each call binds the real values there. Rows come back as `.values()` gives
them: dicts by the same names, converted by the same converters. Slice a bound statement for a
page (`LIMIT`/`OFFSET` bound too), or ask for model instances when it reads a model's fields. The
queryset stays the one description of the query.

What `build` may do with a value: use it as a parameter (a filter, an annotation's value). A
value the ORM writes into the SQL text, that `build` computes with or branches on, is refused
when the statement is first built: it is built twice, with two sets of stand-ins, and each value
must be found among the parameters, the same way both times, and nothing else may differ.
"""

from __future__ import annotations

import secrets
import uuid
import weakref
from collections.abc import Callable
from typing import Any

from django.db import connections
from django.db.models import QuerySet


def _stand_in(value):
    """A value of `value`'s type that appears nowhere else in any statement."""
    if isinstance(value, uuid.UUID):
        return uuid.uuid4()
    if isinstance(value, bool):
        raise TypeError("a bool is written into the statement's text by some databases; build two statements")
    if isinstance(value, int):  # within a 32-bit column's range: the ORM drops a filter out of range
        return secrets.randbits(30) | (1 << 30)
    if isinstance(value, str):
        return f"\ue000{uuid.uuid4().hex}"
    raise TypeError(f"Statement values are UUIDs, ints or strings, not {type(value).__name__}")


def _as_bound(stand_in, param) -> Callable[[Any], Any] | None:
    """How the ORM passed `stand_in` as `param` (as it is, a UUID as SQLite's hex, an int as a
    float or the driver's integer type), or None."""
    if param == stand_in and type(param) is type(stand_in):
        return _same
    if isinstance(stand_in, uuid.UUID) and param == stand_in.hex:
        return _hex
    if isinstance(stand_in, int) and isinstance(param, (int, float)) and param == stand_in:
        return type(param)  # as a float for a FloatField, as psycopg's Int4 for an IntegerField…
    return None


def _same(value):
    return value


def _hex(value):
    return uuid.UUID(str(value)).hex


class Columns:
    """A literal statement's column expressions (`Col`s), and what converts their values as the
    ORM converts them (SQLite's text dates and ids, say): found once per database connection."""

    def __init__(self, columns):
        self.columns = list(columns)
        self._converters: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def _for(self, connection) -> list:
        converters = self._converters.get(connection)
        if converters is None:
            converters = []
            for i, column in enumerate(self.columns):
                convert = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
                if convert:
                    converters.append((i, convert, column))
            self._converters[connection] = converters
        return converters

    def convert(self, rows, connection) -> list[list]:
        """`rows` as the statement returned them, converted; each comes back as a list."""
        converters = self._for(connection)
        out = []
        for row in rows:
            row = list(row)
            for i, convert, column in converters:
                value = row[i]
                for converter in convert:
                    value = converter(value, column, connection)
                row[i] = value
            out.append(row)
        return out


class _Compiled:
    def __init__(self, sql: str, slots: list, names: list[str], columns: Columns):
        self.sql, self.slots, self.names, self.columns = sql, slots, names, columns


class Statement:
    """`build(**values)` → a `.values()` queryset; built by the ORM once per database and set of
    given values (see the module's docstring), then bound (`bind`) and run per request."""

    def __init__(self, build: Callable[..., QuerySet]):
        self.build = build
        self._compiled: dict[tuple, _Compiled] = {}

    def bind(self, **values) -> Bound:
        """The statement with `values`: slice it (`[start:stop]`) or list it for its rows."""
        return Bound(self, values)

    def _compile(self, values: dict, alias: str) -> _Compiled:
        given = tuple(sorted(name for name, value in values.items() if value is not None))
        key = (alias, connections[alias].vendor, given)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = self._build(values, alias)
        return compiled

    def _build(self, values: dict, alias: str) -> _Compiled:
        first, again = self._build_once(values, alias), self._build_once(values, alias)
        if (first.sql, first.slots) != (again.sql, again.slots):
            raise ValueError("the statement changes with its values beyond their parameters: `build` must "
                             "pass each value to the ORM as it is")
        return first

    def _build_once(self, values: dict, alias: str) -> _Compiled:
        stand_ins = {name: None if value is None else _stand_in(value) for name, value in values.items()}
        queryset = self.build(**stand_ins).using(alias)
        query = queryset.query
        if query.low_mark or query.high_mark is not None:
            raise ValueError("build an unsliced queryset; slice the bound statement")
        compiler = query.get_compiler(alias)
        sql, params = compiler.as_sql()
        slots, found = [], set()
        for param in params:
            for name, stand_in in stand_ins.items():
                bound = None if stand_in is None else _as_bound(stand_in, param)
                if bound is not None:
                    slots.append((name, bound))
                    found.add(name)
                    break
            else:
                slots.append((None, param))  # a constant of the query itself
        missing = {name for name, stand_in in stand_ins.items() if stand_in is not None} - found
        if missing:
            raise ValueError(f"{', '.join(sorted(missing))}: not a parameter of the statement")
        if query.selected:
            names = list(query.selected)
        else:
            names = [*query.extra_select, *query.values_select, *query.annotation_select]
        columns = Columns(column[0] for column in compiler.select[: compiler.col_count])
        return _Compiled(sql, slots, names, columns)

    def rows(self, values: dict, *, limit: int | None = None, offset: int = 0,
             alias: str = "default") -> list[dict]:
        """The rows for `values` as `.values()` gives them (dicts by the same names)."""
        names, rows = self._fetch(values, limit, offset, alias)
        return [dict(zip(names, row, strict=True)) for row in rows]

    def instances(self, model, values: dict, *, alias: str = "default") -> list:
        """The rows for `values` as `model` instances, when the statement reads `model`'s fields
        by their attribute names (`.values(*names)`); fields it leaves out are deferred."""
        names, rows = self._fetch(values, None, 0, alias)
        return [model.from_db(alias, names, row) for row in rows]

    def _fetch(self, values: dict, limit: int | None, offset: int, alias: str) -> tuple[list, list]:
        compiled = self._compile(values, alias)
        connection = connections[alias]
        params = [bound(values[name]) if name is not None else bound for name, bound in compiled.slots]
        sql = compiled.sql
        if limit is not None:  # written into the text, as the ORM writes them
            sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            found = cursor.fetchall()
        return compiled.names, compiled.columns.convert(found, connection)


class Bound:
    """A statement with its values; `[start:stop]` runs it for those rows (a page)."""

    def __init__(self, statement: Statement, values: dict):
        self.statement, self.values = statement, values

    def __getitem__(self, index: slice) -> list[dict]:
        if not isinstance(index, slice) or index.step is not None or None in (index.start, index.stop):
            raise TypeError("a bound statement takes [start:stop]")
        return self.statement.rows(self.values, limit=index.stop - index.start, offset=index.start)

    def __iter__(self):
        return iter(self.statement.rows(self.values))

    def instances(self, model) -> list:
        return self.statement.instances(model, self.values)


def field_names(model, *, but: tuple[str, ...] = ()) -> list[str]:
    """`model`'s concrete fields' attribute names, for a statement of its instances (`but`: left
    out, so deferred)."""
    return [field.attname for field in model._meta.concrete_fields if field.name not in but]


__all__ = ["Bound", "Columns", "Statement", "field_names"]
