"""Demo datasets and models (idempotent): small files in the demo accounts' projects.

The demo projects come from `projects.demo`; a project that is missing is skipped quietly.
"""

import importlib.util
import json
import os
import tempfile
from pathlib import Path

from django.core.exceptions import ValidationError

from accounts.models import User
from compute.selectors import available_gpu_types
from compute.services import project_gpu_types_refresh
from core.forms import error_text
from projects.models import Project
from resources import services, storage
from resources.jobs import services as job_services
from resources.models import Dataset, Job, MLModel

# (owner e-mail, project name or None for Personal, kind, name, {path: text})
DEMO = [
    ("alice@example.com", None, "datasets", "Alice's scratch images", {
        "labels.csv": "file,label\n" + "".join(f"img_{i:03}.png,{'cat' if i % 2 else 'dog'}\n"
                                                for i in range(40)),
        "README.md": "# Scratch images\n\nA toy label file.\n",
    }),
    ("alice@example.com", "Vision Research", "datasets", "CIFAR-10 sample", {
        "train/labels.csv": "file,label\n" + "".join(f"{i}.png,{i % 10}\n" for i in range(200)),
        "test/labels.csv": "file,label\n" + "".join(f"{i}.png,{i % 10}\n" for i in range(50)),
        "classes.txt": "\n".join(["airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
                                  "horse", "ship", "truck"]) + "\n",
    }),
    ("alice@example.com", "Vision Research", "datasets", "Street scenes (tiny)", {
        "annotations.json": json.dumps({"images": [{"id": i, "boxes": i % 4} for i in range(30)]}),
    }),
    ("alice@example.com", "Vision Research", "models", "resnet18-cifar", {
        "config.json": json.dumps({"arch": "resnet18", "num_classes": 10, "epochs": 30}),
        "weights.bin": "0" * 4096,
    }),
    ("bob@example.com", None, "datasets", "Bob's notes corpus", {
        "notes.txt": "Tokenizers are fun.\n" * 50,
    }),
    ("bob@example.com", "NLP Sandbox", "datasets", "Movie reviews", {
        "reviews.csv": "text,sentiment\n" + "".join(f"review {i},{'pos' if i % 3 else 'neg'}\n"
                                                    for i in range(120)),
    }),
    ("bob@example.com", "NLP Sandbox", "models", "distilbert-sentiment", {
        "config.json": json.dumps({"arch": "distilbert", "labels": ["neg", "pos"]}),
        "vocab.txt": "\n".join(f"tok{i}" for i in range(500)),
    }),
    ("carol@example.com", None, "models", "Carol's baseline", {
        "model.json": json.dumps({"kind": "logistic-regression", "coef": [0.1, -0.3, 0.7]}),
    }),
]


def _project(owner: User, name: str | None) -> Project | None:
    if name is None:
        return Project.objects.filter(owner=owner, is_personal=True).first()
    return Project.objects.filter(owner=owner, name=name, is_personal=False).first()


def load(stdout) -> None:
    for email, project_name, kind, name, files in DEMO:
        owner = User.objects.filter(email=email).first()
        project = _project(owner, project_name) if owner else None
        if project is None:
            continue
        cls = Dataset if kind == "datasets" else MLModel
        if cls.objects.in_project(project).filter(name=name).exists():
            continue
        with tempfile.TemporaryDirectory() as tmp:
            for rel, text in files.items():
                path = Path(tmp) / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
            entries = storage.entries_from_folder(Path(tmp))
            try:
                if kind == "datasets":
                    services.dataset_create_from_entries(project=project, name=name, entries=entries,
                                                         created_by=owner)
                else:
                    services.model_create_from_entries(project=project, name=name, entries=entries,
                                                       created_by=owner)
            except ValidationError as exc:  # e.g. the owner's node is not up yet
                why = error_text(exc)
                stdout.write(f"  {kind[:-1]} {name} in {project.name}: not created ({why})")
                continue
        stdout.write(f"  {kind[:-1]} {name} in {project.name} ({email})")
    load_jobs(stdout)



# ---- jobs: run for real by the agents (a second or so each): logs, runs and an output model ----

TRAIN_SCRIPT = """python3 - <<'PY'
import json, os, pathlib, time
rows = sum(1 for p in pathlib.Path("input").rglob("*.csv") for _ in p.open())
print(f"{rows} input rows")
for epoch in range(1, int(os.environ.get("EPOCHS", "3")) + 1):
    print(f"epoch {epoch}: loss {1 / epoch:.3f}")
    time.sleep(0.1)
pathlib.Path("output/config.json").write_text(json.dumps({"epochs": epoch}))
pathlib.Path("output/weights.bin").write_bytes(b"0" * 2048)
PY"""

# (owner e-mail, project name, creator e-mail, name, type, command, env, datasets, output)
DEMO_JOBS = [
    ("bob@example.com", "NLP Sandbox", "bob@example.com", "sentiment-baseline", "training",
     TRAIN_SCRIPT, {"EPOCHS": "4"}, ["Movie reviews"], "model"),
    ("bob@example.com", "NLP Sandbox", "alice@example.com", "batch-scoring", "inference",
     "echo scoring 120 reviews\nls input/datasets\npython3 -c 'import sys; print(\"model missing\"); "
     "sys.exit(2)'", {}, ["Movie reviews"], "none"),
    ("alice@example.com", "Vision Research", "bob@example.com", "resnet18-finetune", "training",
     TRAIN_SCRIPT, {"EPOCHS": "3"}, ["CIFAR-10 sample"], "model"),
]


def _run_now(job, actor) -> None:
    """Started: the node's agent (`manage.py serve` starts it) runs it within seconds."""
    job_services.job_start(job=job, actor=actor)


def load_jobs(stdout) -> None:
    for owner_email, project_name, creator_email, name, type_, command, env, datasets, output in DEMO_JOBS:
        owner = User.objects.filter(email=owner_email).first()
        creator = User.objects.filter(email=creator_email).first()
        project = _project(owner, project_name) if owner else None
        if project is None or creator is None or Job.objects.in_project(project).filter(name=name).exists():
            continue
        types = available_gpu_types(project=project)
        if not types:  # created before the demo nodes existed: refresh, as its owner would
            project_gpu_types_refresh(project=project, actor=None)
            types = available_gpu_types(project=project)
        if not types:
            continue
        job = job_services.job_create(
            project=project, actor=creator, name=name, type=type_, gpu_type=types[0], gpu_count=1,
            disk_gb=1, command=command, env=env, output_type=output,  # tiny: runs on a nearly full disk too
            input_datasets=list(Dataset.objects.in_project(project).filter(name__in=datasets)),
        )
        _run_now(job, creator)
        job.refresh_from_db()
        stdout.write(f"  job {name} in {project.name}: {job.status}")

    # One running notebook (when the worker is up), if JupyterLab is installed.
    alice = User.objects.filter(email="alice@example.com").first()
    project = _project(alice, None) if alice else None
    has_jupyter = os.environ.get("TRAINSHED_JUPYTER_COMMAND") or importlib.util.find_spec("jupyterlab")
    if project is None or not has_jupyter:
        return
    if Job.objects.in_project(project).filter(name="explore-data").exists():
        return
    types = available_gpu_types(project=project)
    if types:
        job = job_services.job_create(project=project, actor=alice, name="explore-data", type="notebook",
                                      gpu_type=types[0], gpu_count=1, disk_gb=1)
        job_services.job_start(job=job, actor=alice)
        stdout.write("  job explore-data (notebook) in alice's Personal project: starts with the worker")
