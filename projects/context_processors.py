from django.utils.functional import SimpleLazyObject


def active_project(request):
    """The active project, and whether the header shows the switcher: only when the person has a
    project besides it (the middleware's query says so). Both are read only if a template uses
    them; the switcher's choices are loaded when it is opened (`projects:switcher`)."""
    project = getattr(request, "project", None)
    return {
        "active_project": project,
        "switcher_shown": SimpleLazyObject(lambda: bool(project) and bool(project.has_other_projects)),
    }
