"""Third-party keys and project secrets: what each key type holds, the writes (services), the reads
for display (selectors), and what a job gets (`job_environment`, `redactor`).

Who may call what:
- views, the API and the CLI go through `access.require(user, project, "secrets")` first (owner
  only, 404 for everyone else), then call the services below with `actor=request.user`;
- the jobs runner calls `job_environment()` and `redactor()` (no actor: it acts for the project).

No secret value is ever put into an exception message, an audit entry or a log line here; every
function that holds one is `@sensitive_variables` so a crash report shows none.
"""

from projects.keys.environment import job_environment, job_environment_and_files
from projects.keys.redaction import MIN_REDACTED_LENGTH, REDACTED, redactor
from projects.keys.selectors import KeyRow, keys_for_display, secrets_for_display, secrets_listed
from projects.keys.services import (
    key_remove,
    key_set,
    keys_copy_from_personal,
    keys_rotate_all,
    secret_remove,
    secret_set,
)
from projects.keys.specs import (
    GCP_CREDENTIALS_FILE,
    KEY_SPECS,
    MAX_SECRET_LENGTH,
    NAME_RE,
    RESERVED_NAMES,
    RESERVED_PREFIXES,
    KeySpec,
    PublicField,
    spec_for,
)
from projects.keys.validation import clean_secret_name

__all__ = [
    "GCP_CREDENTIALS_FILE", "KEY_SPECS", "MAX_SECRET_LENGTH", "NAME_RE", "REDACTED", "RESERVED_NAMES",
    "RESERVED_PREFIXES", "KeyRow", "KeySpec", "PublicField", "clean_secret_name", "job_environment",
    "job_environment_and_files", "MIN_REDACTED_LENGTH", "secrets_listed",
    "key_remove", "key_set", "keys_copy_from_personal", "keys_for_display",
    "keys_rotate_all", "redactor", "secret_remove", "secret_set", "secrets_for_display", "spec_for",
]
