import pytest


@pytest.fixture(scope="session", autouse=True)
def _data_migrations_at_start():
    """The agent has no database: its tests neither need nor touch one (run alone, no test
    would ask pytest-django to create the test database the project's fixture seeds)."""
