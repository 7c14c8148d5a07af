"""Requests that used to answer 500: an archive holding both `x` and `x/y`, a file name over 255
bytes, a 12 MB JSON body (413), a negative Content-Length; and every /api/v1/ answer is JSON, even
for an unknown path with a non-GET method (no HTML CSRF page)."""

import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.api_keys import api_key_create
from projects.forms import ACTIVE_PROJECT_FIELD
from resources.models import Dataset
from tests.factories import sign_in_to


@pytest.fixture
def signed_in(client, owner, project):
    return sign_in_to(client, owner, project)


def _upload(client, project, files):
    return client.post(reverse("resources:dataset-create"),
                       {"name": "Bad", "files": files, ACTIVE_PROJECT_FIELD: str(project.pk)})


def test_an_archive_with_a_file_and_a_folder_of_the_same_name_is_a_field_error(signed_in, project):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("x", b"file")
        zf.writestr("x/y", b"inside")
    response = _upload(signed_in, project, [SimpleUploadedFile("clash.zip", buf.getvalue())])
    assert response.status_code == 200
    assert "x" in response.content.decode() and not Dataset.objects.exists()


def test_a_file_name_over_255_bytes_is_a_field_error(signed_in, project):
    response = _upload(signed_in, project, [SimpleUploadedFile("é" * 200 + ".csv", b"a\n")])
    assert response.status_code == 200
    assert "255" in response.content.decode() and not Dataset.objects.exists()


def test_an_archive_member_name_over_255_bytes_is_a_field_error(signed_in, project):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("d/" + "a" * 300, b"x")
    response = _upload(signed_in, project, [SimpleUploadedFile("long.zip", buf.getvalue())])
    assert response.status_code == 200
    assert "255" in response.content.decode() and not Dataset.objects.exists()


def _api(owner):
    return {"Authorization": f"Bearer {api_key_create(user=owner, name='t')[1]}"}


def test_a_12_mb_json_body_is_a_413(client, owner):
    body = json.dumps({"name": "x" * (12 * 1024 * 1024)})
    response = client.post("/api/v1/projects", data=body, content_type="application/json", headers=_api(owner))
    assert response.status_code == 413 and response["Content-Type"].startswith("application/json")


def test_a_negative_content_length_is_a_400(client, owner):
    response = client.generic("POST", "/api/v1/projects", b"{}", content_type="application/json",
                              headers=_api(owner), CONTENT_LENGTH="-5")
    assert response.status_code == 400


def test_a_negative_content_length_on_a_page_is_a_400(signed_in):
    response = signed_in.generic("POST", reverse("resources:dataset-create"), b"",
                                 content_type="multipart/form-data; boundary=x", CONTENT_LENGTH="-1")
    assert response.status_code == 400


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_an_unknown_api_path_answers_json_for_every_method(method, owner):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = getattr(client, method)("/api/v1/no-such-thing")
    assert response.status_code == 404 and response["Content-Type"].startswith("application/json")
    assert "detail" in response.json()


def test_a_member_email_with_a_slash_can_be_managed(client, owner, project):
    from projects.services import member_add_by_email
    from tests.factories import UserFactory

    UserFactory(email="a/b@example.com")
    member_add_by_email(project=project, email="a/b@example.com", jobs="read", datasets="read",
                        models="read", actor=owner)
    headers = {**_api(owner), "X-Trainshed-Project": str(project.pk)}
    put = client.put(f"/api/v1/projects/{project.pk}/members/a/b@example.com",
                     data=json.dumps({"jobs": "all"}), content_type="application/json", headers=headers)
    assert put.status_code == 200, put.content
    assert client.delete(f"/api/v1/projects/{project.pk}/members/a/b@example.com",
                         headers=headers).status_code == 204
