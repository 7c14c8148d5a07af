import pytest
from django.urls import reverse

from tests.factories import ProjectFactory, add_member

pytestmark = pytest.mark.django_db


def test_home_redirects_anonymous_visitor_to_login(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_home_shows_the_signed_in_persons_projects(client, owner, outsider):
    shared = ProjectFactory(name="Shared Thing")
    add_member(shared, owner)
    ProjectFactory(name="Someone Else's")
    client.force_login(owner)
    response = client.get(reverse("home"), follow=True)
    assert response.redirect_chain == [(reverse("projects:list"), 302)]
    page = response.content.decode()
    assert "Personal" in page
    assert "Shared Thing" in page
    assert "Someone Else&#x27;s" not in page and "Someone Else's" not in page


def test_login_page_renders_with_product_look(client):
    page = client.get(reverse("account_login"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Trainshed" in html
    assert "/static/vendor/pico/pico.min.css" in html
    assert "htmx" in html
    assert "username" not in html.lower()


def test_whoami_names_the_signed_in_person(client, owner):
    client.force_login(owner)
    assert "Signed in as owner@example.com." in client.get(reverse("accounts:whoami")).content.decode()
