from django.dispatch import Signal

# Sent before a project is deleted (kwargs: project). A receiver returns a message (str) to refuse,
# e.g. resources: "a job of this project is running". Lets `projects` ask without importing.
project_deleting = Signal()

# Sent inside the transaction that ends a membership (removal or leaving); kwargs: project, user,
# actor, stop_running. Lets the jobs app end the former member's queued work (and, when asked,
# their running jobs) without `projects` importing it.
member_removed = Signal()

# Sent inside the transaction of `project_settings_update` when "only owned compute" changed;
# kwargs: project, actor. Lets compute refresh the project's GPU types without `projects`
# importing it (web, API and CLI alike).
owned_compute_changed = Signal()

# Asked before a member accepts ownership (kwargs: project, user). A receiver returns a warning
# (str) the person should read first, e.g. compute: "only owned compute" and no node of theirs.
ownership_accepting = Signal()
