"""What the project pages show per member, computed once in Python.

The member table shows 50 rows with three access selects and two forms each; written in the
template language those rows cost as much as the whole rest of the page several times over
(see bench/RESULTS.md). The access badge and select are written here once; `{% access_badge %}`
uses the same function.
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


def access_select(field: str, level: str, *, form: str, email: str) -> SafeString:
    """The owner's select for one member's access to one resource type, submitted by `form`."""
    choices = ((value, _SELECTED if value == level else "", label) for value, label in _LEVELS)
    options = format_html_join("", '<option value="{}"{}>{}</option>', choices)
    return format_html('<select name="{}" form="{}" aria-label="{} access for {}">{}</select>',
                       field, form, field.capitalize(), email, options)


def member_rows(members, *, project, viewer, is_owner: bool) -> list[dict]:
    """The member table's rows: for the owner with selects and the update/remove links, for a
    member with badges."""
    rows = []
    for membership in members:
        email = membership.user.email
        row = {"pk": membership.pk, "email": email, "is_me": membership.user_id == viewer.pk}
        if is_owner:
            form = f"update-{membership.pk}"
            row.update(
                form=form,
                cells=[access_select(rt, getattr(membership, rt), form=form, email=email)
                       for rt in RESOURCE_TYPES],
                update_url=link("projects:member-update", project.pk, membership.pk),
                remove_url=link("projects:member-remove", project.pk, membership.pk),
            )
        else:
            row["cells"] = [access_badge(getattr(membership, f)) for f in RESOURCE_TYPES]
        rows.append(row)
    return rows
