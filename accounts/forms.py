from datetime import timedelta

from django import forms
from django.utils import timezone

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
        # The web layer offers only projects the account can view; `accounts` models and services
        # never ask the access rules themselves.
        from projects.selectors import projects_for_user

        self.fields["project"].queryset = projects_for_user(user=user)

    def expires_at(self):
        days = self.cleaned_data.get("expires_in")
        return timezone.now() + timedelta(days=int(days)) if days else None
