"""What each third-party key type holds and hands to jobs, and the names a secret may not take."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError

from projects.models import KeyType

MAX_SECRET_LENGTH = 64 * 1024
GCP_CREDENTIALS_FILE = Path(".trainshed") / "gcp-credentials.json"
NAME_RE = re.compile(r"^[A-Z_][A-Z0-9_]*$")


@dataclass(frozen=True)
class PublicField:
    """A non-secret part of a key (key id, user name, tenant…), shown to the owner after saving."""

    name: str
    label: str
    env: str | None
    required: bool = True
    placeholder: str = ""


@dataclass(frozen=True)
class KeySpec:
    kind: str
    label: str
    public: tuple[PublicField, ...]
    secret_label: str
    secret_env: tuple[str, ...]
    multiline: bool = False
    help: str = ""

    @property
    def env_names(self) -> tuple[str, ...]:
        names = [f.env for f in self.public if f.env] + list(self.secret_env)
        if self.kind == KeyType.GCP:
            names.append("GOOGLE_APPLICATION_CREDENTIALS")
        return tuple(names)


KEY_SPECS: dict[str, KeySpec] = {
    spec.kind: spec
    for spec in (
        KeySpec(
            KeyType.AWS, "AWS",
            (PublicField("key_id", "Access key ID", "AWS_ACCESS_KEY_ID", placeholder="AKIA…"),),
            "Secret access key", ("AWS_SECRET_ACCESS_KEY",),
        ),
        KeySpec(
            KeyType.AZURE, "Azure",
            (
                PublicField("client_id", "Client ID", "AZURE_CLIENT_ID"),
                PublicField("tenant_id", "Tenant ID", "AZURE_TENANT_ID"),
            ),
            "Client secret", ("AZURE_CLIENT_SECRET",),
        ),
        KeySpec(
            KeyType.GCP, "Google Cloud",
            (PublicField("project_id", "Project ID", "GOOGLE_CLOUD_PROJECT", required=False,
                         placeholder="read from the key file if empty"),),
            "Service-account key (JSON)", (), multiline=True,
            help="Jobs find it in a file named by GOOGLE_APPLICATION_CREDENTIALS.",
        ),
        KeySpec(
            KeyType.DOCKER, "Docker registry",
            (
                PublicField("username", "User name", "DOCKER_USERNAME"),
                PublicField("registry", "Registry", "DOCKER_REGISTRY", required=False,
                            placeholder="docker.io"),
            ),
            "Password or access token", ("DOCKER_PASSWORD",),
        ),
        KeySpec(
            KeyType.HUGGINGFACE, "Hugging Face", (), "Access token", ("HF_TOKEN",),
        ),
        KeySpec(
            KeyType.KAGGLE, "Kaggle",
            (PublicField("username", "User name", "KAGGLE_USERNAME"),),
            "API key", ("KAGGLE_KEY",),
        ),
        KeySpec(
            KeyType.NGC, "NVIDIA NGC",
            (PublicField("org", "Organization", "NGC_CLI_ORG", required=False),),
            "API key", ("NGC_API_KEY", "NGC_CLI_API_KEY"),
        ),
        KeySpec(
            KeyType.WASABI, "Wasabi",
            (PublicField("key_id", "Access key ID", "WASABI_ACCESS_KEY_ID"),),
            "Secret access key", ("WASABI_SECRET_ACCESS_KEY",),
        ),
        KeySpec(
            KeyType.GIT, "Git",
            (PublicField("username", "User name", "GIT_USERNAME"),),
            "Access token", ("GIT_TOKEN",),
        ),
    )
}

#: Environment names a secret may not take: those keys produce, and those the runner owns.
RESERVED_NAMES = frozenset(
    {name for spec in KEY_SPECS.values() for name in spec.env_names}
    | {"CUDA_VISIBLE_DEVICES", "PATH", "HOME"}
)
RESERVED_PREFIXES = ("TRAINSHED_",)


def spec_for(kind: str) -> KeySpec:
    try:
        return KEY_SPECS[kind]
    except KeyError:
        raise ValidationError({"kind": "Unknown key type."}) from None
