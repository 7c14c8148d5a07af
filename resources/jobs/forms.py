from django import forms

from compute.forms import GpuChoiceField
from projects.forms import ActiveProjectFormMixin
from resources.jobs.services import inputs_visible, job_spec, parse_env_text
from resources.models import Dataset, JobOutput, JobType, MLModel, StoredStatus


class JobForm(ActiveProjectFormMixin, forms.Form):
    """What a person fills in; the service (`job_create`) checks it all again."""

    name = forms.CharField(max_length=200)
    type = forms.ChoiceField(choices=JobType.choices, initial=JobType.TRAINING)
    gpu_count = forms.IntegerField(label="GPUs", min_value=1, initial=1)
    disk_gb = forms.IntegerField(
        label="Disk size (GB)", min_value=1, initial=20,
        help_text="Room for the inputs (copied in) and all the job writes; a job that outgrows it "
                  "is stopped.")
    command = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        label="Command(s)",
        help_text="One per line, run in order in the job's folder; the first that fails ends the job. "
                  "Inputs are under input/, write results to output/. Notebooks: optional set-up "
                  "before JupyterLab starts.",
    )
    env = forms.CharField(
        required=False, label="Environment variables",
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "placeholder": "EPOCHS=3"}),
        help_text="NAME=value, one per line. The project's keys and secrets are added when it runs.",
    )
    input_datasets = forms.ModelMultipleChoiceField(
        queryset=Dataset.objects.none(), required=False, label="Input datasets",
        widget=forms.SelectMultiple(attrs={"size": 4}),
        error_messages={"invalid_choice": "“%(value)s” is not a ready dataset of this project.",
                        "invalid_pk_value": "“%(pk)s” is not a dataset id."},
    )
    input_model = forms.ModelChoiceField(
        queryset=MLModel.objects.none(), required=False, label="Input model",
        empty_label="— none —",
        error_messages={"invalid_choice": "That is not a ready model of this project."},
    )
    output_type = forms.ChoiceField(choices=JobOutput.choices, initial=JobOutput.NONE, label="Output")
    port = forms.IntegerField(required=False, min_value=1024, max_value=65535,
                              help_text="Endpoints: the port your command serves HTTP on.")

    field_order = ["name", "type", "gpu_type", "gpu_count", "disk_gb", "command", "env",
                   "input_datasets", "input_model", "output_type", "port"]

    def __init__(self, *args, active_project, user=None, **kwargs):
        super().__init__(*args, active_project=active_project, **kwargs)

        self.fields["gpu_type"] = GpuChoiceField(project=active_project)
        # Only inputs the person may read are offered (the service refuses the others too).
        datasets, models = inputs_visible(actor=user, project=active_project)
        self.fields["input_datasets"].queryset = (Dataset.objects.in_project(active_project).filter(
            status=StoredStatus.READY).order_by("name") if datasets else Dataset.objects.none())
        self.fields["input_model"].queryset = (MLModel.objects.in_project(active_project).filter(
            status=StoredStatus.READY).order_by("name") if models else MLModel.objects.none())
        self.order_fields(self.field_order)

    @staticmethod
    def initial_from(job) -> dict:
        """The form's initial values for a copy of `job` (the environment as NAME=value lines)."""
        spec = job_spec(job=job)
        spec["env"] = "\n".join(f"{k}={v}" for k, v in spec["env"].items())
        return spec

    def clean_env(self):
        return parse_env_text(self.cleaned_data.get("env") or "")
