"""Forms: a node, and the GPU choice every job form reuses (the API: `services.gpu_request_clean`)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from compute.models import ComputeNode, GpuType
from compute.selectors import available_gpu_types
from compute.services import gpu_count_check, gpu_type_not_available


class GpuChoiceField(forms.ModelChoiceField):
    """A GPU type among those `project` may use (its stored list); anything else, crafted POSTs
    included, is a field error naming the type."""

    def __init__(self, *, project, **kwargs):
        self.project = project
        allowed = available_gpu_types(project=project)
        kwargs.setdefault("label", "GPU type")
        kwargs.setdefault("empty_label", None)
        super().__init__(
            queryset=GpuType.objects.filter(pk__in=[t.pk for t in allowed]).order_by(
                "credits_per_gpu_hour", "name"
            ),
            to_field_name="slug",
            **kwargs,
        )
        self._allowed = {t.slug: t for t in allowed}

    def to_python(self, value):
        try:
            return super().to_python(value)
        except ValidationError:
            raise ValidationError(
                gpu_type_not_available(str(value).strip().lower(), self._allowed), code="invalid_choice"
            ) from None

    def label_from_instance(self, obj: GpuType) -> str:
        memory = f", {obj.memory_gb} GB" if obj.memory_gb else ""
        return f"{obj.name}{memory} — {obj.credits_per_gpu_hour.normalize()} credits/GPU-hour"


class GpuRequestForm(forms.Form):
    """GPU type + count for `project`; a job form embeds or subclasses it."""

    gpu_count = forms.IntegerField(label="GPUs", min_value=1, initial=1)

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.project = project
        self.fields["gpu_type"] = GpuChoiceField(project=project)
        self.order_fields(["gpu_type", "gpu_count"])

    def clean(self):
        cleaned = super().clean()
        gpu_type, count = cleaned.get("gpu_type"), cleaned.get("gpu_count")
        if gpu_type is not None and count is not None:
            try:
                gpu_count_check(self.project, gpu_type, count)
            except ValidationError as exc:
                self.add_error(None, exc)
        return cleaned


class NodeForm(forms.ModelForm):
    """What an owner says of a node. Its host name and storage are its agent's to report."""

    class Meta:
        model = ComputeNode
        fields = ["name", "provider", "region", "gpu_type", "gpu_count"]
        help_texts = {"gpu_count": "For the “cpu” type: how many jobs may run at once."}
        widgets = {"gpu_count": forms.NumberInput(attrs={"min": 1})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["gpu_type"].empty_label = None
        self.fields["gpu_type"].label = "GPU type"
        self.fields["gpu_type"].queryset = GpuType.objects.order_by("credits_per_gpu_hour", "name")

    def validate_unique(self):
        """Uniqueness per owner is the service's to check (the owner is not a form field)."""
