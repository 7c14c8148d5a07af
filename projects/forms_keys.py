"""Forms for keys and secrets: field shapes only. The rules live in projects.keys (services).

A secret field never renders a value back, not even the one just typed into a form with errors.
"""

from __future__ import annotations

from django import forms

from projects.keys import MIN_REDACTED_LENGTH, KeySpec


class SecretTextarea(forms.Textarea):
    """A textarea that never echoes its value (for multi-line secrets such as a GCP key file)."""

    def format_value(self, value):
        return None


def _secret_attrs() -> dict[str, str]:
    return {"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off"}


SHORT_VALUE_NOTE = (f"Job logs show this value as ***, unless it is shorter than {MIN_REDACTED_LENGTH} "
                    "characters (so short values are not hidden inside other words).")


class KeyForm(forms.Form):
    """The form for one key type: its public fields, then its secret."""

    def __init__(self, *args, spec: KeySpec, is_set: bool, **kwargs):
        kwargs.setdefault("auto_id", f"id_{spec.kind}_%s")
        super().__init__(*args, **kwargs)
        self.spec = spec
        for field in spec.public:
            self.fields[field.name] = forms.CharField(
                label=field.label, required=False, max_length=255,
                widget=forms.TextInput(attrs={"placeholder": field.placeholder or
                                              ("" if field.required else "optional"),
                                              "autocomplete": "off"}),
            )
        attrs = _secret_attrs()
        if is_set:
            attrs["placeholder"] = "leave empty to keep the current one"
        widget = (
            SecretTextarea(attrs={**attrs, "rows": 4}) if spec.multiline
            else forms.PasswordInput(attrs=attrs, render_value=False)
        )
        self.fields["secret"] = forms.CharField(label=spec.secret_label, required=False,
                                                widget=widget, strip=True, help_text=SHORT_VALUE_NOTE)

    def public_values(self) -> dict[str, str]:
        return {f.name: self.cleaned_data.get(f.name, "") for f in self.spec.public}


class SecretForm(forms.Form):
    name = forms.CharField(
        label="Name", required=False, max_length=128,
        widget=forms.TextInput(attrs={"placeholder": "e.g. WANDB_API_KEY", "autocomplete": "off",
                                      "autocapitalize": "characters", "spellcheck": "false"}),
    )
    value = forms.CharField(
        label="Value", required=False, help_text=SHORT_VALUE_NOTE,
        widget=forms.PasswordInput(attrs=_secret_attrs(), render_value=False),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "id_secret_%s")
        super().__init__(*args, **kwargs)
