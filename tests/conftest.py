import pytest
from django.db import connection

from tests.factories import ProjectFactory, UserFactory, add_member


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgres` need PostgreSQL; on SQLite they are skipped with the reason."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL): row locks/concurrency")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def is_postgres():
    return connection.vendor == "postgresql"


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def owner(db):
    return UserFactory(email="owner@example.com", name="Olivia Owner")


@pytest.fixture
def project(owner):
    return ProjectFactory(owner=owner, name="Vision Research")


@pytest.fixture
def member_all(project):
    member = UserFactory(email="all@example.com")
    add_member(project, member, jobs="all", datasets="all", models="all")
    return member


@pytest.fixture
def member_read(project):
    member = UserFactory(email="read@example.com")
    add_member(project, member, jobs="read", datasets="read", models="read")
    return member


@pytest.fixture
def member_none(project):
    member = UserFactory(email="none@example.com")
    add_member(project, member, jobs="none", datasets="none", models="none")
    return member


@pytest.fixture
def outsider(db):
    return UserFactory(email="outsider@example.com")
