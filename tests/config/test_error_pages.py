"""403 and 404 are the app's own pages — the header, a sentence, a way back — with DEBUG on and
off, signed in or out; the API keeps its JSON. And the header leaves out a resource type the
person has "none" access to in the active project."""

import uuid

import pytest
from django.urls import reverse

from projects.middleware import SESSION_KEY
from tests.factories import UserFactory, add_member


@pytest.fixture(params=[False, True], ids=["debug-off", "debug-on"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


def _is_app_page(response, heading):
    page = response.content.decode()
    assert 'class="topbar"' in page, "no header"
    assert f"<h1>{heading}</h1>" in page
    assert "You're seeing this error because you have" not in page  # not Django's technical page
    return page


def test_unknown_url_signed_out(client, db, debug):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    page = _is_app_page(response, "Not found")
    assert f'href="{reverse("account_login")}"' in page


def test_unknown_url_signed_in(client, user, debug):
    client.force_login(user)
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    page = _is_app_page(response, "Not found")
    assert "Back to your projects" in page and 'class="mainnav"' in page


def test_a_missing_object_is_the_app_page(client, user, debug):
    client.force_login(user)
    response = client.get(reverse("resources:job-detail", args=[uuid.uuid4()]))
    assert response.status_code == 404
    _is_app_page(response, "Not found")


def test_a_refused_action_is_the_app_403_page(client, owner, project, member_read, debug):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from resources import services

    data = services.dataset_create_from_upload(project=project, name="D", created_by=owner,
                                               files=[SimpleUploadedFile("a.csv", b"a")])
    client.force_login(member_read)
    response = client.post(reverse("resources:dataset-delete", args=[data.pk]))
    assert response.status_code == 403
    page = _is_app_page(response, "Not allowed")
    assert "The project owner can change your access." in page and "Back to your projects" in page


def test_the_api_still_answers_json(client, db, debug):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404 and response["Content-Type"].startswith("application/json")


def test_the_nav_leaves_out_a_type_without_access(client, project):
    viewer = UserFactory(email="viewer@example.com")
    add_member(project, viewer, jobs="read", datasets="none", models="none")
    client.force_login(viewer)
    personal = client.get(reverse("projects:list")).content.decode()
    assert all(f'href="{reverse(f"resources:{k}-list")}"' in personal for k in ("job", "dataset", "model"))
    session = client.session
    session[SESSION_KEY] = str(project.pk)
    session.save()
    page = client.get(reverse("projects:list")).content.decode()
    assert f'href="{reverse("resources:job-list")}"' in page
    assert f'href="{reverse("resources:dataset-list")}"' not in page
    assert f'href="{reverse("resources:model-list")}"' not in page
