"""The API matrix for a member (with "all" access) without two-factor sign-in, in a project whose
owner requires it: every operation, with the project named in `X-Trainshed-Project`. Where an
outsider gets 404, this member gets 403 with a message naming the setting (they know the project
exists); what an outsider may do (their own things), they may do too."""

import pytest
from allauth.mfa.models import Authenticator

from projects.mfa import SETTING
from tests.access.routes_api import API_ROUTES
from tests.api.test_api_matrix import PREFIX, _judge, send
from tests.api.test_api_matrix import api_world as api_world  # noqa: F401  (the fixture)


@pytest.fixture
def locked(api_world):  # noqa: F811
    Authenticator.objects.create(user=api_world.people["owner"], type=Authenticator.Type.TOTP,
                                 data={"secret": "JBSWY3DPEHPK3PXP"})
    api_world.project.require_two_factor = True
    api_world.project.save(update_fields=["require_two_factor"])
    return api_world


@pytest.mark.parametrize("operation", sorted(API_ROUTES))
def test_api_member_without_two_factor_is_told_why(client, locked, operation):
    route = API_ROUTES[operation]
    method, template = operation.split(" ", 1)
    path = PREFIX + template.format(**route.path_kwargs(locked))
    headers = {"X-Trainshed-Project": str(locked.project.pk),
               "Authorization": f"Bearer {locked.keys['member_all']}"}
    response = send(client, route, method, path, headers)
    outsider = route.expected["outsider"]
    expected = 403 if outsider == 404 else outsider
    assert _judge(response.status_code, expected), (
        f"{operation}: got {response.status_code} {response.content[:200]!r}, expected {expected}"
    )
    if response.status_code == 403:
        assert SETTING in response.json()["detail"]
