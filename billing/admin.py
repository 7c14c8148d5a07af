from django.contrib import admin

from billing.models import BillingAccount, LedgerEntry, ProjectBudget
from core.admin_utils import ReadOnlyModelAdmin


@admin.register(BillingAccount)
class BillingAccountAdmin(admin.ModelAdmin):
    list_display = ["__str__", "owner", "charge_to", "created_at"]
    search_fields = ["owner__email", "name"]
    list_select_related = ["owner", "charge_to__owner"]
    autocomplete_fields = ["owner", "charge_to"]
    filter_horizontal = ["allowed_users"]
    readonly_fields = ["created_at", "updated_at"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyModelAdmin):
    """Read-only: operators grant credits with `manage.py grant_credits` (or an adjustment)."""

    list_display = ["created_at", "account", "kind", "project_name", "resource_name", "amount", "created_by"]
    list_filter = ["kind", "created_at"]
    search_fields = ["account__owner__email", "project_name", "resource", "resource_name", "idempotency_key"]
    list_select_related = ["account__owner", "created_by"]
    date_hierarchy = "created_at"


@admin.register(ProjectBudget)
class ProjectBudgetAdmin(admin.ModelAdmin):
    list_display = ["project", "monthly_cap", "updated_at"]
    search_fields = ["project__name", "project__owner__email"]
    list_select_related = ["project"]
    readonly_fields = ["project"]
