from allauth.account import views as allauth_views
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.api_keys import api_key_create, api_key_revoke, api_keys_of, api_keys_revoke_all
from accounts.forms import ApiKeyCreateForm, MailPreferencesForm
from accounts.models import NoticeKind
from accounts.notices import mail_preferences_set, notices_mark_read, notices_of
from accounts.reauth import require_recent_sign_in
from accounts.two_factor import sign_in_settings
from core.forms import apply_service_errors
from core.paging import page_of

NOTICES_PAGE = 25


@login_required
@require_GET
def whoami(request: HttpRequest) -> HttpResponse:
    """Who is signed in, as plain as a page gets (scripts check sessions with it; the benchmarks
    use it as the baseline every page is compared to)."""
    return render(request, "accounts/whoami.html")


@login_required
@require_GET
def settings_index(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/settings.html", _settings_context(request))


def _settings_context(request, mail_form=None) -> dict:
    mail_on = [kind for kind in NoticeKind.values if kind not in (request.user.mail_off or [])]
    return {**sign_in_settings(request.user),
            "mail_form": mail_form or MailPreferencesForm(initial={"mail_on": mail_on})}


@login_required
@require_POST
def mail_preferences(request: HttpRequest) -> HttpResponse:
    form = MailPreferencesForm(request.POST)
    if form.is_valid():
        try:
            mail_preferences_set(user=request.user, mail_on=form.cleaned_data["mail_on"])
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "E-mail preferences saved.")
            return redirect("accounts:settings")
    return render(request, "accounts/settings.html", _settings_context(request, form), status=400)


@login_required
@require_http_methods(["GET", "POST"])
def notices(request: HttpRequest) -> HttpResponse:
    """The person's notices, newest first; POST marks them all read."""
    if request.method == "POST":
        count = notices_mark_read(user=request.user)
        messages.success(request, f"Marked {count} notice{'s' if count != 1 else ''} read.")
        return redirect("accounts:notices")
    page = page_of(notices_of(user=request.user), request.GET.get("page"), size=NOTICES_PAGE)
    return render(request, "accounts/notice_list.html", {"page": page})


@login_required
@require_POST
def notice_open(request: HttpRequest, notice_id: int) -> HttpResponse:
    """Mark one notice read and go where it leads (its own page when it leads nowhere)."""
    notice = get_object_or_404(notices_of(user=request.user), pk=notice_id)
    notices_mark_read(user=request.user, notice_id=notice.pk)
    if notice.url.startswith("/") and not notice.url.startswith("//"):
        return redirect(notice.url)
    return redirect("accounts:notices")


class LoginView(allauth_views.LoginView):
    """allauth's login, answering 429 (not 200) once repeated failures hit the rate limit."""

    def form_invalid(self, form):
        response = super().form_invalid(form)
        codes = {e.code for errors in form.errors.as_data().values() for e in errors}
        if "too_many_login_attempts" in codes:
            response.status_code = 429
        return response


@login_required
@require_http_methods(["GET", "POST"])
def api_keys(request: HttpRequest) -> HttpResponse:
    """List the account's keys and create one. A new key is shown in full in this one response
    only (it is not stored, so reloading cannot show it again)."""
    form = ApiKeyCreateForm(request.POST or None, user=request.user)
    created = raw_key = None
    status = 200
    if request.method == "POST":
        require_recent_sign_in(request)
        if form.is_valid():
            try:
                created, raw_key = api_key_create(
                    user=request.user,
                    name=form.cleaned_data["name"],
                    expires_at=form.expires_at(),
                    project=form.cleaned_data["project"],
                    read_only=form.cleaned_data["read_only"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                form = ApiKeyCreateForm(user=request.user)
                status = 201
        if raw_key is None:
            status = 400
    response = render(
        request,
        "accounts/api_keys.html",
        {"form": form, "keys": api_keys_of(user=request.user), "created": created, "raw_key": raw_key},
        status=status,
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def api_key_revoke_view(request: HttpRequest, key_id: int) -> HttpResponse:
    key = get_object_or_404(api_keys_of(user=request.user), pk=key_id)
    api_key_revoke(key=key, actor=request.user)
    messages.success(request, f"Revoked the key “{key.name}”: it no longer works.")
    return redirect("accounts:api-keys")


@login_required
@require_POST
def api_keys_revoke_all_view(request: HttpRequest) -> HttpResponse:
    count = api_keys_revoke_all(user=request.user)
    messages.success(request, f"Revoked {count} key{'s' if count != 1 else ''}: they no longer work.")
    return redirect("accounts:api-keys")
