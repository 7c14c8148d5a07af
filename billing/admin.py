from django.contrib import admin

from billing.models import BillingAccount


@admin.register(BillingAccount)
class BillingAccountAdmin(admin.ModelAdmin):
    list_display = ["owner", "created_at"]
    search_fields = ["owner__email"]
    list_select_related = ["owner"]
    autocomplete_fields = ["owner"]
