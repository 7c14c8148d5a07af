"""Names people can tell apart: one owner's projects never share a name (case-insensitive), in
the database too, with a field error naming `name` from the form and the API; existing duplicates
are suffixed by the migration; where projects of different owners share a name, the owner is shown
beside it (switcher, billing, the API-key picker)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from accounts.api_keys import api_key_create
from billing import services as billing_services
from billing.models import BillingAccount
from projects import services
from projects.models import Project
from tests.factories import ProjectFactory, UserFactory, add_member


def test_the_database_refuses_a_second_name_of_one_owner_in_any_case(owner, project):
    with pytest.raises(IntegrityError), transaction.atomic():
        Project.objects.create(owner=owner, name="VISION research")
    assert Project.objects.create(owner=UserFactory(), name="Vision Research")  # another owner may


def test_the_create_form_names_the_field(client, owner, project):
    client.force_login(owner)
    response = client.post(reverse("projects:create"), {"name": "vision RESEARCH"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "You already have a project named “Vision Research”." in page
    assert response.context["form"].errors["name"]
    assert Project.objects.filter(owner=owner, is_personal=False).count() == 1


def test_the_api_names_the_field(client, owner, project):
    _key, raw = api_key_create(user=owner, name="t")
    response = client.post("/api/v1/projects", {"name": "Vision Research"}, content_type="application/json",
                           headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code in (400, 422)
    body = response.json()
    assert body.get("field") == "name" or "name" in body["detail"]
    assert "already have a project named" in body["detail"]


def test_accepting_a_project_named_like_one_of_yours_is_refused(owner, project, member_all):
    services.project_create(owner=member_all, name="vision research")
    services.transfer_offer(project=project, to_user=member_all, actor=owner)
    with pytest.raises(ValidationError) as refused:
        services.transfer_respond(project=project, user=member_all, accept=True)
    assert "rename one of them" in refused.value.message_dict["name"][0]
    project.refresh_from_db()
    assert project.owner == owner


@pytest.mark.django_db(transaction=True)
def test_the_migration_suffixes_existing_duplicates():
    before, after = [("projects", "0006_project_require_two_factor")], [("projects", "0007_links_names_last_project")]
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(before)
        apps = executor.loader.project_state(before).apps
        User, Project = apps.get_model("accounts", "User"), apps.get_model("projects", "Project")
        one = User.objects.create(email="one@example.com")
        two = User.objects.create(email="two@example.com")
        rows = [Project.objects.create(owner=one, name=n) for n in ("Team", "team", "TEAM", "Team (2)")]
        theirs = Project.objects.create(owner=two, name="Team")

        executor = MigrationExecutor(connection)
        executor.migrate(after)
        Project = executor.loader.project_state(after).apps.get_model("projects", "Project")
        names = [Project.objects.get(pk=p.pk).name for p in rows]
        assert names == ["Team", "team (2)", "TEAM (3)", "Team (2) (2)"]
        assert Project.objects.get(pk=theirs.pk).name == "Team"
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.fixture
def two_teams(db):
    """Two owners' projects both called "Team", shared with one person."""
    ann, bob = UserFactory(email="ann@example.com"), UserFactory(email="bob@example.com")
    person = UserFactory(email="person@example.com")
    teams = [ProjectFactory(owner=ann, name="Team"), ProjectFactory(owner=bob, name="Team")]
    for team in teams:
        add_member(team, person, jobs="read", datasets="read", models="read")
    return person, teams


def test_the_switcher_shows_whose_project(client, two_teams):
    person, _ = two_teams
    client.force_login(person)
    choices = client.get(reverse("projects:switcher")).content.decode()
    assert "Team <span class=\"muted small\">· ann@example.com" in choices
    assert "Team <span class=\"muted small\">· bob@example.com" in choices


def test_the_api_key_picker_shows_whose_project(client, two_teams):
    person, _ = two_teams
    client.force_login(person)
    page = client.get(reverse("accounts:api-keys")).content.decode()
    assert ">Team · ann@example.com</option>" in page and ">Team · bob@example.com</option>" in page


def company_charged_by_two_teams(*, also_member=None):
    """A company billing account that ann and bob send charges to; each has a project "Team" with
    a charge (and `also_member` reads both). Returns the company account's owner."""
    company_owner = UserFactory(email="company@example.com")
    company = BillingAccount.objects.get(owner=company_owner)
    for email in ("ann@example.com", "bob@example.com"):
        person = UserFactory(email=email)
        company.allowed_users.add(person)
        BillingAccount.objects.filter(owner=person).update(charge_to=company)
        team = ProjectFactory(owner=person, name="Team")
        if also_member is not None:
            add_member(team, also_member, jobs="read", datasets="read", models="read")
        end = timezone.now()
        billing_services.charge_record(
            project=team, kind="compute", resource="job:x", resource_name="train", quantity=Decimal("1"),
            unit="gpu_hour", unit_price=Decimal("1"), amount=Decimal("1.00"),
            period_start=end - timedelta(minutes=1), period_end=end, created_by=person, key=f"k-{email}")
    return company_owner


def test_billing_shows_whose_project_when_charges_come_from_others(client, owner):
    company_owner = company_charged_by_two_teams()
    client.force_login(company_owner)
    page = client.get(reverse("billing:overview")).content.decode()
    assert 'Team <span class="muted small">· ann@example.com' in page
    assert 'Team <span class="muted small">· bob@example.com' in page
