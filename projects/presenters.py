"""What the project pages show per row, computed once in Python.

The member table shows 25 rows with three access selects and two forms each; written in the
template language those rows cost as much as the rest of the page (see bench/RESULTS.md). The
access badge and select are written here once; `{% access_badge %}` uses the same function.
"""

from __future__ import annotations

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from config.links import link
from projects.models import RESOURCE_TYPES

_BADGES = {"all": ("ok", "All"), "read": ("grey", "Read-Only"), "none": ("bad", "None")}
_LEVELS = (("none", "None"), ("read", "Read-Only"), ("all", "All"))
_SELECTED = mark_safe(" selected")


def access_badge(level: str) -> SafeString:
    """One access level as a badge."""
    css, label = _BADGES.get(level, _BADGES["none"])
    return format_html('<span class="badge {}">{}</span>', css, label)


# The options of an access select, one string per selected level (a table has 75 selects).
_OPTIONS = {
    level: format_html_join("", '<option value="{}"{}>{}</option>',
                            ((value, _SELECTED if value == level else "", label) for value, label in _LEVELS))
    for level, _ in _LEVELS
}


def access_select(field: str, level: str, *, form: str, email: str) -> SafeString:
    """The owner's select for one member's access to one resource type, submitted by `form`."""
    return format_html('<select name="{}" form="{}" aria-label="{} access for {}">{}</select>',
                       field, form, field.capitalize(), email, _OPTIONS.get(level, _OPTIONS["none"]))


_YOU = mark_safe(' <span class="badge grey">You</span>')
_OWNER_ROW = (
    '<tr id="member-{pk}"><td>{email}{you}</td>{cells}<td class="row-actions">'
    '<form id="{form}" method="post" action="{update}" hx-post="{update}" hx-target="#member-table" '
    'hx-swap="outerHTML" class="inline">{hidden}<button type="submit" class="outline">Update</button></form>'
    '<form method="post" action="{remove}" hx-post="{remove}" hx-target="#member-table" hx-swap="outerHTML" '
    'hx-confirm="Remove {email} from {project}?" class="inline">{hidden}'
    '<button type="submit" class="outline secondary">Remove</button></form></td></tr>'
)
_MEMBER_ROW = '<tr id="member-{pk}"><td>{email}{you}</td>{cells}</tr>'


def member_rows(members, *, project, viewer, is_owner: bool, csrf_token: str, page_number: int) -> list[dict]:
    """The member table's rows, each as its `<tr>` (as the admin's change list builds its rows):
    for the owner with the access selects and the Update/Remove forms, for a member with badges.
    In the template language a row is about 30 lookups, and the table has 25 rows."""
    hidden = format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
                         '<input type="hidden" name="members_page" value="{}">', csrf_token, page_number)
    rows = []
    for membership in members:
        email = membership.user.email
        you = _YOU if membership.user_id == viewer.pk else ""
        if is_owner:
            form = f"update-{membership.pk}"
            cells = format_html_join("", "<td>{}</td>", (
                (access_select(rt, getattr(membership, rt), form=form, email=email),)
                for rt in RESOURCE_TYPES))
            html = format_html(
                _OWNER_ROW, pk=membership.pk, email=email, you=you, cells=cells, form=form, hidden=hidden,
                update=link("projects:member-update", project.pk, membership.pk),
                remove=link("projects:member-remove", project.pk, membership.pk), project=project.name,
            )
        else:
            cells = format_html_join("", "<td>{}</td>", ((access_badge(getattr(membership, rt)),)
                                                         for rt in RESOURCE_TYPES))
            html = format_html(_MEMBER_ROW, pk=membership.pk, email=email, you=you, cells=cells)
        rows.append({"pk": membership.pk, "email": email, "html": html})
    return rows


def dashboard_rows(projects, *, shared: bool) -> list[dict]:
    """The dashboard's rows, from `selectors.dashboard`'s plain rows: the project's link, and for
    shared ones the access badges per type."""
    rows = []
    for project in projects:
        row = {**project, "url": link("projects:detail", project["pk"])}
        if shared:
            row["badges"] = [access_badge(project[rt]) for rt in RESOURCE_TYPES]
        rows.append(row)
    return rows
