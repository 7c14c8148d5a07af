"""How Trainshed talks to PostgreSQL: statements prepared (planned once per connection), and
`timestamptz` values read by psycopg's C loader with the values Django's own loader gives."""

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from tests.factories import ProjectFactory, UserFactory

ROOT = Path(__file__).resolve().parent.parent


def _options(**env) -> str:
    """The database OPTIONS the settings produce under `env`."""
    script = "from django.conf import settings; print(sorted(settings.DATABASES['default']['OPTIONS'].items()))"
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {script}"], cwd=ROOT, capture_output=True,
        text=True, env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_postgresql_prepares_statements_unless_turned_off():
    url = "postgres://postgres@127.0.0.1:5432/trainshed_settings_check"
    assert "('prepare_threshold', 5), ('server_side_binding', True)" in _options(DATABASE_URL=url)
    off = _options(DATABASE_URL=url, DATABASE_PREPARED_STATEMENTS="0")
    assert "prepare_threshold" not in off and "server_side_binding" not in off


@pytest.mark.postgres
def test_a_page_statement_is_planned_once_per_connection(client, db):
    """The member table's statement, after a few requests, runs as a prepared statement with a
    generic plan: PostgreSQL no longer plans it on each request (its LIMIT is in its text)."""
    owner = UserFactory()
    project = ProjectFactory(owner=owner)
    client.force_login(owner)
    for _ in range(12):
        assert client.get(f"/projects/{project.pk}/").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
            " WHERE statement LIKE %s AND statement LIKE %s",
            ['SELECT "projects_membership"."id" AS "pk"%', "%LIMIT 26 OFFSET 0"],
        )
        (generic, custom), = cursor.fetchall()
    assert generic >= 1 and custom <= 5


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
