"""Accepting ownership of an owned-compute-only project when the new owner has no online node of
their own: the offer says so, and accepting asks to confirm first (htmx and plain forms); with a
node of their own there is nothing to warn about."""

import pytest
from django.urls import reverse

from projects.models import Project
from projects.services import project_settings_update, transfer_offer
from tests.factories import make_node

WARNING = "you have no online node of your own"


@pytest.fixture
def offered(project, owner, member_all):
    project_settings_update(project=project, actor=owner, owned_compute_only=True)
    transfer_offer(project=project, to_user=member_all, actor=owner)
    return project


def _respond(client, project, **data):
    return client.post(reverse("projects:transfer-respond", args=[project.pk]), data,
                       headers={"HX-Request": "true"})


def test_the_offer_warns_and_accepting_asks_to_confirm(client, offered, member_all):
    client.force_login(member_all)
    page = client.get(reverse("projects:detail", args=[offered.pk])).content.decode()
    assert WARNING in page and "Accept anyway" in page

    first = _respond(client, offered, decision="accept")

    assert first.status_code == 200 and WARNING in first.content.decode()
    assert 'name="confirmed" value="1"' in first.content.decode()
    assert Project.objects.get(pk=offered.pk).owner != member_all  # not accepted yet

    confirmed = _respond(client, offered, decision="accept", confirmed="1")
    assert confirmed.status_code == 200 and confirmed["HX-Redirect"] == reverse("projects:detail",
                                                                                args=[offered.pk])
    assert Project.objects.get(pk=offered.pk).owner == member_all


def test_without_javascript_a_confirm_page(client, offered, member_all):
    client.force_login(member_all)
    response = client.post(reverse("projects:transfer-respond", args=[offered.pk]), {"decision": "accept"})
    html = response.content.decode()
    assert response.status_code == 200 and "Accept ownership of Vision Research?" in html and WARNING in html
    assert Project.objects.get(pk=offered.pk).owner != member_all


def test_a_new_owner_with_an_online_node_is_not_warned(client, offered, member_all):
    make_node(owner=member_all, gpu_type="cpu", gpus=1)
    client.force_login(member_all)
    assert WARNING not in client.get(reverse("projects:detail", args=[offered.pk])).content.decode()

    response = client.post(reverse("projects:transfer-respond", args=[offered.pk]), {"decision": "accept"})

    assert response.status_code == 302
    assert Project.objects.get(pk=offered.pk).owner == member_all


def test_declining_needs_no_confirmation(client, offered, member_all, owner):
    client.force_login(member_all)
    _respond(client, offered, decision="decline")
    project = Project.objects.get(pk=offered.pk)
    assert project.owner == owner and project.transfer_to is None
