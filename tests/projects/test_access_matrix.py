"""Every URL pattern of our apps × every role × {GET, POST, htmx POST} against the declared table
in tests/access/. A URL with no entry in the table fails here."""

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.access.spec import ROLES, World, all_routes
from tests.factories import ProjectFactory, UserFactory, add_member

# URLs that belong to libraries (their own access rules) or are public by design.
FOREIGN_PREFIXES = ("admin:", "account_", "socialaccount_", "mfa_", "usersessions_", "headless",
                    "openid_connect_")
PUBLIC = {"api-1.0.0:openapi-json", "api-1.0.0:openapi-view"}


def _names(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = f"{prefix}{p.namespace}:" if p.namespace else prefix
            yield from _names(p.url_patterns, ns)
        elif isinstance(p, URLPattern) and p.name:
            yield prefix + p.name


def our_url_names() -> list[str]:
    names = sorted(set(_names(get_resolver().url_patterns)))
    return [n for n in names if not n.startswith(FOREIGN_PREFIXES) and n not in PUBLIC]


ROUTES = all_routes()


def test_every_url_pattern_is_declared():
    missing = [name for name in our_url_names() if name not in ROUTES]
    assert not missing, f"URL patterns with no row in tests/access/routes_*.py: {missing}"
    stale = [name for name in ROUTES if name not in our_url_names()]
    assert not stale, f"rows for URL patterns that no longer exist: {stale}"


def build_world() -> World:
    owner = UserFactory(email="owner@example.com")
    project = ProjectFactory(owner=owner, name="Matrix Project")
    people = {"owner": owner, "anonymous": None}
    for role, level in (("member_all", "all"), ("member_read", "read"), ("member_none", "none")):
        people[role] = UserFactory(email=f"{role}@example.com")
        add_member(project, people[role], jobs=level, datasets=level, models=level)
    people["outsider"] = UserFactory(email="outsider@example.com")
    other = ProjectFactory(owner=people["outsider"], name="Outsider's Project")
    return World(project=project, people=people, other_project=other)


@pytest.fixture(scope="module")
def _shared_world(django_db_setup, django_db_blocker):
    """The people and projects are built once for the module inside an outer transaction (like
    Django's setUpTestData); each test runs in its own savepoint, so what a test changes is
    rolled back before the next one, and the outer transaction is rolled back at the end."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield build_world()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def world(_shared_world, db):
    _shared_world.reset()  # resources built on demand belong to one test's savepoint
    return _shared_world


def _judge(response, expected) -> bool:
    login = reverse("account_login")
    if expected == "login":
        return response.status_code in (302, 401) and (
            response.status_code == 401 or response["Location"].startswith(login)
        )
    if expected == "ok":
        redirected_to_login = response.status_code == 302 and response["Location"].startswith(login)
        return response.status_code < 400 and not redirected_to_login
    return response.status_code == expected


CASES = [
    (name, role, method)
    for name in sorted(ROUTES)
    for role in ROLES
    for method in ("GET", "POST", "HTMX")
]


@pytest.mark.parametrize(("name", "role", "method"), CASES)
def test_access_matrix(client, world, name, role, method):
    route = ROUTES[name]
    url = reverse(name, kwargs=route.kwargs(world))
    person = world.people[role]
    if person is not None:
        client.force_login(person)
        if route.as_active and role != "outsider":
            session = client.session
            session["trainshed_project"] = str(world.project.pk)
            session.save()
    expected = (route.get if method == "GET" else route.post)[role]
    if method == "GET":
        response = client.get(url)
    else:
        headers = {"HX-Request": "true"} if method == "HTMX" else {}
        response = client.post(url, route.data(world), headers=headers)
    assert _judge(response, expected), (
        f"{method} {url} as {role}: got {response.status_code}, expected {expected}"
    )
