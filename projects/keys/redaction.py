"""Every key secret and secret value of a project replaced by *** in a text (job logs)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from django.core.cache import caches
from django.db.models import F
from django.views.decorators.debug import sensitive_variables

from projects import crypto
from projects.keys.specs import KeyType
from projects.models import Project, ProjectKey, ProjectSecret, RetiredSecret

REDACTED = "***"
_MIN_FRAGMENT = 8
# Shorter values are not hidden inside other text: a 1-letter secret would turn every "e" of every
# log into ***. The key and secret forms say so.
MIN_REDACTED_LENGTH = 6
CACHE_ALIAS = "redaction"


@sensitive_variables()
def _redactable_values(project: Project) -> set[str]:
    values: set[str] = set()
    rows = [*ProjectKey.objects.filter(project=project), *ProjectSecret.objects.filter(project=project),
            *RetiredSecret.objects.filter(project=project)]
    for row in rows:
        plaintext = crypto.decrypt(row.ciphertext)
        values.add(plaintext)
        # A multi-line value (a GCP key file, a PEM) is also printed piecemeal: each long line,
        # and for a key file each long string inside it (the private key, its id) as written out
        # and JSON-escaped.
        for line in plaintext.splitlines():
            if len(line.strip()) >= _MIN_FRAGMENT:
                values.add(line.strip())
        if getattr(row, "kind", None) == KeyType.GCP:
            try:
                data = json.loads(plaintext)
            except ValueError:
                data = {}
            for field in ("private_key", "private_key_id"):
                piece = str(data.get(field) or "")
                if len(piece) >= _MIN_FRAGMENT:
                    values.add(piece)
                    values.add(json.dumps(piece)[1:-1])
                    values.update(ln.strip() for ln in piece.splitlines()
                                  if len(ln.strip()) >= _MIN_FRAGMENT)
    return {v for v in values if len(v) >= MIN_REDACTED_LENGTH}


@sensitive_variables()
def redactor(*, project: Project) -> Callable[[str], str]:
    """A function that replaces every key secret and secret value of `project` in a text with ***.

    Longest values first, so a value containing another is hidden whole. The pattern is kept in
    this process's "redaction" cache under the project's `secrets_version` (bumped by every key or
    secret write), so a log chunk's request does not read and decrypt every value again.
    """
    cache = caches[CACHE_ALIAS]
    key, version = f"redactor:{project.pk}", project.secrets_version
    source = cache.get(key, version=version)
    if source is None:
        values = sorted(_redactable_values(project), key=len, reverse=True)
        source = "|".join(re.escape(v) for v in values)
        cache.set(key, source, version=version)
    if not source:
        return lambda text: text
    pattern = re.compile(source)

    def redact(text: str) -> str:
        return pattern.sub(REDACTED, text)

    return redact


def secrets_changed(*, project: Project) -> None:
    """The project's keys, secrets or retired values changed: later redactors read them again
    (in every process). Call inside the transaction that changes them."""
    Project.objects.filter(pk=project.pk).update(secrets_version=F("secrets_version") + 1)
    project.secrets_version = (Project.objects.filter(pk=project.pk)
                               .values_list("secrets_version", flat=True).get())
