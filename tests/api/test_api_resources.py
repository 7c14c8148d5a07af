"""Datasets and models over the REST API: they live in the request's project, another project's
id is a 404, and what is uploaded comes back byte for byte."""

import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.api_keys import api_key_create
from resources import services
from resources.models import Dataset, MLModel, StoredStatus
from tests.factories import ProjectFactory, UserFactory

API = "/api/v1"


def _auth(user, **kwargs) -> dict:
    return {"Authorization": f"Bearer {api_key_create(user=user, name='t', **kwargs)[1]}"}


def _in(project) -> dict:
    return {"X-Trainshed-Project": str(project.pk)}


def _zip_of(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _unzip(body: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _dataset(project, user, name="d", files=None):
    files = files or {"data.csv": b"a,b\n1,2\n"}
    return services.resource_create_from_upload(
        kind="datasets", project=project, name=name, created_by=user,
        files=[SimpleUploadedFile(n, d) for n, d in files.items()],
    )


def test_upload_then_download_returns_the_same_bytes(client, owner, project):
    auth = _auth(owner) | _in(project)
    payload = bytes(range(256)) * 300
    created = client.post(f"{API}/datasets", headers=auth, data={
        "name": "Two files", "files": [SimpleUploadedFile("a.bin", payload),
                                       SimpleUploadedFile("b.txt", b"hello\n")]})
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["name"], body["status"], body["file_count"]) == ("Two files", "ready", 2)
    assert body["size_bytes"] == len(payload) + 6 and body["created_by"] == "owner@example.com"
    assert Dataset.objects.get(pk=body["id"]).project == project

    download = client.get(f"{API}/datasets/{body['id']}/download", headers=auth)
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    assert _unzip(b"".join(download.streaming_content)) == {"a.bin": payload, "b.txt": b"hello\n"}

    one = client.get(f"{API}/datasets/{body['id']}/files/a.bin", headers=auth)
    assert one.status_code == 200 and b"".join(one.streaming_content) == payload
    listed = client.get(f"{API}/datasets/{body['id']}/files", headers=auth).json()
    assert listed == {"next": None, "items": [{"path": "a.bin", "size_bytes": len(payload)},
                                             {"path": "b.txt", "size_bytes": 6}]}


def test_an_uploaded_archive_keeps_its_folders(client, owner):
    auth = _auth(owner)
    files = {"train/x.txt": b"x", "train/deep/y.txt": b"yy", "README": b"r"}
    created = client.post(f"{API}/models", headers=auth, data={
        "name": "Weights", "files": [SimpleUploadedFile("weights.zip", _zip_of(files))]}).json()
    assert MLModel.objects.get(pk=created["id"]).project.is_personal
    download = client.get(f"{API}/models/{created['id']}/download", headers=auth)
    assert _unzip(b"".join(download.streaming_content)) == files
    nested = client.get(f"{API}/models/{created['id']}/files/train/deep/y.txt", headers=auth)
    assert b"".join(nested.streaming_content) == b"yy"


def test_a_dataset_of_project_b_is_404_with_project_a_header(client, owner):
    project_a = ProjectFactory(owner=owner, name="A")
    project_b = ProjectFactory(owner=owner, name="B")
    in_b = _dataset(project_b, owner, "only in B")
    auth = _auth(owner) | _in(project_a)
    for method, suffix in (("GET", ""), ("GET", "/download"), ("GET", "/files"),
                           ("GET", "/files/data.csv"), ("DELETE", ""), ("PATCH", "")):
        response = client.generic(method, f"{API}/datasets/{in_b.pk}{suffix}",
                                  data=json.dumps({"name": "x"}), content_type="application/json",
                                  headers=auth)
        assert response.status_code == 404, (method, suffix)
        assert response.json()["detail"] == "Not found."
    assert client.get(f"{API}/datasets", headers=auth).json() == {"next": None, "items": []}
    assert client.get(f"{API}/datasets/{in_b.pk}", headers=_auth(owner) | _in(project_b)).status_code == 200
    assert Dataset.objects.filter(pk=in_b.pk, name="only in B").exists()


def test_a_restricted_key_gets_404_on_another_projects_datasets(client, owner, project):
    other = ProjectFactory(owner=owner, name="Other")
    theirs = _dataset(other, owner)
    limited = _auth(owner, project=project)
    assert client.get(f"{API}/datasets", headers=limited | _in(other)).status_code == 404
    assert client.get(f"{API}/datasets/{theirs.pk}", headers=limited | _in(other)).status_code == 404
    assert client.get(f"{API}/datasets/{theirs.pk}", headers=limited).status_code == 404
    upload = client.post(f"{API}/datasets", headers=limited | _in(other),
                         data={"name": "x", "files": [SimpleUploadedFile("f", b"1")]})
    assert upload.status_code == 404
    assert client.get(f"{API}/datasets", headers=limited).json()["items"] == []  # its own project


def test_levels_decide_reading_and_changing(client, project, owner, member_read, member_none):
    dataset = _dataset(project, owner)
    read = _auth(member_read) | _in(project)
    assert client.get(f"{API}/datasets/{dataset.pk}", headers=read).status_code == 200
    refused = client.post(f"{API}/datasets", headers=read,
                          data={"name": "x", "files": [SimpleUploadedFile("f", b"1")]})
    assert refused.status_code == 403
    assert client.delete(f"{API}/datasets/{dataset.pk}", headers=read).status_code == 403
    none = _auth(member_none) | _in(project)
    assert client.get(f"{API}/datasets/{dataset.pk}", headers=none).status_code == 404


def test_rename_delete_and_bad_input(client, owner, project):
    dataset = _dataset(project, owner)
    auth = _auth(owner) | _in(project)
    renamed = client.patch(f"{API}/datasets/{dataset.pk}", data={"name": " New name "},
                           content_type="application/json", headers=auth)
    assert renamed.json()["name"] == "New name"
    blank = client.patch(f"{API}/datasets/{dataset.pk}", data={"name": " "},
                         content_type="application/json", headers=auth)
    assert blank.status_code == 400 and blank.json()["field"] == "name"
    empty = client.post(f"{API}/datasets", headers=auth,
                        data={"name": "x", "files": [SimpleUploadedFile("f.txt", b"")]})
    assert empty.status_code == 400 and empty.json()["field"] == "files"
    unsafe = client.post(f"{API}/datasets", headers=auth, data={
        "name": "x", "files": [SimpleUploadedFile("evil.zip", _zip_of({"../up.txt": b"x"}))]})
    assert unsafe.status_code == 400 and "unsafe" in unsafe.json()["detail"]
    missing = client.get(f"{API}/datasets/{dataset.pk}/files/nope.csv", headers=auth)
    assert missing.status_code == 404
    assert client.delete(f"{API}/datasets/{dataset.pk}", headers=auth).status_code == 204
    assert not Dataset.objects.filter(pk=dataset.pk).exists()


def test_from_url_creates_a_new_dataset_and_not_ready_cannot_be_downloaded(client, owner):
    auth = _auth(owner)
    bad = client.post(f"{API}/datasets/from-url", data={"name": "x", "source_url": "ftp://x/y"},
                      content_type="application/json", headers=auth)
    assert bad.status_code == 400 and bad.json()["field"] == "source_url"
    made = client.post(f"{API}/datasets/from-url",
                       data={"name": "Remote", "source_url": "https://example.com/d.tar.gz"},
                       content_type="application/json", headers=auth)
    assert made.status_code == 201
    body = made.json()
    assert body["status"] == StoredStatus.NEW and body["source_url"] == "https://example.com/d.tar.gz"
    waiting = client.get(f"{API}/datasets/{body['id']}/download", headers=auth)
    assert waiting.status_code == 409 and "not ready" in waiting.json()["detail"]


def test_no_credits_refuses_an_upload_with_the_reason(client, db):
    broke = UserFactory(email="broke@example.com", credits=0)
    response = client.post(f"{API}/datasets", headers=_auth(broke),
                           data={"name": "x", "files": [SimpleUploadedFile("f", b"1")]})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Your account has no credits")  # said to its owner
    assert not Dataset.objects.exists()


@pytest.mark.parametrize("kind", ["datasets", "models"])
def test_list_is_paginated_and_filtered(client, owner, kind):
    personal = owner.owned_projects.get(is_personal=True)
    for i in range(3):
        services.resource_create_from_upload(kind=kind, project=personal, name=f"r{i}", created_by=owner,
                                             files=[SimpleUploadedFile("f", b"1")])
    auth = _auth(owner)
    page = client.get(f"{API}/{kind}?limit=2&sort=name", headers=auth).json()
    assert [r["name"] for r in page["items"]] == ["r0", "r1"] and page["next"]
    rest = client.get(f"{API}/{kind}?limit=2&sort=name&cursor={page['next']}", headers=auth).json()
    assert [r["name"] for r in rest["items"]] == ["r2"] and rest["next"] is None
    assert client.get(f"{API}/{kind}?status=failed", headers=auth).json()["items"] == []


@pytest.mark.parametrize("kind", ["datasets", "models"])
def test_an_oversized_upload_is_refused_by_its_length_before_it_is_read(client, owner, settings, kind):
    settings.TRAINSHED_MAX_UPLOAD_BYTES = 1000
    auth = _auth(owner)
    big = client.post(f"{API}/{kind}", headers=auth,
                      data={"name": "big", "files": [SimpleUploadedFile("f.bin", b"x" * (1024 * 1024 + 2000))]})
    assert big.status_code == 413
    assert big.json() == {"detail": "files: The upload is 1.0 MB; the limit is 1000 bytes.", "field": "files"}
    # A body that claims 3 GB is answered at once: nothing waits for (or stores) bytes never sent.
    claimed = client.post(f"{API}/{kind}", headers=auth, data={"name": "x", "files": [SimpleUploadedFile("f", b"1")]},
                          CONTENT_LENGTH=str(3 * 1024**3))
    assert claimed.status_code == 413 and "The upload is 3.0 GB" in claimed.json()["detail"]
    small = client.post(f"{API}/{kind}", headers=auth, data={"name": "small", "files": [SimpleUploadedFile("f", b"1")]})
    assert small.status_code == 201
    assert list(Dataset.objects.values_list("name", flat=True)) + list(
        MLModel.objects.values_list("name", flat=True)) == ["small"]


def test_a_chunked_upload_without_a_length_is_refused_with_the_reason(client, owner):
    # Django reads a body without Content-Length as empty; the API says why instead of "files: required".
    response = client.post(f"{API}/datasets", headers=_auth(owner),
                           data={"name": "x", "files": [SimpleUploadedFile("f", b"1")]},
                           CONTENT_LENGTH="", HTTP_TRANSFER_ENCODING="chunked")
    assert response.status_code == 411
    assert response.json() == {"detail": "files: Send the upload with its length (Content-Length): chunked "
                                         "uploads are not accepted.", "field": "files"}
    assert not Dataset.objects.exists()
