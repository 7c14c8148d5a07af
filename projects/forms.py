from django import forms

from accounts.models import User
from projects.models import Access, Project

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
            rendered = Project.objects.filter(pk=rendered_for).values_list("name", flat=True).first()
            raise forms.ValidationError(
                STALE_TAB_MESSAGE.format(
                    rendered=f"“{rendered}”" if rendered else "another project",
                    active=f"“{self.active_project.name}”",
                ),
                code="stale_project",
            )
        return cleaned


class ProjectCreateForm(forms.Form):
    name = forms.CharField(max_length=100, label="Project name")
    copy_personal_keys = forms.BooleanField(
        required=False, label="Copy my Personal project's third-party keys and secrets"
    )


class ProjectRenameForm(forms.Form):
    name = forms.CharField(max_length=100, label="Name")


class ProjectDeleteForm(forms.Form):
    confirm_name = forms.CharField(label="Type the project's name to confirm")

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.project = project

    def clean_confirm_name(self):
        value = self.cleaned_data["confirm_name"].strip()
        if value != self.project.name:
            raise forms.ValidationError("That is not the project's name.")
        return value


def _access_field(label: str, initial: str) -> forms.ChoiceField:
    return forms.ChoiceField(choices=Access.choices, initial=initial, label=label)


class MemberAccessForm(forms.Form):
    jobs = _access_field("Jobs", "all")
    datasets = _access_field("Datasets", "read")
    models = _access_field("Models", "read")


class MemberAddForm(MemberAccessForm):
    # Defaults are the common configuration: Jobs All, Datasets and Models Read-Only.
    email = forms.CharField(max_length=254, label="Email",
                            widget=forms.EmailInput(attrs={"placeholder": "name@example.com"}))

    field_order = ["email", "jobs", "datasets", "models"]


class TransferOfferForm(forms.Form):
    """Offer ownership to a member, named by e-mail (a project may have thousands of members: the
    page offers the ones it shows as suggestions, any member's address is accepted)."""

    member = forms.EmailField(label="New owner", max_length=254)

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.project = project

    def clean_member(self):
        email = self.cleaned_data["member"]
        user = User.objects.filter(memberships__project=self.project, email__iexact=email).first()
        if user is None:
            raise forms.ValidationError(
                f"{email} is not a member of this project. Add them as a member first, then offer ownership."
            )
        return user
