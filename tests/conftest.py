import time

import pytest
from django.core.cache import caches
from django.db import connection
from django.test import Client

from tests.factories import ProjectFactory, UserFactory, add_member


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    caches["access"].clear()  # a rolled-back test's rows are gone; its cached permissions must go too
    caches["fragments"].clear()


_force_login = Client.force_login


def _force_login_just_now(self, user, backend=None):
    """`force_login` stands for signing in just now, as allauth records it: so a sensitive action
    right after it is not asked to re-authenticate (tests of that age the record themselves)."""
    _force_login(self, user, backend)
    session = self.session
    session["account_authentication_methods"] = [{"method": "password", "at": time.time()}]
    session["account_authentication_methods_user"] = str(user.pk)
    session.save()


Client.force_login = _force_login_just_now


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


def _seed_data_migrations() -> None:
    import importlib

    from compute.models import GpuType

    seed = importlib.import_module("compute.migrations.0002_seed_gpu_types")
    for slug, name, memory, price in seed.CATALOGUE:
        GpuType.objects.get_or_create(
            slug=slug, defaults={"name": name, "memory_gb": memory, "credits_per_gpu_hour": price}
        )


@pytest.fixture(scope="session", autouse=True)
def _data_migrations_at_start(django_db_setup, django_db_blocker):
    """A reused test database may have been emptied by the last run's final flush."""
    with django_db_blocker.unblock():
        _seed_data_migrations()


@pytest.fixture(autouse=True)
def _data_migrations_survive_flushes(request):
    """Transactional tests end with a flush that also empties tables seeded by data migrations
    (the GPU catalogue); put those rows back for every transactional test."""
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(marker and marker.kwargs.get("transaction")) or any(
        name in request.fixturenames for name in ("transactional_db", "live_server")
    )
    if transactional:
        request.getfixturevalue("transactional_db")
        _seed_data_migrations()
