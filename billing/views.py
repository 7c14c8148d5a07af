import csv
from datetime import date
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from accounts.reauth import require_recent_sign_in
from billing import selectors, services
from billing.models import BillingAccount, LedgerEntry, ProjectBudget
from core.forms import error_text
from core.paging import page_of
from projects import access
from projects.models import Project

CHART_W, CHART_H = 600, 140
LEDGER_PAGE = 25  # the ledger grows fastest of all tables: paged without COUNT(*)
LEDGER_GROUP_PAGE = 100  # a job's day has up to 1,440 minute rows


def _own_account(request) -> BillingAccount:
    return BillingAccount.objects.select_related("charge_to__owner").get(owner=request.user)


def _chart(days: list[dict]) -> dict:
    peak = max((d["total"] for d in days), default=Decimal("0"))
    width = CHART_W / len(days)
    bars = []
    for i, d in enumerate(days):
        height = float(d["total"] / peak) * (CHART_H - 20) if peak else 0.0
        bars.append(
            {
                "x": round(i * width + 1, 1),
                "w": round(width - 2, 1),
                "y": round(CHART_H - height, 1),
                "h": round(height, 1),
                **d,
            }
        )
    return {"bars": bars, "peak": peak, "w": CHART_W, "h": CHART_H}


def _ledger_page(account: BillingAccount, number):
    """A page of the grouped ledger, each row with its label and the query that opens it."""
    page = page_of(selectors.ledger_groups(account=account), number, size=LEDGER_PAGE)
    for row in page:
        row["kind_label"] = LedgerEntry.Kind(row["kind"]).label
        row["query"] = urlencode({"kind": row["kind"], "group": row["group"], "day": row["day"].isoformat()})
    return page


@login_required
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    """The account owner's billing page. It only ever shows the requester's own account."""
    account = _own_account(request)
    now = timezone.now()
    this_start, this_end = selectors.month_bounds(now)
    last_start, last_end = selectors.month_bounds(now, 1)
    owned = list(Project.objects.filter(owner=request.user).order_by("-is_personal", "name"))
    caps = dict(ProjectBudget.objects.filter(project__in=owned).values_list("project_id", "monthly_cap"))
    this_month = selectors.statement(account=account, start=this_start, end=this_end)
    spent = {row["id"]: row["total"] for row in this_month["projects"]}
    budgets = [{"project": p, "cap": caps.get(p.pk), "spent": spent.get(p.pk, Decimal("0"))} for p in owned]
    own_balance = services.balance(account)
    effective = services.account_for(request.user)
    context = {
        "account": account,
        "balance": own_balance,
        "effective": effective,
        # The header's balance, from what this page reads anyway (no query of its own).
        "header_balance": selectors.BalanceStatus(
            balance=own_balance if effective.pk == account.pk else services.balance(effective),
            threshold=account.low_balance_threshold),
        "this_month": this_month,
        "last_month": selectors.statement(account=account, start=last_start, end=last_end),
        "this_month_start": this_start,
        "last_month_start": last_start,
        "chart": _chart(selectors.daily_spend(account=account, now=now)),
        "ledger_page": _ledger_page(account, request.GET.get("page")),
        "usable_accounts": BillingAccount.objects.filter(allowed_users=request.user).select_related("owner"),
        "allowed_users": account.allowed_users.order_by("email"),
        "budgets": budgets,
    }
    return render(request, "billing/overview.html", context)


@login_required
@require_GET
@vary_on_headers("HX-Request")
def ledger_group(request: HttpRequest) -> HttpResponse:
    """The entries behind one row of the grouped ledger (a job's minutes on one day): inline when
    the row is opened (htmx), or as a page of their own."""
    account = _own_account(request)
    kind, group = request.GET.get("kind", ""), request.GET.get("group", "")
    try:
        day = date.fromisoformat(request.GET.get("day", ""))
    except ValueError:
        raise Http404("No such ledger row.") from None
    if kind not in LedgerEntry.Kind.values or not group:
        raise Http404("No such ledger row.")
    entries = selectors.ledger_group_entries(account=account, kind=kind, group=group, day=day)
    page = page_of(entries, request.GET.get("page"), size=LEDGER_GROUP_PAGE)
    if not page.items:
        raise Http404("No such ledger row.")
    template = "billing/ledger_group.html"
    context = {"page": page, "first": page.items[0], "day": day}
    return render(request, f"{template}#entries" if request.htmx else template, context)


@login_required
@require_POST
def low_balance(request: HttpRequest) -> HttpResponse:
    account = _own_account(request)
    raw = (request.POST.get("low_balance_threshold") or "").strip()
    try:
        threshold = Decimal(raw) if raw else None
        if threshold is not None and not threshold.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        messages.error(request, "Low-balance warning: enter a number of credits, or leave it empty "
                                "for no warning.")
        return redirect("billing:overview")
    try:
        services.low_balance_threshold_set(account=account, threshold=threshold)
    except ValidationError as exc:
        messages.error(request, "Low-balance warning: " + error_text(exc))
    else:
        messages.success(request, "You will be warned when your balance falls below "
                                  f"{account.low_balance_threshold} credits." if threshold is not None
                         else "Low-balance warning turned off.")
    return redirect("billing:overview")


class _Echo:
    def write(self, value):
        return value


def _cell(value: str) -> str:
    """Text a person chose, made inert for spreadsheets: a leading = + - @ tab or CR would start a
    formula (OWASP CSV injection), so such a cell gets a leading apostrophe."""
    value = "" if value is None else str(value)
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@login_required
@require_GET
def ledger_csv(request: HttpRequest) -> StreamingHttpResponse:
    account = _own_account(request)
    writer = csv.writer(_Echo())
    header = [
        "created_at",
        "kind",
        "project",
        "resource",
        "quantity",
        "unit",
        "unit_price",
        "amount",
        "period_start",
        "period_end",
        "created_by",
        "note",
    ]

    def rows():
        yield writer.writerow(header)
        for e in selectors.ledger(account=account).iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    e.created_at.isoformat(),
                    _cell(e.kind),
                    _cell(e.project_name),
                    _cell(e.resource_name or e.resource),
                    e.quantity,
                    _cell(e.unit),
                    e.unit_price,
                    e.amount,
                    e.period_start.isoformat() if e.period_start else "",
                    e.period_end.isoformat() if e.period_end else "",
                    _cell(e.created_by.email if e.created_by else ""),
                    _cell(e.note),
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="trainshed-ledger.csv"'
    return response


@login_required
@require_POST
def charge_to(request: HttpRequest) -> HttpResponse:
    account = _own_account(request)
    require_recent_sign_in(request)
    target_id = request.POST.get("charge_to") or ""
    target = None
    if target_id:
        target = BillingAccount.objects.filter(pk=target_id if target_id.isdigit() else 0).first()
    try:
        if target_id and target is None:
            raise ValidationError({"charge_to": "Choose a billing account from the list."})
        services.charges_redirect(account=account, to_account=target)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, f"Charges now go to {services.account_for(request.user)}.")
    return redirect("billing:overview")


@login_required
@require_POST
def allow_user(request: HttpRequest) -> HttpResponse:
    account = _own_account(request)
    try:
        services.billing_allow_user(account=account, email=request.POST.get("email", ""), actor=request.user)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, "They may now send their charges to your account.")
    return redirect("billing:overview")


@login_required
@require_POST
def disallow_user(request: HttpRequest, user_id: int) -> HttpResponse:
    account = _own_account(request)
    person = get_object_or_404(account.allowed_users.all(), pk=user_id)
    services.billing_disallow_user(account=account, user=person)
    messages.success(request, f"{person.email} can no longer charge to your account.")
    return redirect("billing:overview")


@login_required
@require_POST
def project_budget(request: HttpRequest, project_id) -> HttpResponse:
    project = access.project_for(request.user, project_id, "project", "administer")
    raw = (request.POST.get("monthly_cap") or "").strip()
    try:
        cap = Decimal(raw) if raw else None
    except InvalidOperation:
        messages.error(request, "Monthly cap: enter a number of credits, or leave it empty for no cap.")
        return redirect("billing:overview")
    try:
        services.budget_set(project=project, monthly_cap=cap, actor=request.user)
    except ValidationError as exc:
        messages.error(request, "Monthly cap: " + error_text(exc))
    else:
        messages.success(request, f"Spending cap for {project.name} saved.")
    return redirect("billing:overview")
