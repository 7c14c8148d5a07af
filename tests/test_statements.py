"""`config.statements`: a `.values()` queryset built once, run with other values, gives what the
queryset itself gives: the same rows, names, conversions and pages (SQLite here, PostgreSQL in CI)."""

import datetime as dt

import pytest
from django.utils import timezone

from compute.models import GpuType
from config.statements import Statement
from core.paging import page_of
from resources import selectors as resource_selectors
from resources.jobs import selectors as job_selectors
from resources.models import Dataset, Job
from tests.factories import ProjectFactory, UserFactory


@pytest.fixture
def two_projects(db):
    person = UserFactory()
    cpu = GpuType.objects.get(slug="cpu")
    now = timezone.now()
    projects = [ProjectFactory(owner=person), ProjectFactory(owner=person)]
    for n, project in enumerate(projects):
        for i in range(7 + n * 5):
            Job.objects.create(project=project, name=f"job-{n}-{i}", type="training", gpu_type=cpu, gpu_count=1 + i % 3,
                               command="true", created_by=person, status=("finished", "queued", "failed")[i % 3],
                               started_at=now - dt.timedelta(minutes=i), ended_gpu_seconds=i * 1.5,
                               created_at=now - dt.timedelta(hours=i % 4))
            Dataset.objects.create(project=project, name=f"data-{n}-{i}", status=("ready", "uploading")[i % 2],
                                   size_bytes=10 ** i, file_count=i, created_by=person,
                                   created_at=now - dt.timedelta(days=i % 3))
    return projects


def test_job_pages_are_the_querysets_pages(two_projects):
    for project in two_projects:
        for status in (None, "finished", "queued", "running"):
            queryset = job_selectors._jobs(project=project, status=status).values(*job_selectors.LIST_FIELDS)
            bound = job_selectors._LIST.bind(project=project.pk, status=status)
            assert list(bound) == list(queryset)
            for number in (1, 2, 3):
                ours, theirs = page_of(bound, number, size=4), page_of(queryset, number, size=4)
                assert (ours.items, ours.number, ours.has_next) == (theirs.items, theirs.number, theirs.has_next)
    row = list(job_selectors._LIST.bind(project=two_projects[0].pk, status=None))[0]
    assert row["created_at"].tzinfo is not None and isinstance(row["ended_gpu_seconds"], float)  # converted


def test_dataset_pages_in_every_order_are_the_querysets_pages(two_projects):
    project = two_projects[1]
    for sort in resource_selectors.SORTS:
        for status in (None, "ready"):
            queryset = resource_selectors.resources_list(kind="datasets", project=project, status=status, sort=sort)
            expected = list(queryset.values(*resource_selectors.LIST_FIELDS)[5:10])
            page = resource_selectors.resources_page(kind="datasets", project=project, status=status, sort=sort,
                                                     number=2, size=5)
            assert page.items == expected, (sort, status)


def test_each_value_is_bound_where_the_orm_put_it(two_projects):
    """Ints, strings and UUIDs, one of them twice: the statement built with stand-ins answers for
    any values, as a fresh queryset would."""
    first, second = two_projects
    statement = Statement(lambda project, name, gpus: Job.objects.filter(project_id=project, gpu_count__gte=gpus)
                          .exclude(name=name).exclude(project_id=project, ended_gpu_seconds__lt=gpus)
                          .order_by("name").values("name", "gpu_count"))
    for project in (first, second):
        for name, gpus in (("job-0-1", 1), ("job-1-4", 2), ("nobody", 3)):
            rows = list(statement.bind(project=project.pk, name=name, gpus=gpus))
            expected = list(Job.objects.filter(project=project, gpu_count__gte=gpus).exclude(name=name)
                            .exclude(ended_gpu_seconds__lt=gpus).order_by("name").values("name", "gpu_count"))
            assert rows == expected and rows


def test_what_cannot_be_bound_is_refused_when_first_built(db):
    by_branch = Statement(lambda kind: Job.objects.filter(type="training" if kind == "x" else "inference")
                          .values("pk"))
    with pytest.raises(ValueError, match="kind: not a parameter"):
        list(by_branch.bind(kind="x"))
    sliced = Statement(lambda name: Job.objects.filter(name=name).values("pk")[:5])
    with pytest.raises(ValueError, match="unsliced"):
        list(sliced.bind(name="a"))
    derived = Statement(lambda gpus: Job.objects.filter(gpu_count__gte=gpus, ended_gpu_seconds__lt=gpus * 2)
                        .values("pk"))
    with pytest.raises(ValueError, match="changes with its values"):
        list(derived.bind(gpus=2))
    flag = Statement(lambda on: Job.objects.filter(ended_gpu_seconds__isnull=on).values("pk"))
    with pytest.raises(TypeError, match="bool"):
        list(flag.bind(on=True))


def test_the_pages_other_statements_give_their_querysets_rows(two_projects):
    """The dashboard's two lists, the member table, the pending invitations, the switcher's
    choices and a project's stored GPU types."""
    from compute.selectors import _STORED_TYPES
    from compute.services import project_gpu_types_refresh
    from projects import selectors as project_selectors
    from projects import services as project_services
    from tests.factories import add_member, make_node

    first, second = two_projects
    person, other = first.owner, UserFactory()
    for project, email in ((first, "zed@example.com"), (first, "amy@example.com"), (second, "bo@example.com")):
        add_member(project, UserFactory(email=email), jobs="read", datasets="all", models="none")
    add_member(first, other)
    for email in ("later@example.com", "early@example.com"):  # no account yet: invitations
        project_services.member_add_by_email(project=first, email=email, jobs="read", datasets="read",
                                             models="all", actor=person)
    make_node(gpu_type="a100")
    make_node(gpu_type="cpu")
    project_gpu_types_refresh(project=first, actor=None)
    for statement, values in (
        (project_selectors._MINE, {"user": person.pk}), (project_selectors._SHARED, {"user": other.pk}),
        (project_selectors._MEMBER_ROWS, {"project": first.pk}), (_STORED_TYPES, {"project": first.pk}),
        (project_selectors._PENDING, {"project": first.pk}), (project_selectors._CHOICES, {"user": other.pk}),
    ):
        rows = list(statement.bind(**values))
        assert rows == list(statement.build(**values)) and rows
    emails = [row["email"] for row in project_selectors.member_rows(project=first)[0:10]]
    assert emails == sorted(emails) and "zed@example.com" in emails and "bo@example.com" not in emails
    invitations = project_services.invitations_pending(project=first)
    assert [i.email for i in invitations] == ["early@example.com", "later@example.com"]
    assert invitations[0].access() == {"jobs": "read", "datasets": "read", "models": "all"}
    assert invitations[0] == project_selectors.pending_invitations(project=first).first()


def test_instances_are_the_querysets_with_left_out_fields_deferred(two_projects):
    """The keys section's statements give model instances: equal to the ORM's, their ciphertext
    deferred (read only if something asks)."""
    from projects import keys
    from projects.models import ProjectKey, ProjectSecret

    project = two_projects[0]
    keys.key_set(project=project, kind="kaggle", public={"username": "ada"}, secret="k" * 20, actor=project.owner)
    for name in ("ZED", "ALPHA"):
        keys.secret_set(project=project, name=name, value="v" * 12, actor=project.owner)
    stored = keys._KEYS.bind(project=project.pk).instances(ProjectKey)
    assert stored == list(ProjectKey.objects.filter(project=project))
    assert stored[0].public == {"username": "ada"} and "ciphertext" in stored[0].get_deferred_fields()
    secrets = keys.secrets_for_display(project=project)
    assert [s.name for s in secrets] == ["ALPHA", "ZED"]
    assert [(s.pk, s.last4, s.updated_at) for s in secrets] == list(
        ProjectSecret.objects.filter(project=project).order_by("name").values_list("pk", "last4", "updated_at"))
    assert secrets[0].ciphertext == ProjectSecret.objects.get(pk=secrets[0].pk).ciphertext  # loaded when asked
    assert keys.keys_for_display(project=two_projects[1])[0].key is None
