"""REST API behaviour beyond access: JSON errors naming the field, the catch-all 500, the schema
and the vendored docs, and the project/member endpoints doing what the services do."""

import json

import pytest

from accounts.api_keys import api_key_create
from projects.models import AuditEvent, Invitation, Membership, Project
from tests.factories import ProjectFactory, UserFactory, add_member


@pytest.fixture
def call(client, owner):
    raw = api_key_create(user=owner, name="test")[1]

    def call(method, path, body=None, **headers):
        return client.generic(method, f"/api/v1{path}", data=json.dumps(body) if body is not None else "",
                              content_type="application/json",
                              headers={"Authorization": f"Bearer {raw}", **headers})

    return call


def test_openapi_schema_and_docs_are_served_without_a_cdn(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/projects/{project_id}/members/{email}" in schema["paths"]
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "https://" not in html


def test_list_projects_shape(call, owner, project, member_read):
    shared = ProjectFactory(owner=member_read, name="Read's own")
    add_member(shared, owner, jobs="all", datasets="read", models="none")
    body = call("GET", "/projects").json()
    assert len(body["items"]) == 3 and body["next"] is None
    by_name = {p["name"]: p for p in body["items"]}
    assert by_name["Vision Research"] == {
        "id": str(project.pk), "name": "Vision Research", "owner_email": "owner@example.com",
        "is_owner": True, "is_personal": False, "owned_compute_only": False,
        "access": {"jobs": "all", "datasets": "all", "models": "all"},
    }
    assert by_name["Read's own"]["is_owner"] is False
    assert by_name["Read's own"]["access"] == {"jobs": "all", "datasets": "read", "models": "none"}
    assert body["items"][0]["is_personal"] is True


def test_create_rename_settings_delete(call, owner):
    created = call("POST", "/projects", {"name": "  New one "})
    assert created.status_code == 201
    pid = created.json()["id"]
    patched = call("PATCH", f"/projects/{pid}", {"name": "Renamed", "owned_compute_only": True})
    assert patched.json()["name"] == "Renamed" and patched.json()["owned_compute_only"] is True
    assert call("DELETE", f"/projects/{pid}").status_code == 204
    assert not Project.objects.filter(pk=pid).exists()
    assert AuditEvent.objects.filter(project_id=pid, action="project.deleted").exists()


def test_validation_errors_name_the_field(call, owner, project):
    reserved = call("POST", "/projects", {"name": "personal"})
    assert reserved.status_code == 400
    assert reserved.json() == {"detail": "name: “Personal” is reserved for your own Personal project.",
                               "field": "name"}
    own = call("PUT", f"/projects/{project.pk}/members/owner@example.com", {})
    assert own.json() == {"detail": "email: That is the owner's own address: the owner has full access.",
                          "field": "email"}
    missing = call("POST", "/projects", {})
    assert missing.status_code == 422 and missing.json()["field"] == "name"
    level = call("PUT", f"/projects/{project.pk}/members/x@example.com", {"jobs": "everything"})
    assert level.status_code == 422 and level.json()["field"] == "jobs"
    personal = owner.owned_projects.get(is_personal=True)
    refused = call("DELETE", f"/projects/{personal.pk}")
    assert refused.status_code == 400
    assert refused.json()["detail"] == "The Personal project cannot be removed."


def test_member_put_adds_updates_and_invites(call, project):
    bob = UserFactory(email="bob@example.com")
    added = call("PUT", f"/projects/{project.pk}/members/Bob@Example.com", {"models": "all"})
    assert added.status_code == 201
    assert added.json() == {"email": "bob@example.com", "name": bob.name, "status": "member",
                            "jobs": "all", "datasets": "read", "models": "all"}
    updated = call("PUT", f"/projects/{project.pk}/members/bob@example.com", {"jobs": "read"})
    assert updated.status_code == 200
    assert Membership.objects.get(project=project, user=bob).access() == {
        "jobs": "read", "datasets": "read", "models": "all"}
    invited = call("PUT", f"/projects/{project.pk}/members/nobody@example.com", {})
    assert invited.status_code == 201 and invited.json()["status"] == "invited"
    listed = call("GET", f"/projects/{project.pk}/members").json()["items"]
    assert [(m["email"], m["status"]) for m in listed] == [
        ("bob@example.com", "member"), ("nobody@example.com", "invited")]
    assert call("DELETE", f"/projects/{project.pk}/members/nobody@example.com").status_code == 204
    assert Invitation.objects.get(email="nobody@example.com").status == "revoked"
    gone = call("DELETE", f"/projects/{project.pk}/members/nobody@example.com")
    assert gone.status_code == 404
    assert gone.json()["detail"] == "nobody@example.com is not a member of this project."


def test_members_see_members_but_not_invitations(client, project, member_read):
    add_member(project, UserFactory(email="zed@example.com"))
    Invitation.objects.create(project=project, email="pending@example.com",
                              expires_at="2999-01-01T00:00:00Z")
    raw = api_key_create(user=member_read, name="m")[1]
    listed = client.get(f"/api/v1/projects/{project.pk}/members",
                        headers={"Authorization": f"Bearer {raw}"}).json()["items"]
    assert [m["email"] for m in listed] == ["read@example.com", "zed@example.com"]


def test_unexpected_errors_are_json_500(call, monkeypatch, caplog):
    from projects import services

    def boom(**kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(services, "project_create", boom)
    response = call("POST", "/projects", {"name": "X"})
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal error"}
    assert "database on fire" not in response.content.decode()
    assert "API error on POST /api/v1/projects" in caplog.text


def test_unknown_api_path_is_json_404(call):
    response = call("GET", "/nothing/here")
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}


def test_a_session_does_not_authenticate_the_api(client, owner):
    client.force_login(owner)
    response = client.get("/api/v1/projects")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_header_names_the_project_and_a_hidden_one_is_404(call, project, outsider):
    assert call("GET", "/me", **{"X-Trainshed-Project": str(project.pk)}).json()["project"]["name"] == (
        "Vision Research")
    assert call("GET", "/me").json()["project"]["name"] == "Personal"
    hidden = ProjectFactory(owner=outsider, name="Hidden")
    assert call("GET", "/me", **{"X-Trainshed-Project": str(hidden.pk)}).status_code == 404
    assert call("GET", "/me", **{"X-Trainshed-Project": "not-a-uuid"}).status_code == 404
