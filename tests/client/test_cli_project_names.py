"""`trainshed configure` tells projects of different owners apart by their owner, and asks again
when a typed name is ambiguous; `project create` with a name the person already has names the
field. Against a live server over real HTTP."""

import json

import pytest
from click.testing import CliRunner
from trainshed.cli import main

from accounts.api_keys import api_key_create
from tests.client.test_client_live import env  # noqa: F401 (the same config-dir fixture)
from tests.factories import ProjectFactory, UserFactory, add_member

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def person(env, live_server):  # noqa: F811 (env: the imported fixture)
    user = UserFactory(email="person@example.com")
    _key, raw = api_key_create(user=user, name="cli")
    env.parent.mkdir(parents=True)
    env.write_text(json.dumps({"api_url": live_server.url, "api_key": raw}))
    user.config = env
    return user


def run(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def test_configure_shows_owners_and_asks_again_for_an_ambiguous_name(person):
    ann = ProjectFactory(owner=UserFactory(email="ann@example.com"), name="Team")
    bob = ProjectFactory(owner=UserFactory(email="bob@example.com"), name="Team")
    solo = ProjectFactory(owner=person, name="Solo")
    for team in (ann, bob):
        add_member(team, person, jobs="read", datasets="read", models="read")

    result = run("configure", input="Team\nTeam (bob@example.com)\n")

    assert result.exit_code == 0, result.output
    assert "Team (ann@example.com)" in result.output and "Team (bob@example.com)" in result.output
    assert "Solo," in result.output and "Solo (" not in result.output  # a unique name needs no owner
    assert ("More than one project is called 'Team': type one of Team (ann@example.com), "
            "Team (bob@example.com) (or its id).") in result.output
    assert json.loads(person.config.read_text())["project"] == str(bob.pk)
    assert f"Active project: Team (bob@example.com) ({bob.pk})" in result.output

    again = run("configure", input=f"{solo.pk}\n")
    assert "Current Active Project: Team (bob@example.com)" in again.output
    assert json.loads(person.config.read_text())["project"] == str(solo.pk)


def test_project_create_with_a_name_you_have_names_the_field(person):
    ProjectFactory(owner=person, name="Vision")
    result = CliRunner().invoke(main, ["project", "create", "VISION"])
    assert result.exit_code != 0
    assert "Error: name: You already have a project named “Vision”." in result.output
