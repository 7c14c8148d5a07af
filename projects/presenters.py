"""What the project pages show per row, computed once in Python.

The member table shows 25 rows with three access selects and two forms each; written in the
template language those rows cost as much as the rest of the page (see bench/RESULTS.md). The
access badge and select are written here once; `{% access_badge %}` uses the same function.
"""

from __future__ import annotations

from functools import cache
from html import escape

from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from config.html import html_join, html_row
from config.links import linker, links
from projects.forms import MemberAddForm
from projects.models import RESOURCE_TYPES

_BADGES = {"all": ("ok", "All"), "read": ("grey", "Read-Only"), "none": ("bad", "None")}
_LEVELS = (("none", "None"), ("read", "Read-Only"), ("all", "All"))
_SELECTED = mark_safe(" selected")


_ACCESS_BADGES = {level: format_html('<span class="badge {}">{}</span>', css, label)
                  for level, (css, label) in _BADGES.items()}


def access_badge(level: str) -> SafeString:
    """One access level as a badge."""
    return _ACCESS_BADGES.get(level, _ACCESS_BADGES["none"])


# The options of an access select, one string per selected level (a table has 75 selects).
_OPTIONS = {
    level: format_html_join("", '<option value="{}"{}>{}</option>',
                            ((value, _SELECTED if value == level else "", label) for value, label in _LEVELS))
    for level, _ in _LEVELS
}


# The owner's select for one member's access to one resource type, submitted by `form`.
_SELECT = '<select name="{field}" form="{form}" aria-label="{label} access for {email}">{options}</select>'


_YOU = mark_safe(' <span class="badge grey">You</span>')
# An owner's row: the three selects (their cells are written with the e-mail escaped once), then
# the Update and Remove forms.
_SELECT_CELL = '<td>' + _SELECT + '</td>'
_OWNER_ROW = (
    '<tr id="member-{pk}"><td>{email}{you}</td>{cells}<td class="row-actions">'
    '<form id="{form}" method="post" action="{update}" hx-post="{update}" hx-target="#member-table" '
    'hx-swap="outerHTML" class="inline">{hidden}<button type="submit" class="outline">Update</button></form>'
    '<form method="post" action="{remove}" hx-post="{remove}" hx-target="#member-table" hx-swap="outerHTML" '
    'hx-confirm="Remove {email} from {project}?" class="inline">{hidden}'
    '<button type="submit" class="outline secondary">Remove</button></form></td></tr>'
)
_MEMBER_ROW = '<tr id="member-{pk}"><td>{email}{you}</td>{cells}</tr>'
_BADGE_CELLS = {(jobs, datasets, models): SafeString("".join(f"<td>{access_badge(level)}</td>"
                                                             for level in (jobs, datasets, models)))
                for jobs in _BADGES for datasets in _BADGES for models in _BADGES}


def member_rows(members, *, project, viewer, is_owner: bool, csrf_input: SafeString,
                page_number: int) -> list[dict]:
    """The member table's rows, each as its `<tr>` (as the admin's change list builds its rows),
    from `selectors.member_rows`: for the owner with the access selects and the Update/Remove
    forms, for a member with badges. In the template language a row is about 30 lookups, and the
    table has 25 rows: here each value is escaped once (`escape`, as `format_html` escapes) and
    written into the row's text; ids are ints and links are made of them."""
    hidden = html_row('{csrf}<input type="hidden" name="members_page" value="{number}">',
                      csrf=csrf_input, number=page_number)
    name = escape(project.name)
    rows = []
    update_url, remove_url = linker("projects:member-update", 2), linker("projects:member-remove", 2)
    for member in members:
        pk, email = int(member["pk"]), member["email"]
        escaped = escape(email)
        you = _YOU if member["user_id"] == viewer.pk else ""
        levels = tuple(member[rt] for rt in RESOURCE_TYPES)
        if is_owner:
            form = f"update-{pk}"
            cells = "".join(
                _SELECT_CELL.format(field=rt, form=form, label=rt.capitalize(), email=escaped,
                                    options=_OPTIONS.get(level, _OPTIONS["none"]))
                for rt, level in zip(RESOURCE_TYPES, levels, strict=True))
            html = _OWNER_ROW.format(
                pk=pk, email=escaped, you=you, cells=cells, form=form, hidden=hidden, project=name,
                update=escape(update_url(project.pk, pk)), remove=escape(remove_url(project.pk, pk)),
            )
        else:
            cells = _BADGE_CELLS[tuple(level if level in _BADGES else "none" for level in levels)]
            html = _MEMBER_ROW.format(pk=pk, email=escaped, you=you, cells=cells)
        rows.append({"pk": pk, "email": email, "html": SafeString(html)})
    return rows


_PAGER_LINK = ('<a href="{url}?members_page={number}#members" hx-get="{url}?members_page={number}" '
               'hx-target="#member-table" hx-swap="outerHTML">{label}</a>')


def member_pager(page, *, url: str) -> SafeString:
    """The member table's pager (htmx swaps the table; without JavaScript, a link), or nothing
    when the members fit on one page."""
    if not page.has_other_pages:
        return SafeString("")
    previous = (html_row(_PAGER_LINK, url=url, number=page.previous_page_number, label="← Previous")
                if page.has_previous else "")
    following = (html_row(_PAGER_LINK, url=url, number=page.next_page_number, label="Next →")
                 if page.has_next else "")
    return html_row('<nav class="pager" aria-label="Member pages">\n    {previous}\n'
                    '    <span class="muted small">Members {start}–{end}</span>\n    {following}\n  </nav>',
                    previous=previous, start=page.start_index, end=page.end_index, following=following)


_ACTIVE = mark_safe('<span class="badge ok">Active</span>')
_PERSONAL = mark_safe('<span class="badge">Personal</span> ')
_OFFERED = mark_safe('<span class="badge warn">Ownership offered</span> ')
_ONLY_YOU = mark_safe('<span class="muted">Only you</span>')
_MINE_ROW = (
    '<tr><td><a href="{url}">{name}</a></td><td>{members}</td><td class="muted small">{created}</td>'
    '<td class="row-actions">{badge}{switch}</td></tr>'
)
_SHARED_ROW = (
    '<tr><td><a href="{url}">{name}</a></td><td>{owner}</td>{badges}'
    '<td class="row-actions">{badge}{switch}</td></tr>'
)


def _day(moment, tz) -> str:
    """"Nov 29, 2026" in `tz`, the current time zone (the `date:"M j, Y"` filter)."""
    local = moment.astimezone(tz)
    return f"{local:%b} {local.day}, {local.year}"


def _switch(pk, active_pk) -> SafeString:
    """"Active", or the button that makes the project active (it submits the header's switch form)."""
    if pk == active_pk:
        return _ACTIVE
    return html_row('<button type="submit" form="switcher-form" name="project" value="{pk}" class="outline">'
                    "Make active</button>", pk=pk)


def dashboard_rows(projects, *, shared: bool, viewer, active_pk) -> list[SafeString]:
    """The dashboard's rows, each as its `<tr>` (see `member_rows`), from `selectors.dashboard`'s
    plain rows: mine with their member count, shared ones with the owner and my access per type."""
    rows = []
    tz, url_of = timezone.get_current_timezone(), linker("projects:detail")
    for project in projects:
        url, switch = url_of(project["pk"]), _switch(project["pk"], active_pk)
        if shared:
            badges = html_join(html_row("<td>{cell}</td>", cell=access_badge(project[rt]))
                               for rt in RESOURCE_TYPES)
            offered = _OFFERED if project["transfer_to_id"] == viewer.pk else ""
            rows.append(html_row(_SHARED_ROW, url=url, name=project["name"], owner=project["owner_email"],
                                    badges=badges, badge=offered, switch=switch))
        else:
            personal = project["is_personal"]
            rows.append(html_row(
                _MINE_ROW, url=url, name=project["name"],
                members=_ONLY_YOU if personal else project["member_count"],
                created=_day(project["created_at"], tz), badge=_PERSONAL if personal else "", switch=switch,
            ))
    return rows


# The project page's links by key, each filled from a URL resolved once per process.
_PAGE_LINKS = {
    "detail": "projects:detail", "delete": "projects:delete", "rename": "projects:rename",
    "leave": "projects:leave", "member_add": "projects:member-add", "audit": "projects:audit",
    "keys": "projects:keys", "transfer_offer": "projects:transfer-offer",
    "transfer_cancel": "projects:transfer-cancel", "transfer_respond": "projects:transfer-respond",
    "compute": "compute:project-settings",
}


def project_links(project) -> dict[str, str]:
    """The links of `project`'s page (`{% url %}` resolves its pattern anew on every use)."""
    return links(_PAGE_LINKS, project.pk)


_ERROR = '<small class="field-error">{error}</small>'


_BLOCK_ERROR = '<p class="field-error">{error}</p>'


def _errors(errors, template: str = _ERROR) -> SafeString:
    return html_join(html_row(template, error=error) for error in errors)


def field_errors(bound_field) -> SafeString:
    return _errors(bound_field.errors)


def owner_forms(project, *, rename=None, transfer=None, add=None) -> dict:
    """What the owner's rename, transfer and add-member forms show: the input a form brings back
    with its errors, or their defaults when there is no form (a plain view of the page). Read
    here, once, instead of a dozen lookups of forms that are not there."""
    return {
        "rename_value": (rename["name"].value() if rename else None) or project.name,
        "rename_invalid": bool(rename and rename["name"].errors),
        "rename_errors": _errors([*rename["name"].errors, *rename.non_field_errors()]) if rename else "",
        "transfer_value": (transfer["member"].value() if transfer else None) or "",
        "transfer_errors": _errors(transfer["member"].errors, _BLOCK_ERROR) if transfer else "",
        "add_email": (add["email"].value() if add else None) or "",
        "email_errors": field_errors(add["email"]) if add else "",
        "add_errors": _errors(add.non_field_errors()) if add else "",
        "access_fields": access_fields(add),
        "created": _day(project.created_at, timezone.get_current_timezone()),
    }


_ACCESS_FIELD = ('\n      <label>{label}\n        <select name="{name}">{options}</select>\n'
                 "        {errors}\n      </label>")


def access_fields(form=None) -> SafeString:
    """The add-member form's access selects, one label each, with the choice `form` holds and its
    errors; without a form, its defaults (Jobs All, Datasets and Models Read-Only)."""
    if form is None:
        return _default_access_fields()
    return html_join(
        html_row(_ACCESS_FIELD, label=form[rt].label, name=rt, errors=field_errors(form[rt]),
                 options=_OPTIONS.get(form[rt].value(), _OPTIONS["none"]))
        for rt in RESOURCE_TYPES
    )


@cache
def _default_access_fields() -> SafeString:
    return access_fields(MemberAddForm())


_INVITATION_ROW = (
    '<tr class="pending"><td>{email} <span class="badge warn">Pending</span><br>'
    '<span class="muted small">expires {expires}</span></td>{cells}'
    '<td class="row-actions"><form method="post" action="{revoke}" hx-post="{revoke}" '
    'hx-target="#member-table" hx-swap="outerHTML" class="inline">{csrf}'
    '<button type="submit" class="outline secondary">Revoke</button></form></td></tr>'
)


def invitation_rows(invitations, *, project, csrf_input: SafeString) -> list[SafeString]:
    """The owner's rows of pending invitations in the member table, with their Revoke forms."""
    tz, revoke_of = timezone.get_current_timezone(), linker("projects:invitation-revoke", 2)
    return [
        html_row(_INVITATION_ROW, email=invitation.email, expires=_day(invitation.expires_at, tz),
                 cells=_BADGE_CELLS[tuple(getattr(invitation, rt) for rt in RESOURCE_TYPES)],
                 revoke=revoke_of(project.pk, invitation.pk), csrf=csrf_input)
        for invitation in invitations
    ]


_FIELD = ('\n          <label for="{id}">{label}\n              {widget}\n            </label>\n'
          "            {errors}")


def labelled_fields(form) -> SafeString:
    """A key form's fields, each in its label with its errors after it (nine forms, 19 fields:
    in the template language a fifth of the keys section's time)."""
    return html_join(html_row(_FIELD, id=field.id_for_label, label=field.label, widget=str(field),
                              errors=field_errors(field))
                     for field in form)
