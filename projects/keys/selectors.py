"""The owner's view of keys and secrets: never a value, only whether it is set and its last 4."""

from __future__ import annotations

from dataclasses import dataclass

from projects.keys.specs import KEY_SPECS, KeySpec
from projects.models import Project, ProjectKey, ProjectSecret


@dataclass(frozen=True)
class KeyRow:
    spec: KeySpec
    key: ProjectKey | None

    @property
    def public_values(self) -> list[tuple[str, str]]:
        if self.key is None:
            return []
        return [(f.label, self.key.public[f.name]) for f in self.spec.public if self.key.public.get(f.name)]


def keys_for_display(*, project: Project) -> list[KeyRow]:
    """One row per key type, in KEY_SPECS order, with the stored key (ciphertext deferred) or None."""
    stored = {k.kind: k for k in ProjectKey.objects.filter(project=project).defer("ciphertext")}
    return [KeyRow(spec=spec, key=stored.get(kind)) for kind, spec in KEY_SPECS.items()]


def secrets_listed(*, project: Project):
    """The project's secrets by name (ciphertext deferred), as a queryset to page."""
    return ProjectSecret.objects.filter(project=project).defer("ciphertext").order_by("name")


def secrets_for_display(*, project: Project) -> list[ProjectSecret]:
    """The project's secrets by name (ciphertext deferred)."""
    return list(secrets_listed(project=project))
