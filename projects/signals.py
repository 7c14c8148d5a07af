from django.dispatch import Signal

# Sent before a project is deleted (kwargs: project). A receiver returns a message (str) to refuse,
# e.g. resources: "a job of this project is running". Lets `projects` ask without importing.
project_deleting = Signal()

# Sent inside the transaction that ends a membership (removal or leaving); kwargs: project, user,
# actor, stop_running. Lets the jobs app end the former member's queued work (and, when asked,
# their running jobs) without `projects` importing it.
member_removed = Signal()
