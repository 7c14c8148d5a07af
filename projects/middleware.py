from django.contrib import messages
from django.core.exceptions import ValidationError

from projects import access, selectors
from projects.models import Project

SESSION_KEY = "trainshed_project"


class ActiveProjectMiddleware:
    """Puts `request.project` (the active project) on every request of a signed-in person.

    The session's choice if they may still view it; else their Personal project, dropping the
    stale choice with a message. Runs after authentication; reads permissions afresh each request.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.project = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            request.project = self._resolve(request, user)
        return self.get_response(request)

    def _resolve(self, request, user):
        chosen = request.session.get(SESSION_KEY)
        if chosen:
            try:
                project = Project.objects.select_related("owner").filter(pk=chosen).first()
            except (ValidationError, ValueError, TypeError):  # a session value that is no UUID
                project = None
            if project is not None and access.can(user, project):
                return project
            request.session.pop(SESSION_KEY, None)
            name = project.name if project is not None else "that project"
            messages.warning(request, f"You no longer have access to {name}.")
        try:
            return selectors.personal_project(user=user)
        except Project.DoesNotExist:
            return None
