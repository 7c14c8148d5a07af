from django import forms
from django.core.validators import URLValidator

from projects.forms import ActiveProjectFormMixin
from resources.records import NAME_MAX


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files from one <input type=file multiple> (Django's documented recipe)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data]
        return [single(data, initial)] if data else []


class UploadForm(ActiveProjectFormMixin, forms.Form):
    name = forms.CharField(max_length=NAME_MAX)
    files = MultipleFileField(
        required=False,
        allow_empty_file=True,  # the service says "empty upload" once, for all of them
        help_text="Several files, or one .zip / .tar / .tar.gz archive that is unpacked.",
    )


class UrlForm(ActiveProjectFormMixin, forms.Form):
    prefix = "url"
    name = forms.CharField(max_length=NAME_MAX)
    url = forms.URLField(
        label="Address", max_length=2000, assume_scheme="https",
        validators=[URLValidator(schemes=["http", "https"],
                                 message="Enter an http:// or https:// address.")],
        help_text="http:// or https://. The server downloads it in the background; an archive is unpacked.",
    )


class RenameForm(forms.Form):
    name = forms.CharField(max_length=NAME_MAX)
