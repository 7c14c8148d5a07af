def active_project(request):
    """The active project, and whether the header shows the switcher: only when the person has a
    project besides it. The switcher's choices are loaded when it is opened (`projects:switcher`),
    so pages don't pay for them."""
    project = getattr(request, "project", None)
    if project is None:
        return {"active_project": None}
    return {"active_project": project, "switcher_shown": getattr(project, "has_other_projects", False)}
