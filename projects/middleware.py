from django.contrib import messages
from django.core.exceptions import ValidationError
from django.utils.functional import SimpleLazyObject

from projects import access
from projects.models import Project
from projects.services import last_project_forget

SESSION_KEY = "trainshed_project"


class ActiveProjectMiddleware:
    """Puts `request.project` (the active project) on every request: for a signed-in person the
    session's choice if they may still view it, else their Personal project (dropping the stale
    choice with a message); None for anyone else. Test it for truth (`if not request.project`),
    never `is None`: like `request.user`, it is a lazy object, read from the database the first
    time something asks (a page's header, a list), so requests that never ask (API calls, the
    whoami check) don't pay for it. Runs after authentication; reads permissions afresh each request.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.project = SimpleLazyObject(lambda: self._resolve_for(request))
        return self.get_response(request)

    def _resolve_for(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        return self._resolve(request, user)

    def _resolve(self, request, user):
        """One query on the common path (`access.viewable_project`)."""
        chosen = request.session.get(SESSION_KEY)
        if chosen:
            try:
                project = access.viewable_project(user, chosen)
            except (ValidationError, ValueError, TypeError):  # a session value that is no UUID
                chosen, project = None, None
            if project is not None:
                return project
            request.session.pop(SESSION_KEY, None)
            last_project_forget(user=user)  # so the next sign-in does not bring it back either
            gone = chosen and Project.objects.filter(pk=chosen).values_list("name", flat=True).first()
            messages.warning(request, f"You no longer have access to {gone or 'that project'}.")
        return access.viewable_project(user)
