"""What the list pages' selectors give: each list in its order, only the project's rows, paged
without counting."""

import datetime as dt

import pytest
from django.utils import timezone

from compute.models import GpuType
from core.paging import page_of
from resources import selectors as resource_selectors
from resources.jobs import selectors as job_selectors
from resources.models import Dataset, Job
from tests.factories import ProjectFactory, UserFactory, add_member


@pytest.fixture
def two_projects(db):
    person = UserFactory()
    cpu = GpuType.objects.get(slug="cpu")
    now = timezone.now()
    projects = [ProjectFactory(owner=person), ProjectFactory(owner=person)]
    for n, project in enumerate(projects):
        for i in range(7 + n * 5):
            Job.objects.create(project=project, name=f"job-{n}-{i}", type="training", gpu_type=cpu, gpu_count=1 + i % 3,
                               command="true", created_by=person, status=("finished", "waiting", "failed")[i % 3],
                               started_at=now - dt.timedelta(minutes=i), ended_gpu_seconds=i * 1.5,
                               created_at=now - dt.timedelta(hours=i % 4))
            Dataset.objects.create(project=project, name=f"data-{n}-{i}", status=("ready", "uploading")[i % 2],
                                   size_bytes=10 ** i, file_count=i, created_by=person,
                                   created_at=now - dt.timedelta(days=i % 3))
    return projects


def test_job_pages_hold_the_projects_jobs_newest_first(two_projects):
    first, second = two_projects
    for status in (None, "finished", "waiting", "running"):
        jobs = list(job_selectors.jobs_for_list(project=second, status=status))
        assert all(job.project_id == second.pk for job in jobs)
        assert all(status is None or job.status == status for job in jobs)
        assert [job.created_at for job in jobs] == sorted((job.created_at for job in jobs), reverse=True)
    pages = [page_of(job_selectors.jobs_for_list(project=second), n, size=5) for n in (1, 2, 3)]
    assert [len(p) for p in pages] == [5, 5, 2] and [p.has_next for p in pages] == [True, True, False]
    assert len({job.pk for p in pages for job in p}) == 12


def test_dataset_pages_in_every_order(two_projects):
    project = two_projects[1]
    for sort in resource_selectors.SORTS:
        for status in (None, "ready"):
            everything = list(resource_selectors.resources_list(kind="datasets", project=project, status=status,
                                                                sort=sort))
            page = page_of(resource_selectors.resources_for_list(kind="datasets", project=project, status=status,
                                                                 sort=sort), 2, size=5)
            assert [d.pk for d in page] == [d.pk for d in everything[5:10]], (sort, status)


def test_member_rows_and_pending_invitations_are_by_email(two_projects):
    from projects import selectors as project_selectors
    from projects import services as project_services

    first, second = two_projects
    for project, email in ((first, "zed@example.com"), (first, "amy@example.com"), (second, "bo@example.com")):
        add_member(project, UserFactory(email=email), jobs="read", datasets="all", models="none")
    for email in ("later@example.com", "early@example.com"):  # no account yet: invitations
        project_services.member_add_by_email(project=first, email=email, jobs="read", datasets="read",
                                             models="all", actor=first.owner)
    rows = list(project_selectors.member_rows(project=first)[0:10])
    assert [row["email"] for row in rows] == ["amy@example.com", "zed@example.com"]
    assert rows[0]["datasets"] == "all" and rows[1]["jobs"] == "read"
    invitations = project_services.invitations_pending(project=first)
    assert [i.email for i in invitations] == ["early@example.com", "later@example.com"]
    assert invitations[0].access() == {"jobs": "read", "datasets": "read", "models": "all"}


def test_the_keys_section_reads_no_ciphertext_until_asked(two_projects):
    from projects import keys
    from projects.models import ProjectSecret

    project = two_projects[0]
    keys.key_set(project=project, kind="kaggle", public={"username": "ada"}, secret="k" * 20, actor=project.owner)
    for name in ("ZED", "ALPHA"):
        keys.secret_set(project=project, name=name, value="v" * 12, actor=project.owner)
    kaggle = next(row.key for row in keys.keys_for_display(project=project) if row.key)
    assert kaggle.public == {"username": "ada"} and "ciphertext" in kaggle.get_deferred_fields()
    secrets = keys.secrets_for_display(project=project)
    assert [s.name for s in secrets] == ["ALPHA", "ZED"]
    assert secrets[0].ciphertext == ProjectSecret.objects.get(pk=secrets[0].pk).ciphertext  # loaded when asked
    assert keys.keys_for_display(project=two_projects[1])[0].key is None
