from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils.functional import SimpleLazyObject

from projects import access
from projects.models import Project

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
        """One query on the common path: the project with its owner, the person's permissions on
        it and whether they have another project (the switcher)."""
        chosen = request.session.get(SESSION_KEY)
        if chosen:
            try:
                project = access.viewable_project(user, chosen)
            except (ValidationError, ValueError, TypeError):  # a session value that is no UUID
                chosen, project = None, None
            if project is not None:
                return project
            request.session.pop(SESSION_KEY, None)
            gone = chosen and Project.objects.filter(pk=chosen).values_list("name", flat=True).first()
            messages.warning(request, f"You no longer have access to {gone or 'that project'}.")
        return access.viewable_project(user)


def page_project(request, project_id, what: access.What = "project", level: access.Level = "read") -> Project:
    """`access.project_for(request.user, project_id, what, level)` for a page about one project
    with the layout's header: the active project the header shows is read in the same statement
    (one statement, not two, when the page is about another project). A stale or malformed
    choice in the session is left to the middleware, which drops it with a message."""
    user, chosen = request.user, request.session.get(SESSION_KEY)
    try:
        Project._meta.pk.to_python(chosen)
    except ValidationError:
        return access.project_for(user, project_id, what, level)
    try:
        project, active = access.viewable_projects(user, project_id, chosen)
    except (ValidationError, ValueError, TypeError) as exc:
        raise Http404 from exc
    if project is None:
        raise Http404
    access.require(user, project, what, level)
    if active is not None:
        request.project = active
    return project
