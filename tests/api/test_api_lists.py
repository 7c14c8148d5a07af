"""Every API list costs the same at 10 items and at 10,000 (500 projects): the same number of
queries, none of them a COUNT(*), and pages follow a signed `next` cursor (keyset) to the end,
with `limit`/`offset` still accepted. A cursor that is not this list's is a 400 naming `cursor`."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.api_keys import api_key_create
from accounts.models import User
from compute.models import GpuType
from projects.access import RULE_CODENAMES
from projects.keys import secret_set
from projects.models import Invitation, Membership, Project, ProjectSecret, ProjectUserObjectPermission
from resources.models import Dataset, DatasetFile, Job, MLModel
from tests.factories import ProjectFactory, UserFactory, make_node

API = "/api/v1"
SMALL, LARGE = 10, 10_000


def _auth(user, project=None) -> dict:
    headers = {"Authorization": f"Bearer {api_key_create(user=user, name='lists')[1]}"}
    if project is not None:
        headers["X-Trainshed-Project"] = str(project.pk)
    return headers


def _get(client, path, headers) -> tuple[dict, list[str]]:
    """The answer's JSON and the SQL it ran (after a first call warmed the key's last-use write)."""
    client.get(f"{API}{path}", headers=headers)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(f"{API}{path}", headers=headers)
    assert response.status_code == 200, response.content
    sql = [q["sql"] for q in ctx.captured_queries]
    assert not any("COUNT(" in q.upper() for q in sql), sql
    return response.json(), sql


def _walk(client, path, headers, *, limit) -> list[dict]:
    """Every item, following `next` until it is null."""
    items, cursor = [], None
    while True:
        sep = "&" if "?" in path else "?"
        url = f"{API}{path}{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(url, headers=headers).json()
        items += body["items"]
        cursor = body["next"]
        if cursor is None:
            return items


def _flat(client, path_of, small_headers, large_headers, *, page=100):
    """The first page at 10 and at 10,000: the same queries (at most: a short list of members
    also reads the invitations that follow them, a full page does not need to)."""
    small, small_sql = _get(client, path_of("small"), small_headers)
    large, large_sql = _get(client, path_of("large"), large_headers)
    assert len(small["items"]) == SMALL and small["next"] is None
    assert len(large["items"]) == page and large["next"]
    assert len(large_sql) <= len(small_sql), (small_sql, large_sql)
    return small, large, len(small_sql)


@pytest.fixture
def cpu(db):
    return GpuType.objects.get(slug="cpu")


def _jobs(project, owner, cpu, count):
    start = timezone.now() - timedelta(days=1)
    Job.objects.bulk_create([Job(project=project, name=f"job {i:05}", gpu_type=cpu, command="x",
                                 created_by=owner, created_at=start + timedelta(seconds=i // 3))
                             for i in range(count)])  # three at each instant: the id breaks ties


def test_jobs_list_is_flat_and_its_cursor_walks_10000_jobs_newest_first(client, owner, cpu):
    small, large = ProjectFactory(owner=owner, name="S"), ProjectFactory(owner=owner, name="L")
    _jobs(small, owner, cpu, SMALL)
    _jobs(large, owner, cpu, LARGE)
    _, first, queries = _flat(client, lambda _: "/jobs", _auth(owner, small), _auth(owner, large))
    assert queries <= 6  # key, project with permissions, jobs, their datasets (+ key's last use)
    # A page deep in the list costs what the first one does.
    headers = _auth(owner, large)
    deep, deep_sql = _get(client, f"/jobs?cursor={first['next']}", headers)
    assert len(deep_sql) == queries and deep["items"][0]["name"] < first["items"][-1]["name"]
    walked = _walk(client, "/jobs", headers, limit=500)
    assert len(walked) == LARGE and len({j["id"] for j in walked}) == LARGE
    expected = list(Job.objects.filter(project=large).order_by("-created_at", "pk").values_list("pk", flat=True))
    assert [j["id"] for j in walked] == [str(pk) for pk in expected]


def test_jobs_list_still_takes_limit_and_offset(client, owner, cpu):
    project = ProjectFactory(owner=owner, name="P")
    _jobs(project, owner, cpu, 30)
    headers = _auth(owner, project)
    everything = [j["id"] for j in _walk(client, "/jobs", headers, limit=7)]
    body = client.get(f"{API}/jobs?limit=5&offset=10", headers=headers).json()
    assert [j["id"] for j in body["items"]] == everything[10:15]
    after = client.get(f"{API}/jobs?limit=5&cursor={body['next']}", headers=headers).json()
    assert [j["id"] for j in after["items"]] == everything[15:20]
    filtered = client.get(f"{API}/jobs?status=running", headers=headers).json()
    assert filtered == {"items": [], "next": None}


@pytest.mark.parametrize("cursor", ["nonsense", "a" * 300, "", "%00"])
def test_a_bad_cursor_is_a_400_naming_cursor(client, owner, cpu, cursor):
    project = ProjectFactory(owner=owner, name="P")
    _jobs(project, owner, cpu, 3)
    response = client.get(f"{API}/jobs?cursor={cursor}", headers=_auth(owner, project))
    if cursor == "":  # no cursor at all: the first page
        assert response.status_code == 200 and len(response.json()["items"]) == 3
        return
    assert response.status_code == 400
    assert response.json()["field"] == "cursor" and response.json()["detail"].startswith("cursor:")


def test_a_cursor_of_another_list_or_order_is_refused(client, owner, cpu):
    project = ProjectFactory(owner=owner, name="P")
    _jobs(project, owner, cpu, 3)
    for i in range(3):
        Dataset.objects.create(project=project, name=f"d{i}", status="ready")
    headers = _auth(owner, project)
    jobs_next = client.get(f"{API}/jobs?limit=1", headers=headers).json()["next"]
    by_name = client.get(f"{API}/datasets?limit=1&sort=name", headers=headers).json()["next"]
    for path in (f"/datasets?cursor={jobs_next}", f"/datasets?sort=-size&cursor={by_name}",
                 f"/datasets?cursor={by_name[:-2]}xx"):
        response = client.get(f"{API}{path}", headers=headers)
        assert response.status_code == 400 and response.json()["field"] == "cursor", path
    again = client.get(f"{API}/datasets?limit=1&sort=name&cursor={by_name}", headers=headers).json()
    assert [d["name"] for d in again["items"]] == ["d1"]


def _bulk_projects(viewer, count: int) -> None:
    """`count` projects of someone else shared with `viewer` (read on jobs), as the services leave
    the permission rows, made in bulk."""
    other = UserFactory()
    projects = Project.objects.bulk_create(
        [Project(owner=other, name=f"Team {i:04}", is_personal=False) for i in range(count)])
    Membership.objects.bulk_create([Membership(project=p, user=viewer, jobs="read", datasets="none",
                                               models="none") for p in projects])
    perms = {p.codename: p for p in Permission.objects.filter(codename__in=RULE_CODENAMES)}
    ProjectUserObjectPermission.objects.bulk_create(
        [ProjectUserObjectPermission(content_object=p, user=viewer, permission=perms[c])
         for p in projects for c in ("view_project", "view_jobs")])


def test_projects_list_is_flat_at_500_projects(client, db):
    few, many = UserFactory(), UserFactory()
    _bulk_projects(few, SMALL - 1)  # and each one's Personal project
    _bulk_projects(many, 500)
    small, large, queries = _flat(client, lambda _: "/projects", _auth(few), _auth(many))
    assert queries <= 5  # key, projects, the page's permissions (+ key's last use)
    shared = large["items"][1]
    assert large["items"][0]["is_personal"] is True and shared["name"] == "Team 0000"
    assert shared["is_owner"] is False
    assert shared["access"] == {"jobs": "read", "datasets": "none", "models": "none"}
    walked = _walk(client, "/projects", _auth(many), limit=500)
    assert len(walked) == 501 and [p["name"] for p in walked[1:]] == sorted(f"Team {i:04}" for i in range(500))


def test_a_project_that_requires_two_factor_is_not_listed_for_a_member_without_it(client, db):
    viewer = UserFactory()
    _bulk_projects(viewer, 3)
    Project.objects.filter(name="Team 0001").update(require_two_factor=True)
    names = [p["name"] for p in client.get(f"{API}/projects", headers=_auth(viewer)).json()["items"]]
    assert names[1:] == ["Team 0000", "Team 0002"]


def _bulk_members(project, count: int) -> None:
    users = User.objects.bulk_create([User(email=f"m{project.name}{i:05}@example.com", name=f"M {i}")
                                      for i in range(count)])
    Membership.objects.bulk_create([Membership(project=project, user=u) for u in users])


def test_members_list_is_flat_and_walks_members_then_invitations(client, owner):
    small, large = ProjectFactory(owner=owner, name="s"), ProjectFactory(owner=owner, name="l")
    _bulk_members(small, SMALL)
    _bulk_members(large, LARGE)
    later = timezone.now() + timedelta(days=7)
    Invitation.objects.bulk_create(
        [Invitation(project=large, email=f"new{i}@example.com", expires_at=later) for i in range(3)]
        + [Invitation(project=large, email="old@example.com", expires_at=timezone.now() - timedelta(days=1))])
    headers = _auth(owner)
    _, _, queries = _flat(client, lambda size: f"/projects/{(small if size == 'small' else large).pk}/members",
                          headers, headers)
    assert queries <= 6
    walked = _walk(client, f"/projects/{large.pk}/members", headers, limit=500)
    assert len(walked) == LARGE + 3
    assert [m["status"] for m in walked[-4:]] == ["member", "invited", "invited", "invited"]
    assert [m["email"] for m in walked[-3:]] == ["new0@example.com", "new1@example.com", "new2@example.com"]
    assert walked[0] == {"email": "ml00000@example.com", "name": "M 0", "status": "member",
                         "jobs": "all", "datasets": "read", "models": "read"}
    # A page that ends exactly at the last member goes on into the invitations.
    first = client.get(f"{API}/projects/{large.pk}/members?offset={LARGE - 2}&limit=2", headers=headers).json()
    rest = client.get(f"{API}/projects/{large.pk}/members?cursor={first['next']}", headers=headers).json()
    assert [m["status"] for m in first["items"] + rest["items"]] == ["member"] * 2 + ["invited"] * 3
    assert rest["next"] is None
    # An offset past the members lands in the invitations.
    past = client.get(f"{API}/projects/{large.pk}/members?offset={LARGE + 1}", headers=headers).json()
    assert [m["email"] for m in past["items"]] == ["new1@example.com", "new2@example.com"]


def test_a_member_sees_members_without_the_invitations(client, owner, project, member_read):
    Invitation.objects.create(project=project, email="new@example.com", expires_at=timezone.now() + timedelta(days=1))
    body = client.get(f"{API}/projects/{project.pk}/members", headers=_auth(member_read)).json()
    assert {m["status"] for m in body["items"]} == {"member"} and body["next"] is None


@pytest.mark.parametrize("model", [Dataset, MLModel])
def test_datasets_and_models_lists_are_flat_in_every_order(client, owner, model):
    kind = "datasets" if model is Dataset else "models"
    small, large = ProjectFactory(owner=owner, name="s"), ProjectFactory(owner=owner, name="l")
    for project, count in ((small, SMALL), (large, LARGE)):
        model.objects.bulk_create([model(project=project, name=f"r{i:05}", status="ready", size_bytes=i % 7,
                                         created_by=owner) for i in range(count)])
    for sort in ("-created", "name", "-size"):
        _flat(client, lambda _: f"/{kind}?sort={sort}", _auth(owner, small), _auth(owner, large))
    walked = _walk(client, f"/{kind}?sort=-size", _auth(owner, large), limit=500)
    assert len({r["id"] for r in walked}) == LARGE
    assert [r["size_bytes"] for r in walked] == sorted((i % 7 for i in range(LARGE)), reverse=True)


def test_files_list_is_flat(client, owner):
    project = ProjectFactory(owner=owner, name="P")
    small = Dataset.objects.create(project=project, name="small", status="ready")
    large = Dataset.objects.create(project=project, name="large", status="ready")
    for dataset, count in ((small, SMALL), (large, LARGE)):
        DatasetFile.objects.bulk_create([DatasetFile(dataset=dataset, path=f"dir/{i:05}.bin", size_bytes=i)
                                         for i in range(count)])
    headers = _auth(owner, project)
    _flat(client, lambda size: f"/datasets/{(small if size == 'small' else large).pk}/files", headers, headers)
    walked = _walk(client, f"/datasets/{large.pk}/files", headers, limit=500)
    assert [f["path"] for f in walked] == [f"dir/{i:05}.bin" for i in range(LARGE)]


def test_secrets_list_is_flat(client, owner):
    small, large = ProjectFactory(owner=owner, name="s"), ProjectFactory(owner=owner, name="l")
    secret_set(project=small, name="ONE_REAL", value="a-real-secret-value", actor=owner)
    stored = ProjectSecret.objects.get(project=small)
    for project, count in ((small, SMALL - 1), (large, LARGE)):
        ProjectSecret.objects.bulk_create([ProjectSecret(project=project, name=f"S_{i:05}", last4="abcd",
                                                         ciphertext=stored.ciphertext) for i in range(count)])
    headers = _auth(owner)
    _, large_page, _ = _flat(client, lambda size: f"/projects/{(small if size == 'small' else large).pk}/secrets",
                             headers, headers)
    assert large_page["items"][0]["name"] == "S_00000" and "ciphertext" not in large_page["items"][0]
    assert len(_walk(client, f"/projects/{large.pk}/secrets", headers, limit=500)) == LARGE


def test_short_lists_page_by_position_with_a_cursor_too(client, owner):
    for slug in ("a100", "h100", "cpu"):
        make_node(gpu_type=slug)
    personal = owner.owned_projects.get(is_personal=True)  # its GPU types: those online now
    headers = _auth(owner)
    gpu_types = client.get(f"{API}/projects/{personal.pk}/gpu-types", headers=headers).json()["items"]
    assert {t["slug"] for t in gpu_types} == {"a100", "h100", "cpu"}
    walked = _walk(client, f"/projects/{personal.pk}/gpu-types", headers, limit=1)
    assert walked == gpu_types
    bad = client.get(f"{API}/projects/{personal.pk}/gpu-types?cursor=x", headers=headers)
    assert bad.status_code == 400 and bad.json()["field"] == "cursor"


def test_the_schema_documents_the_cursor_and_next(client):
    schema = client.get(f"{API}/openapi.json").json()
    for path in ("/api/v1/jobs", "/api/v1/projects", "/api/v1/projects/{project_id}/members"):
        operation = schema["paths"][path]["get"]
        params = {p["name"]: p for p in operation["parameters"]}
        assert {"cursor", "limit", "offset"} <= set(params) and "`next`" in params["cursor"]["description"]
        page = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
        fields = schema["components"]["schemas"][page]["properties"]
        assert set(fields) == {"items", "next"} and "cursor" in fields["next"]["description"]
