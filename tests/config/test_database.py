"""How Trainshed reads PostgreSQL's `timestamptz` values: by psycopg's C loader, with the values
Django's own loader gives."""

import datetime as dt

import pytest
from django.db import connection


@pytest.mark.postgres
@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris"])
def test_timestamptz_values_are_read_as_django_reads_them(db, zone):
    """The same instants, aware in UTC, whatever the offset they were written with; on a
    connection whose time zone is not UTC, the loader reads as Django's does (Django then keeps
    the wall-clock time and calls it UTC)."""
    from django.db.backends.postgresql.psycopg_any import BaseTzLoader

    class Djangos(BaseTzLoader):
        timezone = dt.UTC

    written = ["2026-03-29 01:30:00+02", "2026-10-25 02:59:59.999999-11", "1999-12-31 23:00:00+00"]
    query = "SELECT %s::timestamptz, %s::timestamptz, %s::timestamptz"
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('TimeZone', %s, false)", [zone])
        try:
            cursor.execute(query, written)
            ours = cursor.fetchone()
            cursor.cursor.adapters.register_loader("timestamptz", Djangos)
            cursor.execute(query, written)
            theirs = cursor.fetchone()
        finally:
            cursor.execute("SELECT set_config('TimeZone', 'UTC', false)")
    assert ours == theirs
    assert [value.tzinfo for value in ours] == [dt.UTC] * 3
    if zone == "UTC":  # Trainshed's connections (Django sets it)
        assert ours[0] == dt.datetime(2026, 3, 28, 23, 30, tzinfo=dt.UTC)
        assert ours[1] == dt.datetime(2026, 10, 25, 13, 59, 59, 999999, tzinfo=dt.UTC)


@pytest.mark.postgres
def test_timestamptz_loader_of_a_utc_connection_is_psycopgs_optimised_one(db):
    import psycopg
    from psycopg.postgres import types

    oid = types["timestamptz"].oid
    optimised = psycopg.adapters.get_loader(oid, psycopg.pq.Format.TEXT)
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        loader = cursor.cursor._tx.get_loader(oid, psycopg.pq.Format.TEXT)
        assert cursor.fetchone()[0].tzinfo is dt.UTC
    registered = connection.connection.adapters.get_loader(oid, psycopg.pq.Format.TEXT)
    assert registered.__name__ == "UTCTimestamptzLoader" and registered.timezone is dt.UTC
    assert type(loader) is optimised
