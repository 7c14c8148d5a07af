"""core.http.next_url: a posted `next` (or the referer) is followed only when it is this site's."""

import pytest
from django.test import RequestFactory

from core.http import next_url

# The suite's session fixtures seed the test database, so even these tests need it to exist.
pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("posted", "expected"), [
    ("/datasets/", "/datasets/"),
    ("http://testserver/models/", "http://testserver/models/"),
    ("https://evil.example/", None),
    ("//evil.example/", None),
    ("javascript:alert(1)", None),
    ("", None),
])
def test_next_url_follows_only_this_sites_urls(posted, expected):
    request = RequestFactory().post("/switch/", {"next": posted})
    assert next_url(request) == expected


def test_the_referer_counts_only_when_asked_for():
    request = RequestFactory().post("/switch/", HTTP_REFERER="http://testserver/jobs/")
    assert next_url(request) is None
    assert next_url(request, referer=True) == "http://testserver/jobs/"
    outside = RequestFactory().post("/switch/", HTTP_REFERER="https://evil.example/jobs/")
    assert next_url(outside, referer=True) is None
