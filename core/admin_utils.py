from django.contrib import admin


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """For append-only records (audit log, ledger, key metadata): operators look, nobody edits."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
