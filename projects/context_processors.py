from django.utils.functional import SimpleLazyObject

from projects import selectors


def active_project(request):
    """The header's project switcher: shown only when there is a non-personal project to pick."""
    project = getattr(request, "project", None)
    user = getattr(request, "user", None)
    if project is None or user is None or not user.is_authenticated:
        return {"active_project": None}

    def _choices():
        return list(selectors.projects_for_user(user=user))

    choices = SimpleLazyObject(_choices)
    return {"active_project": project, "switcher_projects": choices}
