from tests.access.spec import ANY_SIGNED_IN, NOT_ALLOWED, PROJECT_VISIBLE, Route

ROUTES = {
    "home": Route(get=ANY_SIGNED_IN, post=NOT_ALLOWED),
    "projects:switch": Route(
        get=NOT_ALLOWED, post=PROJECT_VISIBLE, data=lambda w: {"project": str(w.project.pk)}
    ),
}
