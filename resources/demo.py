"""Demo datasets and models (idempotent): small files in the demo accounts' projects.

The demo projects come from `projects.demo`; a project that is missing is skipped quietly.
"""

import json
import tempfile
from pathlib import Path

from accounts.models import User
from projects.models import Project
from resources import services
from resources.models import Dataset, MLModel

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
            create = (services.dataset_create_from_folder if kind == "datasets"
                      else services.model_create_from_folder)
            create(project=project, name=name, folder=Path(tmp), created_by=owner)
        stdout.write(f"  {kind[:-1]} {name} in {project.name} ({email})")

