from datetime import timedelta

from django import forms
from django.utils import timezone

from accounts.models import ApiKey, NoticeKind

EXPIRY_CHOICES = [("", "Never"), ("7", "In 7 days"), ("30", "In 30 days"), ("90", "In 90 days"),
                  ("365", "In a year")]


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the key is for, e.g. “laptop CLI”.")
    expires_in = forms.ChoiceField(choices=EXPIRY_CHOICES, required=False, label="Expires")
    project = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="Every project I can access",
        label="Limit to one project",
    )
    read_only = forms.BooleanField(required=False, label="Read-only (every write answers 403)")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # Only projects the account can view, through the Project model's scoped queryset:
        # ApiKey names it by string, so `accounts` imports nothing of ours.
        projects = ApiKey.project.field.related_model.objects
        self.fields["project"].queryset = (
            projects.for_user(user).select_related("owner").order_by("-is_personal", "name")
        )
        # Projects of different owners may share a name: others' projects show their owner, as
        # the header's switcher does.
        self.fields["project"].label_from_instance = (
            lambda p: p.name if p.owner_id == user.pk else f"{p.name} · {p.owner.email}"
        )

    def expires_at(self):
        days = self.cleaned_data.get("expires_in")
        return timezone.now() + timedelta(days=int(days)) if days else None


class MailPreferencesForm(forms.Form):
    """One checkbox per kind of notice: ticked, it also comes by e-mail."""

    mail_on = forms.MultipleChoiceField(
        choices=NoticeKind.choices, required=False, widget=forms.CheckboxSelectMultiple,
        label="E-mail me when",
    )
