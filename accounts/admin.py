from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm as BaseChangeForm
from django.contrib.auth.forms import UserCreationForm as BaseCreationForm

from accounts.models import ApiKey, User


class UserCreationForm(BaseCreationForm):
    class Meta:
        model = User
        fields = ("email", "name")


class UserChangeForm(BaseChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    ordering = ["email"]
    list_display = ["email", "name", "is_active", "is_staff", "date_joined"]
    list_filter = ["is_active", "is_staff", "is_superuser"]
    search_fields = ["email", "name"]
    readonly_fields = ["date_joined", "last_login", "updated_at"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("name",)}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined", "updated_at")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "name", "password1", "password2")}),
    )
    filter_horizontal = ("groups",)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Operators can see and revoke keys (set "revoked at"); the key itself is never stored."""

    list_display = ["name", "prefix", "user", "project", "read_only", "expires_at", "last_used_at",
                    "revoked_at"]
    list_filter = ["read_only"]
    search_fields = ["name", "prefix", "user__email"]
    readonly_fields = ["user", "prefix", "project", "read_only", "created_at", "last_used_at"]
    fields = ["name", "user", "prefix", "project", "read_only", "expires_at", "revoked_at",
              "created_at", "last_used_at"]

    def has_add_permission(self, request):
        return False
