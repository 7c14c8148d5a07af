"""Third-party keys and secrets pages (owner only).

Every view: signed in, POST parameters hidden from error reports, then `access.project_for(...,
"secrets")`, which answers 404 to everyone but the owner, whatever the method. Only then the
method is checked, so a member cannot tell these URLs from missing ones.
"""

from __future__ import annotations

from functools import partial

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.views.debug import SafeExceptionReporterFilter
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.vary import vary_on_headers

from accounts.reauth import require_recent_sign_in
from core.http import next_url as safe_next
from projects import access, keys
from projects.forms_keys import KeyForm, SecretForm
from projects.models import Project

SECTION = "projects/_keys_section.html#keys-section"


class AlwaysSafeFilter(SafeExceptionReporterFilter):
    """Django filters error reports only when DEBUG is off; these views hold secrets, so their
    debug pages (development) are filtered too."""

    def is_active(self, request):
        return True


def _filtered_reports(view):
    """Mark the request so any error page or report of `view` hides POST data and locals."""
    from functools import wraps

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        request.exception_reporter_filter = AlwaysSafeFilter()
        return view(request, *args, **kwargs)

    return wrapper


def section_context(
    *, request: HttpRequest, project: Project, key_form: KeyForm | None = None,
    secret_form: SecretForm | None = None, notice: str = "", next_url: str = "",
) -> dict:
    """What `_keys_section.html` shows: one row per key type (with its form), the secrets and
    the form to add one. Call only after `access.require(..., "secrets")`."""
    rows = []
    for row in keys.keys_for_display(project=project):
        form = key_form if key_form is not None and key_form.spec.kind == row.spec.kind else None
        is_open = form is not None and form.is_bound
        if form is None:  # an empty form, its initial values the stored key's public ones; built
            # only if its cached fields (keyed by the key's version) are missing
            form = SimpleLazyObject(partial(KeyForm, spec=row.spec, is_set=row.key is not None,
                                            initial=dict(row.key.public or {}) if row.key else {}))
        rows.append({"row": row, "form": form, "open": is_open})
    secret_open = secret_form is not None and secret_form.is_bound
    return {
        "project": project,
        "key_rows": rows,
        "secrets": keys.secrets_for_display(project=project),
        "secret_form": secret_form if secret_open else SimpleLazyObject(SecretForm),
        "secret_form_open": secret_open,
        "notice": notice,
        "next_url": next_url or request.get_full_path(),
        "keys_ready": True,
    }


def _next(request: HttpRequest, project: Project) -> str:
    return safe_next(request) or reverse("projects:keys", kwargs={"project_id": project.pk})


def _respond(request: HttpRequest, project: Project, *, ok: bool, notice: str = "",
             **forms) -> HttpResponse:
    """htmx: the re-rendered section. Plain form: success → redirect back; errors → the page."""
    next_url = _next(request, project)
    if ok and not request.htmx:
        messages.success(request, notice)
        return redirect(next_url)
    ctx = section_context(request=request, project=project, notice=notice if ok else "",
                          next_url=next_url, **forms)
    template = SECTION if request.htmx else "projects/keys.html"
    return render(request, template, {"ks": ctx, "project": project},
                  status=200 if ok or request.htmx else 400)


def _post_only(request: HttpRequest) -> HttpResponse | None:
    return None if request.method == "POST" else HttpResponseNotAllowed(["POST"])


@login_required
@_filtered_reports
@sensitive_post_parameters()
@vary_on_headers("HX-Request")
def keys_page(request: HttpRequest, project_id) -> HttpResponse:
    """The keys and secrets of one project: a page of its own, or (htmx GET) just the section."""
    project = access.project_for(request.user, project_id, "secrets")
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    # htmx: the section, loaded into the project page; its forms come back to that page.
    next_url = (request.htmx.current_url_abs_path or "") if request.htmx else ""
    ctx = section_context(request=request, project=project, next_url=next_url)
    return render(request, SECTION if request.htmx else "projects/keys.html",
                  {"ks": ctx, "project": project})


@login_required
@_filtered_reports
@sensitive_post_parameters()
@sensitive_variables()
@vary_on_headers("HX-Request")
def key_set(request: HttpRequest, project_id, kind: str) -> HttpResponse:
    project = access.project_for(request.user, project_id, "secrets")
    if kind not in keys.KEY_SPECS:
        raise Http404
    if refused := _post_only(request):
        return refused
    require_recent_sign_in(request, back=_next(request, project))  # never stashes the secret
    spec = keys.KEY_SPECS[kind]
    is_set = project.third_party_keys.filter(kind=kind).exists()
    form = KeyForm(request.POST, spec=spec, is_set=is_set)
    if form.is_valid():
        try:
            keys.key_set(project=project, kind=kind, public=form.public_values(),
                         secret=form.cleaned_data["secret"], actor=request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            verb = "replaced" if is_set else "saved"
            return _respond(request, project, ok=True, notice=f"{spec.label} key {verb}.")
    return _respond(request, project, ok=False, key_form=form)


@login_required
@_filtered_reports
@sensitive_post_parameters()
@vary_on_headers("HX-Request")
def key_remove(request: HttpRequest, project_id, kind: str) -> HttpResponse:
    project = access.project_for(request.user, project_id, "secrets")
    if kind not in keys.KEY_SPECS:
        raise Http404
    if refused := _post_only(request):
        return refused
    label = keys.KEY_SPECS[kind].label
    removed = keys.key_remove(project=project, kind=kind, actor=request.user)
    notice = f"{label} key removed." if removed else f"No {label} key was set."
    return _respond(request, project, ok=True, notice=notice)


@login_required
@_filtered_reports
@sensitive_post_parameters()
@sensitive_variables()
@vary_on_headers("HX-Request")
def secret_set(request: HttpRequest, project_id) -> HttpResponse:
    project = access.project_for(request.user, project_id, "secrets")
    if refused := _post_only(request):
        return refused
    require_recent_sign_in(request, back=_next(request, project))  # never stashes the secret
    form = SecretForm(request.POST)
    if form.is_valid():
        try:
            secret = keys.secret_set(project=project, name=form.cleaned_data["name"],
                                     value=form.cleaned_data["value"], actor=request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return _respond(request, project, ok=True, notice=f"Secret {secret.name} saved.")
    return _respond(request, project, ok=False, secret_form=form)


@login_required
@_filtered_reports
@sensitive_post_parameters()
@vary_on_headers("HX-Request")
def secret_remove(request: HttpRequest, project_id, name: str) -> HttpResponse:
    project = access.project_for(request.user, project_id, "secrets")
    if refused := _post_only(request):
        return refused
    removed = keys.secret_remove(project=project, name=name, actor=request.user)
    notice = f"Secret {name} removed." if removed else f"No secret named {name} was set."
    return _respond(request, project, ok=True, notice=notice)
