from django import forms

ACTIVE_PROJECT_FIELD = "active_project_id"
STALE_TAB_MESSAGE = (
    "This form was opened for {rendered}, but your active project is now {active}. "
    "Nothing was created: reload the page and try again."
)


class ActiveProjectFormMixin:
    """The stale-tab guard for every create form.

    The form carries the id of the project it was rendered for (a hidden field the
    `projects/_landing_project.html` include renders); a POST for a project that is no longer the
    active one is refused with a non-field error, so nothing is created.

    Use: `class DatasetForm(ActiveProjectFormMixin, forms.Form)` and build it with
    `DatasetForm(request.POST or None, active_project=request.project)`.
    """

    def __init__(self, *args, active_project, **kwargs):
        super().__init__(*args, **kwargs)
        self.active_project = active_project
        self.fields[ACTIVE_PROJECT_FIELD] = forms.UUIDField(
            widget=forms.HiddenInput, initial=active_project.pk, required=True,
            error_messages={"required": "The form did not say which project it was for."},
        )

    def clean(self):
        cleaned = super().clean()
        rendered_for = cleaned.get(ACTIVE_PROJECT_FIELD)
        if rendered_for is not None and rendered_for != self.active_project.pk:
            from projects.models import Project

            rendered = Project.objects.filter(pk=rendered_for).values_list("name", flat=True).first()
            raise forms.ValidationError(
                STALE_TAB_MESSAGE.format(
                    rendered=f"“{rendered}”" if rendered else "another project",
                    active=f"“{self.active_project.name}”",
                ),
                code="stale_project",
            )
        return cleaned
