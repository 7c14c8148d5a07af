from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from accounts.reauth import require_recent_sign_in
from core.forms import apply_service_errors, error_text
from core.http import next_url
from core.paging import page_number, page_of
from projects import access, mfa, selectors, services
from projects.badges import access_badge
from projects.forms import (
    MemberAccessForm,
    MemberAddForm,
    ProjectCreateForm,
    ProjectDeleteForm,
    ProjectRenameForm,
    TransferOfferForm,
)
from projects.middleware import SESSION_KEY
from projects.models import RESOURCE_TYPES, Access, Invitation, Membership

AUDIT_PAGE_SIZE = 20
MEMBERS_PAGE_SIZE = 10
DASHBOARD_PAGE_SIZE = 10


def _safe_next(request: HttpRequest, project, fallback: str = "home") -> str:
    target = next_url(request, referer=True)
    return (target and _outside_object(target, request.user, project)) or reverse(fallback)


def _outside_object(target: str, user, project) -> str | None:
    """After a switch, a page about one object of the old project (e.g. /datasets/<id>/) would be
    a 404: go to the list of the same kind ("…-detail" -> "…-list") instead; and a page of a
    resource type the person may not read in the new project (its URL says `kind`) goes home."""
    path = urlsplit(target).path
    try:
        match = resolve(path)
    except Resolver404:
        return None
    kind = _kind_of(match)
    if kind and not access.can(user, project, kind, "read"):
        return None
    if not match.captured_kwargs or "project_id" in match.captured_kwargs:
        return target  # a list, or a page about a project itself (its id is in the URL)
    base = match.url_name.rsplit("-", 1)[0] if match.url_name else ""
    try:
        return reverse(f"{match.namespace}:{base}-list" if match.namespace else f"{base}-list")
    except NoReverseMatch:
        return None


def _kind_of(match) -> str | None:
    """The resource type a page is about: datasets/models say so in their URL's `kind`, jobs by
    their URL names ("resources:job-…")."""
    if match.extra_kwargs.get("kind"):
        return match.extra_kwargs["kind"]
    if match.namespace == "resources" and (match.url_name or "").startswith("job-"):
        return "jobs"
    return None


def _unreadable_kind(target: str | None, user, project) -> str | None:
    """The resource type of the page `target` if `user` may not read it in `project`."""
    try:
        kind = target and _kind_of(resolve(urlsplit(target).path))
    except Resolver404:
        return None
    return kind if kind and not access.can(user, project, kind, "read") else None


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return redirect("projects:list")


@login_required
@require_POST
def switch(request: HttpRequest) -> HttpResponse:
    """Make another project the active one (htmx: the page reloads; without JS: a redirect)."""
    project = access.project_for(request.user, request.POST.get("project"))
    if project.is_personal:
        request.session.pop(SESSION_KEY, None)
    else:
        request.session[SESSION_KEY] = str(project.pk)
    services.last_project_remember(user=request.user, project=project)
    messages.info(request, f"Active project: {project.name}.")
    unreadable = _unreadable_kind(next_url(request, referer=True), request.user, project)
    if unreadable:
        # Say why the person is not where they were: the type they were looking at is hidden here.
        messages.info(request, f"You have no access to {unreadable} in {project.name}, so here is "
                               "the project's page instead.")
        target = reverse("projects:detail", args=[project.pk])
    elif request.POST.get("stay"):
        # "Make this project active" on a job/dataset/model page: stay on that page.
        target = next_url(request) or reverse("home")
    else:
        target = _safe_next(request, project)
    if request.htmx:
        return HttpResponseClientRedirect(target)
    return redirect(target)


@login_required
@require_GET
def switcher_choices(request: HttpRequest) -> HttpResponse:
    """The switcher's choices, loaded when it is opened; with `q`, those whose name contains it
    (its search box, for people in many projects). The scope is the access rule: only projects
    the person may view."""
    query = request.GET.get("q", "").strip()[:100]
    choices, more = selectors.switcher_choices(user=request.user, query=query)
    return render(request, "projects/_switcher_choices.html",
                  {"switcher": {"choices": choices, "more": more}, "query": query})


# ---- dashboard -------------------------------------------------------------------------------


@login_required
@require_GET
def project_list(request: HttpRequest) -> HttpResponse:
    locked = mfa.locked_projects(user=request.user)  # owner-required two-factor: listed apart
    mine = page_of(selectors.projects_owned(user=request.user), request.GET.get("mine_page"),
                   size=DASHBOARD_PAGE_SIZE)
    shared = page_of(selectors.projects_shared(user=request.user, locked=[p.pk for p in locked]),
                     request.GET.get("shared_page"), size=DASHBOARD_PAGE_SIZE)
    for row in shared:
        row["badges"] = [access_badge(row[rt]) for rt in RESOURCE_TYPES]
    return render(request, "projects/project_list.html", {"locked": locked, "mine": mine, "shared": shared})


@login_required
@require_http_methods(["GET", "POST"])
def project_create(request: HttpRequest) -> HttpResponse:
    form = ProjectCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            project = services.project_create(
                owner=request.user,
                name=form.cleaned_data["name"],
                copy_personal_keys=form.cleaned_data["copy_personal_keys"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"Created {project.name}.")
            return redirect("projects:detail", project_id=project.pk)
    return render(request, "projects/project_form.html", {"form": form})


# ---- the project page ----------------------------------------------------------------------


def members_page(project, number):
    """One page of the project's member rows (the member table, and the two-factor panel beside it),
    read once per process for each `members_version` of the project (projects.receivers bumps it)."""
    return caches["fragments"].get_or_set(
        f"member-page:{project.pk}:{page_number(number)}",
        lambda: page_of(selectors.member_rows(project=project), number, size=MEMBERS_PAGE_SIZE),
        version=project.members_version)



def _detail_context(request, project, **overrides) -> dict:
    user = request.user
    is_owner = access.is_owner(user, project)
    context = {
        "project": project,
        "is_owner": is_owner,
        "my_access": access.access_summary(user, project),
        "members_page": [],
        "flash": "",
    }
    if project.is_personal:
        return context | overrides
    # The member table is paged (a project may have thousands of members); the page is kept
    # across htmx re-renders through `members_page`.
    page = members_page(project, request.GET.get("members_page") or request.POST.get("members_page"))
    for row in page:
        row["levels"] = [(rt, row[rt]) for rt in RESOURCE_TYPES]
        row["badges"] = [access_badge(row[rt]) for rt in RESOURCE_TYPES]
    context["members_page"] = page
    if is_owner:
        context["invitations"] = services.invitations_pending(project=project)
        context["access_levels"] = Access.choices
    elif project.transfer_to_id == user.pk:  # an offer to this person: what to know first
        context["offer_warnings"] = selectors.ownership_warnings(project=project, user=user)
    context |= overrides
    if is_owner:  # the owner's forms, bound when they come back with errors; empty, they are
        # built only if their cached fields are missing
        context["rename_bound"] = "rename_form" in context
        context.setdefault("rename_form", SimpleLazyObject(
            lambda: ProjectRenameForm(initial={"name": project.name}, auto_id="id_rename_%s")))
        context.setdefault("transfer_form", None)
        context["add_bound"] = "add_form" in context
        add_form = context.setdefault("add_form", SimpleLazyObject(MemberAddForm))
        context["add_access_fields"] = SimpleLazyObject(lambda: [add_form[rt] for rt in RESOURCE_TYPES])
    return context


def _audit_page(request, project):
    number = request.GET.get("audit_page")
    return page_of(selectors.audit_events(project=project), number, size=AUDIT_PAGE_SIZE)


def _member_table(request, project, status=200, **overrides) -> HttpResponse:
    return render(
        request,
        "projects/project_detail.html#member-table",
        _detail_context(request, project, **overrides),
        status=status,
    )


@login_required
@require_GET
@vary_on_headers("HX-Request")
def project_detail(request: HttpRequest, project_id) -> HttpResponse:
    # The header's active project (the session's choice, else Personal) and this page's: one query
    # reads both rows; when they are the same project, one row serves both.
    access.preload(request.user, [project_id, request.session.get(SESSION_KEY)])
    active = request.project
    project = active if active and active.pk == project_id else access.project_for(request.user, project_id)
    template = "projects/project_detail.html"
    if request.htmx and "members_page" in request.GET:
        template += "#member-table"  # the member table's pager
    return render(request, template, _detail_context(request, project))


@login_required
@require_GET
@vary_on_headers("HX-Request")
def project_audit(request: HttpRequest, project_id) -> HttpResponse:
    project = access.project_for(request.user, project_id, "project", "administer")
    template = "projects/project_detail.html#audit-log" if request.htmx else "projects/project_audit.html"
    return render(request, template, {"project": project, "audit_page": _audit_page(request, project)})


@login_required
@require_POST
def project_rename(request: HttpRequest, project_id) -> HttpResponse:
    project = access.project_for(request.user, project_id, "project", "administer")
    form = ProjectRenameForm(request.POST, auto_id="id_rename_%s")
    if form.is_valid():
        try:
            services.project_rename(project=project, name=form.cleaned_data["name"], actor=request.user)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"Renamed to {project.name}.")
            return redirect("projects:detail", project_id=project.pk)
    return render(
        request, "projects/project_detail.html", _detail_context(request, project, rename_form=form)
    )


@login_required
@require_http_methods(["GET", "POST"])
def project_delete(request: HttpRequest, project_id) -> HttpResponse:
    project = access.project_for(request.user, project_id, "project", "administer")
    require_recent_sign_in(request)
    form = ProjectDeleteForm(request.POST or None, project=project)
    if project.is_personal:
        form.add_error(None, "The Personal project cannot be removed.")
    elif request.method == "POST" and form.is_valid():
        try:
            services.project_delete(project=project, actor=request.user)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"Deleted {project.name}.")
            return redirect("projects:list")
    return render(request, "projects/project_confirm_delete.html", {"project": project, "form": form})


# ---- members ----------------------------------------------------------------------------------


def _after_member_change(request, project, message: str) -> HttpResponse:
    if request.htmx:
        project.refresh_from_db(fields=["members_version"])  # the change bumped it: show the new table
        return _member_table(request, project, flash=message)
    messages.success(request, message)
    return redirect(reverse("projects:detail", kwargs={"project_id": project.pk}) + "#members")


def _member_error(request, project, status=200, **forms) -> HttpResponse:
    if request.htmx:
        return _member_table(request, project, status=status, **forms)
    return render(
        request, "projects/project_detail.html", _detail_context(request, project, **forms), status=status
    )


@login_required
@require_POST
@vary_on_headers("HX-Request")
def member_add(request: HttpRequest, project_id) -> HttpResponse:
    project = access.project_for(request.user, project_id, "project", "administer")
    form = MemberAddForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            added = services.member_add_by_email(
                project=project, email=data["email"], jobs=data["jobs"],
                datasets=data["datasets"], models=data["models"], actor=request.user,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            if isinstance(added, Invitation):
                message = f"No account uses {added.email} yet: an invitation was sent."
            else:
                message = f"Added {added.user.email}."
            return _after_member_change(request, project, message)
    return _member_error(request, project, add_form=form)


def _membership(project, membership_id) -> Membership:
    return get_object_or_404(
        Membership.objects.filter(project=project).select_related("user"), pk=membership_id
    )


@login_required
@require_POST
@vary_on_headers("HX-Request")
def member_update(request: HttpRequest, project_id, membership_id) -> HttpResponse:
    project = access.project_for(request.user, project_id, "project", "administer")
    membership = _membership(project, membership_id)
    # Every row's selects belong to the table's one form: this row's are named by its id.
    form = MemberAccessForm(request.POST, prefix=str(membership.pk))
    if form.is_valid():
        services.membership_set(project=project, user=membership.user, actor=request.user,
                                **form.cleaned_data)
        return _after_member_change(request, project, f"Updated {membership.user.email}.")
    return _member_error(request, project, member_form=form, member_email=membership.user.email)


@login_required
@require_POST
@vary_on_headers("HX-Request")
def member_remove(request: HttpRequest, project_id, membership_id) -> HttpResponse:
    project = access.project_for(request.user, project_id, "project", "administer")
    membership = _membership(project, membership_id)
    services.membership_remove(project=project, user=membership.user, actor=request.user)
    return _after_member_change(request, project, f"Removed {membership.user.email}.")


@login_required
@require_POST
@vary_on_headers("HX-Request")
def invitation_revoke(request: HttpRequest, project_id, invitation_id) -> HttpResponse:
    project = access.project_for(request.user, project_id, "project", "administer")
    invitation = get_object_or_404(
        Invitation.objects.filter(project=project, status=Invitation.Status.PENDING), pk=invitation_id
    )
    services.invitation_revoke(invitation=invitation, actor=request.user)
    return _after_member_change(request, project, f"Revoked the invitation for {invitation.email}.")


@login_required
@require_POST
def project_leave(request: HttpRequest, project_id) -> HttpResponse:
    project = access.project_for(request.user, project_id)
    try:
        services.project_leave(project=project, user=request.user)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
        return redirect("projects:detail", project_id=project.pk)
    messages.success(request, f"You left {project.name}.")
    if request.htmx:
        return HttpResponseClientRedirect(reverse("projects:list"))
    return redirect("projects:list")


# ---- ownership transfer ------------------------------------------------------------------------


@login_required
@require_POST
def transfer_offer(request: HttpRequest, project_id) -> HttpResponse:
    project = access.project_for(request.user, project_id, "project", "administer")
    form = TransferOfferForm(request.POST, project=project)
    if form.is_valid():
        try:
            services.transfer_offer(project=project, to_user=form.cleaned_data["member"], actor=request.user)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"Offered ownership to {form.cleaned_data['member'].email}.")
            return redirect("projects:detail", project_id=project.pk)
    return render(
        request, "projects/project_detail.html", _detail_context(request, project, transfer_form=form)
    )


@login_required
@require_POST
def transfer_cancel(request: HttpRequest, project_id) -> HttpResponse:
    project = access.project_for(request.user, project_id, "project", "administer")
    try:
        services.transfer_cancel(project=project, actor=request.user)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, "Withdrew the ownership offer.")
    return redirect("projects:detail", project_id=project.pk)


@login_required
@require_POST
def transfer_respond(request: HttpRequest, project_id) -> HttpResponse:
    project = access.project_for(request.user, project_id)
    accept = request.POST.get("decision") == "accept"
    if accept and not request.POST.get("confirmed") and project.transfer_to_id == request.user.pk:
        # Warn first (e.g. "only owned compute" and no node of theirs); accepting again confirms.
        warnings = selectors.ownership_warnings(project=project, user=request.user)
        if warnings:
            template = "projects/project_detail.html#ownership-offer" if request.htmx else \
                "projects/transfer_confirm.html"
            return render(request, template, {"project": project, "offer_warnings": warnings})
    try:
        with transaction.atomic():
            services.transfer_respond(project=project, user=request.user, accept=accept)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(
            request, f"You now own {project.name}." if accept else "You declined the ownership offer."
        )
    if request.htmx:  # the whole page changes (owner's panels): load it again
        return HttpResponseClientRedirect(reverse("projects:detail", kwargs={"project_id": project.pk}))
    return redirect("projects:detail", project_id=project.pk)
