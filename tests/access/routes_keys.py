"""Keys and secrets: the owner only; every other role gets 404 whatever the method."""

from tests.access.spec import OWNER_ONLY_HIDDEN, Route, expect

#: The owner may not GET a POST-only URL (405); everyone else cannot tell it exists (404).
POST_ONLY_HIDDEN = expect(405, 404, 404, 404, 404)


def _project(w):
    return {"project_id": w.project.pk}


ROUTES = {
    "projects:keys": Route(kwargs=_project, get=OWNER_ONLY_HIDDEN, post=expect(405, 404, 404, 404, 404)),
    "projects:key-set": Route(
        kwargs=lambda w: {"project_id": w.project.pk, "kind": "aws"},
        get=POST_ONLY_HIDDEN, post=OWNER_ONLY_HIDDEN,
        data=lambda w: {"key_id": "AKIAMATRIXEXAMPLE", "secret": "matrix-secret-value-1234"},
    ),
    "projects:key-remove": Route(
        kwargs=lambda w: {"project_id": w.project.pk, "kind": "aws"},
        get=POST_ONLY_HIDDEN, post=OWNER_ONLY_HIDDEN,
    ),
    "projects:secret-set": Route(
        kwargs=_project, get=POST_ONLY_HIDDEN, post=OWNER_ONLY_HIDDEN,
        data=lambda w: {"name": "MATRIX_TOKEN", "value": "matrix-value-5678"},
    ),
    "projects:secret-remove": Route(
        kwargs=lambda w: {"project_id": w.project.pk, "name": "MATRIX_TOKEN"},
        get=POST_ONLY_HIDDEN, post=OWNER_ONLY_HIDDEN,
    ),
}
