"""config.html: the fast row builder escapes exactly as format_html does."""

import uuid

import pytest
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy

from config.html import html_join, html_row

pytestmark = pytest.mark.django_db

NASTY = ['<script>alert("x")</script>', "o'hara & sons", 'a"b', "plain", "", "—", "&amp;"]


@pytest.mark.parametrize("value", [*NASTY, 42, 3.5, uuid.UUID(int=7), mark_safe("<b>safe</b>")])
def test_html_row_escapes_like_format_html(value):
    template = '<td title="{v}">{v}</td>'
    assert html_row(template, v=value) == format_html(template, v=value)
    assert isinstance(html_row(template, v=value), SafeString)


def test_html_row_refuses_lazy_strings_and_join_refuses_unsafe_parts():
    with pytest.raises(TypeError):
        html_row("{v}", v=gettext_lazy("Name"))
    assert html_join([html_row("<i>{v}</i>", v="<x>"), mark_safe("<br>")]) == "<i>&lt;x&gt;</i><br>"
    with pytest.raises(TypeError):
        html_join(["<script>"])


# ---- the rest of what list rows are built from ------------------------------------------------------

SIZES = [0, 1, 2, 999, 1023, 1024, 1025, 1536, 10_239, 10_240, 1_048_575, 1_048_576, 123_456_789,
         (1 << 30) - 1, 1 << 30, 5 * (1 << 40) + 17, 3 * (1 << 50), 1 << 60, -1, -2048]


@pytest.mark.parametrize("size", SIZES)
def test_size_label_is_filesizeformat(size):
    from django.template.defaultfilters import filesizeformat

    from resources.presenters import size_label

    assert size_label(size) == filesizeformat(size)


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"])
def test_row_times_are_localtime_and_strftime(zone):
    import datetime as dt

    from django.utils import timezone

    from resources.presenters import _when

    with timezone.override(zone):
        tz = timezone.get_current_timezone()
        for moment in (dt.datetime(2026, 7, 1, 23, 59, 59, 123456, tzinfo=dt.UTC),
                       dt.datetime(2026, 1, 31, 0, 0, tzinfo=dt.UTC)):
            local = timezone.localtime(moment)
            assert _when(moment, tz) == (local.isoformat(), local.strftime("%Y-%m-%d %H:%M"),
                                         local.strftime("%Y-%m-%d %H:%M:%S %Z"))


@pytest.mark.parametrize(("name", "ids"), [
    ("resources:job-detail", [uuid.UUID(int=5)]),
    ("projects:detail", [uuid.uuid4()]),
    ("projects:member-update", [uuid.uuid4(), 12]),
    ("projects:member-remove", [uuid.uuid4(), 7]),
    ("projects:key-set", [uuid.uuid4(), "aws"]),
    ("projects:key-remove", [uuid.uuid4(), "hugging_face-2"]),
    ("projects:secret-remove", [uuid.uuid4(), "WANDB_API_KEY"]),
    ("projects:secret-set", [uuid.uuid4()]),
    ("projects:create", []),
])
def test_links_are_reverse(name, ids):
    from django.urls import reverse

    from config.links import link, linker, links

    assert link(name, *ids) == reverse(name, args=ids)
    assert linker(name, len(ids))(*ids) == reverse(name, args=ids)
    assert links({"it": name, "again": name}, *ids) == {"it": reverse(name, args=ids), "again": reverse(name, args=ids)}
