from django.utils.functional import SimpleLazyObject


def active_project(request):
    """The active project, and whether the header shows the switcher: only when the person has a
    project besides it. Both stay lazy until a template uses them; the switcher's choices are
    loaded when it is opened (`projects:switcher`), so pages don't pay for them."""
    project = getattr(request, "project", None)

    def switcher_shown() -> bool:
        return bool(project) and getattr(project, "has_other_projects", False)

    return {"active_project": project, "switcher_shown": SimpleLazyObject(switcher_shown)}
