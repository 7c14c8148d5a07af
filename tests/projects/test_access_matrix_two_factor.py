"""The access matrix for a member without two-factor sign-in in a project whose owner requires
it ("Members must use two-factor sign-in"): on every URL of ours, by GET, POST and htmx POST, the
member (with "all" access) gets exactly what an outsider gets — the project is not there for
them (404), while what is their own (their Personal project, account pages) still works."""

import pytest
from allauth.mfa.models import Authenticator
from django.db import transaction
from django.urls import reverse

from tests.access.spec import all_routes
from tests.projects.test_access_matrix import _judge, build_world

ROUTES = all_routes()


@pytest.fixture(scope="module")
def _locked_world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            world = build_world()
            Authenticator.objects.create(user=world.people["owner"], type=Authenticator.Type.TOTP,
                                         data={"secret": "JBSWY3DPEHPK3PXP"})
            world.project.require_two_factor = True
            world.project.save(update_fields=["require_two_factor"])
            yield world
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def locked_world(_locked_world, db):
    _locked_world.reset()
    return _locked_world


CASES = [(name, method) for name in sorted(ROUTES) for method in ("GET", "POST", "HTMX")]


@pytest.mark.parametrize(("name", "method"), CASES)
def test_member_without_two_factor_gets_what_an_outsider_gets(client, locked_world, name, method):
    route = ROUTES[name]
    url = reverse(name, kwargs=route.kwargs(locked_world))
    client.force_login(locked_world.people["member_all"])
    if route.as_active:  # the session still names the project: it must not count
        session = client.session
        session["trainshed_project"] = str(locked_world.project.pk)
        session.save()
    expected = (route.get if method == "GET" else route.post)["outsider"]
    if method == "GET":
        response = client.get(url)
    else:
        headers = {"HX-Request": "true"} if method == "HTMX" else {}
        response = client.post(url, route.data(locked_world), headers=headers)
    assert _judge(response, expected), (
        f"{method} {url} as a member without two-factor: got {response.status_code}, expected {expected}"
    )
