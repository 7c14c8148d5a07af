"""Every REST API operation × every API role, against the declared table in
tests/access/routes_api.py (`API_ROUTES`). An operation in the OpenAPI schema with no row fails."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.api_keys import api_key_create, api_key_revoke
from config.api import api
from tests.access.routes_api import API_ROLES, API_ROUTES
from tests.factories import ProjectFactory, UserFactory, add_member

PREFIX = "/api/v1"


def schema_operations() -> list[str]:
    schema = api.get_openapi_schema(path_prefix="")
    return sorted(
        f"{method.upper()} {path}"
        for path, methods in schema["paths"].items()
        for method in methods
    )


def test_every_api_operation_is_declared():
    operations = schema_operations()
    missing = [op for op in operations if op not in API_ROUTES]
    assert not missing, f"API operations with no row in API_ROUTES: {missing}"
    stale = [op for op in API_ROUTES if op not in operations]
    assert not stale, f"rows for API operations that no longer exist: {stale}"


@pytest.fixture
def api_world(db):
    owner = UserFactory(email="owner@example.com")
    project = ProjectFactory(owner=owner, name="Matrix Project")
    people = {"owner": owner}
    for role, level in (("member_all", "all"), ("member_read", "read"), ("member_none", "none")):
        people[role] = UserFactory(email=f"{role}@example.com")
        add_member(project, people[role], jobs=level, datasets=level, models=level)
    people["outsider"] = UserFactory(email="outsider@example.com")
    ProjectFactory(owner=people["outsider"], name="Outsider's Project")

    keys = {role: api_key_create(user=person, name=role)[1] for role, person in people.items()}
    keys["no_key"] = None
    revoked, keys["revoked_key"] = api_key_create(user=owner, name="revoked")
    api_key_revoke(key=revoked, actor=owner)
    expired, keys["expired_key"] = api_key_create(user=owner, name="expired")
    expired.expires_at = timezone.now() - timedelta(seconds=1)
    expired.save(update_fields=["expires_at"])
    keys["read_only_key"] = api_key_create(user=owner, name="read only", read_only=True)[1]
    personal = owner.owned_projects.get(is_personal=True)
    keys["key_for_other_project"] = api_key_create(user=owner, name="limited", project=personal)[1]

    class World:
        pass

    world = World()
    world.project, world.people, world.keys = project, people, keys
    return world


def _judge(status: int, expected) -> bool:
    if expected == "ok":
        return 200 <= status < 300
    return status == expected


def send(client, route, method: str, path: str, headers: dict):
    """The route's request as its kind of body needs: multipart, a raw body, or JSON."""
    if route.multipart is not None:
        return client.post(path, data=route.multipart(), headers=headers)
    if route.raw is not None:
        query, body, body_type = route.raw()
        return client.generic(method, path + query, data=body, content_type=body_type, headers=headers)
    return client.generic(
        method, path, data="" if route.body is None else json.dumps(route.body),
        content_type="application/json", headers=headers,
    )


CASES = [(op, role) for op in sorted(API_ROUTES) for role in API_ROLES]


@pytest.mark.parametrize(("operation", "role"), CASES)
def test_api_access_matrix(client, api_world, operation, role):
    route = API_ROUTES[operation]
    method, template = operation.split(" ", 1)
    path = PREFIX + template.format(**route.path_kwargs(api_world))
    headers = {"X-Trainshed-Project": str(api_world.project.pk)}
    if api_world.keys[role]:
        headers["Authorization"] = f"Bearer {api_world.keys[role]}"
    response = send(client, route, method, path, headers)
    expected = route.expected[role]
    content_type = route.content_type if response.status_code < 400 else "application/json"
    assert response["Content-Type"].startswith(content_type), response.content[:200]
    assert _judge(response.status_code, expected), (
        f"{operation} as {role}: got {response.status_code} {response.content[:200]!r}, expected {expected}"
    )
    if response.status_code >= 400:
        assert isinstance(response.json()["detail"], str)


def test_a_key_limited_to_project_a_gets_404_on_project_b(client, api_world):
    owner = api_world.people["owner"]
    project_a = ProjectFactory(owner=owner, name="Project A")
    _key, raw = api_key_create(user=owner, name="A only", project=project_a)
    auth = {"Authorization": f"Bearer {raw}"}
    assert client.get(f"{PREFIX}/projects/{project_a.pk}", headers=auth).status_code == 200
    response = client.get(f"{PREFIX}/projects/{api_world.project.pk}", headers=auth)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "field": None} or response.json()["detail"] == "Not found."
    listed = client.get(f"{PREFIX}/projects", headers=auth).json()["items"]
    assert [p["name"] for p in listed] == ["Project A"]
    # Without the header, a limited key works in its own project rather than Personal.
    assert client.get(f"{PREFIX}/me", headers=auth).json()["project"]["name"] == "Project A"
