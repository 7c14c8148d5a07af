from django.dispatch import Signal

# Sent before a project is deleted (kwargs: project). A receiver returns a message (str) to refuse,
# e.g. resources: "a job of this project is running". Lets `projects` ask without importing.
project_deleting = Signal()
