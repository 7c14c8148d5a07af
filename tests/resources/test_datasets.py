"""Datasets: upload, download, archives, limits, lists, rename, delete — as a user sees them."""

import io
import tarfile
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from projects.forms import ACTIVE_PROJECT_FIELD
from projects.middleware import SESSION_KEY
from resources import services
from resources.models import Dataset, DatasetFile
from resources.views import PAGE_SIZE
from tests.factories import ProjectFactory, UserFactory


def activate(client, project):
    session = client.session
    session[SESSION_KEY] = str(project.pk)
    session.save()


def upload(client, project, name, *files, url_name="resources:dataset-create", **extra):
    data = {"name": name, ACTIVE_PROJECT_FIELD: str(project.pk), "files": list(files)}
    return client.post(reverse(url_name), data, **extra)


def stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def make_zip(entries: dict[str, bytes], *, symlink: str | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (0o120777 << 16)
            zf.writestr(info, "/etc/passwd")
    return buf.getvalue()


def make_tar(entries: dict[str, bytes], *, symlink: str | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        if symlink:
            info = tarfile.TarInfo(symlink)
            info.type = tarfile.SYMTYPE
            info.linkname = "/etc/passwd"
            tf.addfile(info)
    return buf.getvalue()


@pytest.fixture
def signed_in(client, owner, project):
    client.force_login(owner)
    activate(client, project)
    return client


# ---- upload and download ------------------------------------------------------------------------


def test_upload_files_then_download_each_returns_the_same_bytes(signed_in, project, owner):
    a, b = b"id,label\n1,cat\n2,dog\n", bytes(range(256)) * 40
    response = upload(signed_in, project, "Pets", SimpleUploadedFile("labels.csv", a),
                      SimpleUploadedFile("blob.bin", b))
    dataset = Dataset.objects.get(name="Pets")
    assert response.status_code == 302
    assert response["Location"] == reverse("resources:dataset-detail", args=[dataset.pk])
    assert dataset.project == project and dataset.created_by == owner
    assert (dataset.status, dataset.file_count, dataset.size_bytes) == ("ready", 2, len(a) + len(b))

    page = signed_in.get(response["Location"]).content.decode()
    assert "labels.csv" in page and "blob.bin" in page and "Ready" in page and "10.0\xa0KB" in page

    got = signed_in.get(reverse("resources:dataset-file", args=[dataset.pk, "blob.bin"]))
    assert got.status_code == 200 and b"".join(got.streaming_content) == b
    assert 'filename="blob.bin"' in got["Content-Disposition"]


def test_whole_dataset_downloads_as_a_streamed_zip_with_the_same_bytes(signed_in, project):
    files = {"train/a.txt": b"alpha\n" * 1000, "train/b.txt": b"", "readme.md": b"# hi\n"}
    upload(signed_in, project, "Zipped", SimpleUploadedFile("in.zip", make_zip(files)))
    dataset = Dataset.objects.get(name="Zipped")
    assert dataset.file_count == 3

    response = signed_in.get(reverse("resources:dataset-download", args=[dataset.pk]))
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "application/zip"
    assert 'filename="zipped.zip"' in response["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as zf:
        assert {n: zf.read(n) for n in zf.namelist()} == files


def test_tar_gz_archive_is_unpacked(signed_in, project):
    files = {"x/1.txt": b"one", "x/2.txt": b"two"}
    upload(signed_in, project, "Tarred", SimpleUploadedFile("in.tar.gz", make_tar(files)))
    dataset = Dataset.objects.get(name="Tarred")
    assert sorted(dataset.files.values_list("path", flat=True)) == ["x/1.txt", "x/2.txt"]
    got = signed_in.get(reverse("resources:dataset-file", args=[dataset.pk, "x/2.txt"]))
    assert b"".join(got.streaming_content) == b"two"


def test_upload_with_xhr_answers_json_redirect(signed_in, project):
    response = upload(signed_in, project, "Via XHR", SimpleUploadedFile("a.txt", b"a"),
                      headers={"X-Requested-With": "XMLHttpRequest"})
    dataset = Dataset.objects.get(name="Via XHR")
    assert response.json() == {"redirect": reverse("resources:dataset-detail", args=[dataset.pk])}


# ---- refusals leave nothing behind ----------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "archive", "named"),
    [
        ("evil.zip", lambda: make_zip({"ok.txt": b"fine", "../x": b"escape"}), "../x"),
        ("evil.zip", lambda: make_zip({"ok.txt": b"fine", "/etc/cron.d/x": b"abs"}), "/etc/cron.d/x"),
        ("evil.zip", lambda: make_zip({"ok.txt": b"fine", "a/../../x": b"deep"}), "a/../../x"),
        ("evil.zip", lambda: make_zip({"ok.txt": b"fine"}, symlink="link"), "link"),
        ("evil.tar.gz", lambda: make_tar({"ok.txt": b"fine", "../x": b"escape"}), "../x"),
        ("evil.tar.gz", lambda: make_tar({"ok.txt": b"fine"}, symlink="link"), "link"),
    ],
)
def test_unsafe_archive_entries_are_refused_and_leave_nothing(signed_in, project, settings,
                                                              filename, archive, named):
    response = upload(signed_in, project, "Evil", SimpleUploadedFile(filename, archive()))
    assert response.status_code == 200
    assert named in response.content.decode()
    assert not Dataset.objects.exists() and not DatasetFile.objects.exists()
    assert stored_files(settings) == []


def test_broken_archive_is_refused(signed_in, project, settings):
    response = upload(signed_in, project, "Broken", SimpleUploadedFile("bad.zip", b"not a zip"))
    assert "is not a readable archive" in response.content.decode()
    assert not Dataset.objects.exists() and stored_files(settings) == []


def test_oversize_upload_is_refused_and_leaves_nothing(signed_in, project, settings):
    settings.TRAINSHED_MAX_UPLOAD_BYTES = 1000
    response = upload(signed_in, project, "Big", SimpleUploadedFile("a.bin", b"x" * 600),
                      SimpleUploadedFile("b.bin", b"x" * 600))
    page = response.content.decode()
    assert response.status_code == 200 and "the limit is 1000 bytes" in page
    assert not Dataset.objects.exists() and stored_files(settings) == []


def test_archive_that_unpacks_past_the_limit_is_refused(signed_in, project, settings):
    settings.TRAINSHED_MAX_UPLOAD_BYTES = 5000
    bomb = make_zip({"zeros.bin": b"\0" * 100_000})  # compresses to far below the limit
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", b"\0" * 100_000)
    assert len(buf.getvalue()) < 5000 and bomb
    response = upload(signed_in, project, "Bomb", SimpleUploadedFile("bomb.zip", buf.getvalue()))
    assert "the limit is" in response.content.decode()
    assert not Dataset.objects.exists() and stored_files(settings) == []


@pytest.mark.parametrize("files", [[], [SimpleUploadedFile("empty.txt", b"")]])
def test_empty_upload_is_refused(signed_in, project, settings, files):
    response = upload(signed_in, project, "Nothing", *files)
    assert response.status_code == 200
    assert "The upload is empty" in response.content.decode()
    assert not Dataset.objects.exists() and stored_files(settings) == []


def test_missing_name_is_named(signed_in, project):
    response = upload(signed_in, project, "", SimpleUploadedFile("a.txt", b"a"))
    assert "This field is required" in response.content.decode()
    assert not Dataset.objects.exists()


# ---- the active project ---------------------------------------------------------------------------


def test_create_form_names_the_project_it_lands_in(signed_in, project):
    page = signed_in.get(reverse("resources:dataset-create")).content.decode()
    assert "Will be created in <strong>Vision Research</strong>" in page
    assert f'value="{project.pk}"' in page


def test_stale_tab_upload_is_refused_and_creates_nothing(client, owner, project, settings):
    client.force_login(owner)
    personal = owner.owned_projects.get(is_personal=True)
    activate(client, project)  # the tab was rendered for Vision Research…
    client.post(reverse("projects:switch"), {"project": str(personal.pk)})  # …then another switched
    response = upload(client, project, "Stale", SimpleUploadedFile("a.txt", b"a"))
    page = response.content.decode()
    assert "This form was opened for “Vision Research”, but your active project is now “Personal”" in page
    assert not Dataset.objects.exists() and stored_files(settings) == []


def test_list_shows_only_the_active_projects_datasets(signed_in, owner, project):
    personal = owner.owned_projects.get(is_personal=True)
    for p, name in ((project, "In Vision"), (personal, "In Personal")):
        services.dataset_create_from_upload(project=p, name=name, created_by=owner,
                                            files=[SimpleUploadedFile("a.txt", b"a")])
    page = signed_in.get(reverse("resources:dataset-list")).content.decode()
    assert "In Vision" in page and "In Personal" not in page


def test_another_projects_dataset_is_a_404_on_every_url(client, owner, project):
    other = ProjectFactory(owner=UserFactory(), name="Elsewhere")
    theirs = services.dataset_create_from_upload(project=other, name="Theirs", created_by=other.owner,
                                                 files=[SimpleUploadedFile("a.txt", b"a")])
    mine_elsewhere = services.dataset_create_from_upload(
        project=owner.owned_projects.get(is_personal=True), name="Mine", created_by=owner,
        files=[SimpleUploadedFile("a.txt", b"a")])
    client.force_login(owner)
    activate(client, project)
    for name, args in (("detail", [theirs.pk]), ("download", [theirs.pk]), ("file", [theirs.pk, "a.txt"]),
                       ("rename", [theirs.pk]), ("delete", [theirs.pk])):
        url = reverse(f"resources:dataset-{name}", args=args)
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("resources:dataset-delete", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("resources:dataset-rename", args=[theirs.pk]), {"name": "x"}).status_code == 404
    assert Dataset.objects.filter(name__in=["Theirs", "Mine"]).count() == 2
    # Her own dataset in another of her projects is no secret: its link works whatever is active.
    assert client.get(reverse("resources:dataset-detail", args=[mine_elsewhere.pk])).status_code == 200


def test_read_member_sees_no_create_rename_or_delete_buttons(client, project, owner, member_read):
    ds = services.dataset_create_from_upload(project=project, name="Shared", created_by=owner,
                                             files=[SimpleUploadedFile("a.txt", b"a")])
    client.force_login(member_read)
    activate(client, project)
    listing = client.get(reverse("resources:dataset-list")).content.decode()
    assert "Shared" in listing and reverse("resources:dataset-create") not in listing
    detail = client.get(reverse("resources:dataset-detail", args=[ds.pk])).content.decode()
    assert "Download all" in detail
    assert reverse("resources:dataset-rename", args=[ds.pk]) not in detail
    assert reverse("resources:dataset-delete", args=[ds.pk]) not in detail
    assert upload(client, project, "Nope", SimpleUploadedFile("a.txt", b"a")).status_code == 403


# ---- rename, delete --------------------------------------------------------------------------------


def test_rename_and_delete(signed_in, project, owner, settings, django_capture_on_commit_callbacks):
    ds = services.dataset_create_from_upload(project=project, name="Old", created_by=owner,
                                             files=[SimpleUploadedFile("a.txt", b"a")])
    response = signed_in.post(reverse("resources:dataset-rename", args=[ds.pk]), {"name": "  New  "})
    assert response.status_code == 302
    ds.refresh_from_db()
    assert ds.name == "New"
    assert "This field is required" in signed_in.post(
        reverse("resources:dataset-rename", args=[ds.pk]), {"name": ""}).content.decode()

    other = ProjectFactory(owner=owner, name="Other")
    signed_in.post(reverse("resources:dataset-rename", args=[ds.pk]),
                   {"name": "Moved", "project": str(other.pk), "project_id": str(other.pk)})
    ds.refresh_from_db()
    assert ds.project == project

    assert stored_files(settings)
    with django_capture_on_commit_callbacks(execute=True):  # files go once the rows are gone
        response = signed_in.post(reverse("resources:dataset-delete", args=[ds.pk]), {}, follow=True)
    assert "Deleted Moved." in response.content.decode()
    assert not Dataset.objects.exists() and not DatasetFile.objects.exists()
    assert stored_files(settings) == []


def test_delete_is_refused_while_a_veto_says_so(signed_in, project, owner, settings):
    ds = services.dataset_create_from_upload(project=project, name="Busy", created_by=owner,
                                             files=[SimpleUploadedFile("a.txt", b"a")])

    def running_job(sender, resource, **kwargs):
        return f"The running job “train-1” uses {resource.name}."

    services.resource_delete_veto.connect(running_job, sender=Dataset, weak=False)
    try:
        response = signed_in.post(reverse("resources:dataset-delete", args=[ds.pk]))
    finally:
        services.resource_delete_veto.disconnect(running_job, sender=Dataset)
    assert response.status_code == 409
    assert "Not deleted: The running job “train-1” uses Busy." in response.content.decode()
    assert Dataset.objects.filter(pk=ds.pk).exists() and stored_files(settings)


def test_project_cannot_be_changed_by_any_form_or_admin_field():
    field = Dataset._meta.get_field("project")
    assert field.editable is False
    from django.contrib import admin

    model_admin = admin.site._registry[Dataset]
    assert "project" in model_admin.readonly_fields


# ---- the list ----------------------------------------------------------------------------------------


def _bulk(project, owner, n, **kw):
    Dataset.objects.bulk_create(
        [Dataset(project=project, name=f"ds-{i:04}", created_by=owner, status="ready",
                 size_bytes=i, file_count=1, **kw) for i in range(n)]
    )


def test_list_is_paginated_sorted_and_filtered(signed_in, project, owner):
    _bulk(project, owner, 30)
    Dataset.objects.create(project=project, name="zz fetching", status="downloading", created_by=owner)
    page = signed_in.get(reverse("resources:dataset-list") + "?sort=name").content.decode()
    n = PAGE_SIZE
    assert "ds-0000" in page and f"ds-{n - 1:04}" in page and f"ds-{n:04}" not in page
    assert f"Datasets 1–{n}" in page and "?sort=name&amp;page=2" in page
    page = signed_in.get(reverse("resources:dataset-list") + "?sort=name&page=2").content.decode()
    assert f"ds-{n:04}" in page and "ds-0000" not in page
    last = -(-31 // n)
    page = signed_in.get(reverse("resources:dataset-list") + f"?sort=name&page={last}").content.decode()
    assert "zz fetching" in page and f"Datasets {(last - 1) * n + 1}–31" in page and "Next →" not in page
    page = signed_in.get(reverse("resources:dataset-list") + "?sort=-size").content.decode()
    assert page.index("ds-0029") < page.index("ds-0028")
    page = signed_in.get(reverse("resources:dataset-list")).content.decode()  # newest first
    assert "zz fetching" in page and 'hx-trigger="every 2s"' in page  # shown in progress: it polls
    page = signed_in.get(reverse("resources:dataset-list") + "?status=downloading").content.decode()
    assert "zz fetching" in page and "ds-0001" not in page
    page = signed_in.get(reverse("resources:dataset-list") + "?status=ready").content.decode()
    assert "zz fetching" not in page and 'hx-trigger="every 2s"' not in page


def test_htmx_poll_returns_only_the_table(signed_in, project, owner):
    _bulk(project, owner, 2)
    response = signed_in.get(reverse("resources:dataset-list"), headers={"HX-Request": "true"})
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="resource-table"') and "<html" not in body


@pytest.mark.parametrize("kind", ["datasets"])
def test_list_runs_the_same_number_of_queries_at_10_and_1000_rows(
    signed_in, project, owner, django_assert_num_queries, kind
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = reverse("resources:dataset-list")
    _bulk(project, owner, 10)
    with CaptureQueriesContext(connection) as small:
        assert signed_in.get(url).status_code == 200
    _bulk(project, owner, 990)
    with django_assert_num_queries(len(small.captured_queries)):
        page = signed_in.get(url).content.decode()
    assert f"Datasets 1–{PAGE_SIZE}" in page and "Next →" in page


def test_a_body_far_over_the_limit_is_refused_before_it_is_read(signed_in, project, settings):
    settings.TRAINSHED_MAX_UPLOAD_BYTES = 10
    response = upload(signed_in, project, "Huge", SimpleUploadedFile("a.bin", b"x" * (1024 * 1024 + 100)))
    assert response.status_code == 200
    assert "the limit is 10 bytes" in response.content.decode()
    assert not Dataset.objects.exists() and stored_files(settings) == []
