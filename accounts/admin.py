from allauth.mfa.models import Authenticator
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm as BaseChangeForm
from django.contrib.auth.forms import UserCreationForm as BaseCreationForm
from django.db.models import Exists, OuterRef

from accounts.models import ApiKey, Notice, User
from accounts.two_factor import FACTORS, two_factor_reset


class TwoFactorFilter(admin.SimpleListFilter):
    title = "two-factor sign-in"
    parameter_name = "two_factor"

    def lookups(self, request, model_admin):
        return [("on", "On"), ("off", "Off")]

    def queryset(self, request, queryset):
        with_factor = Exists(Authenticator.objects.filter(user_id=OuterRef("pk"), type__in=FACTORS))
        if self.value() == "on":
            return queryset.filter(with_factor)
        if self.value() == "off":
            return queryset.exclude(with_factor)
        return queryset


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
    list_display = ["email", "name", "two_factor", "is_active", "is_staff", "date_joined"]
    list_filter = [TwoFactorFilter, "is_active", "is_staff", "is_superuser"]
    actions = ["reset_two_factor"]
    search_fields = ["email", "name"]
    readonly_fields = ["date_joined", "last_login", "updated_at"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("name",)}),
        ("E-mail", {"fields": ("mail_off",)}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined", "updated_at")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "name", "password1", "password2")}),
    )
    filter_horizontal = ("groups",)
    readonly_fields = [*readonly_fields, "two_factor"]
    fieldsets = (*fieldsets[:2], ("Sign-in", {"fields": ("two_factor",)}), *fieldsets[2:])

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            has_two_factor=Exists(Authenticator.objects.filter(user_id=OuterRef("pk"), type__in=FACTORS))
        )

    @admin.display(boolean=True, description="two-factor", ordering="has_two_factor")
    def two_factor(self, obj) -> bool:
        return bool(getattr(obj, "has_two_factor", False))

    @admin.action(description="Reset two-factor sign-in (for a locked-out person)")
    def reset_two_factor(self, request, queryset):
        """Removes the accounts' authenticators; each reset is written to the account's history."""
        for user in queryset:
            removed = two_factor_reset(user=user, actor=request.user)
            self.message_user(request, f"{user.email}: two-factor sign-in reset ({removed} removed).")


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


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):
    """What people were told (read-only: a notice records an event)."""

    list_display = ["subject", "user", "kind", "created_at", "read_at"]
    list_filter = ["kind"]
    search_fields = ["subject", "user__email", "key"]
    readonly_fields = ["user", "kind", "key", "subject", "text", "url", "created_at", "read_at"]
    list_select_related = ["user"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
