def active_project(request):
    """The active project (`request.project`, read only if a template uses it). The header
    (`templates/_nav.html`) shows the switcher when the person has a project besides it."""
    return {"active_project": getattr(request, "project", None)}
