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
