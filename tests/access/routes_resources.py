"""Datasets and models: per-type levels. Lists and create forms act in the active project
(`as_active`); one object's URLs act in the object's own project whatever is active, so they are
asked with each person's Personal project active (an outsider still gets 404)."""

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.access.spec import TYPE_MANAGE, TYPE_READ, Route, builder, expect

# The outsider's session never points at the world's project, so list and create URLs act in the
# outsider's own Personal project: allowed there, and nothing of the world's project is shown.
LIST_READ = expect("ok", "ok", "ok", 404, "ok")
CREATE_MANAGE = expect("ok", "ok", 403, 404, "ok")


def _make(kind: str, w):
    from resources import services

    return services.resource_create_from_upload(
        kind=kind, project=w.project, name=f"matrix {kind}", created_by=w.people["owner"],
        files=[SimpleUploadedFile("data.csv", b"a,b\n1,2\n")],
    )


@builder("dataset")
def _dataset(w):
    return _make("datasets", w)


@builder("model")
def _model(w):
    return _make("models", w)


def _rows(kind: str, name: str, obj: str) -> dict[str, Route]:
    pk = lambda w: {"pk": getattr(w, obj).pk}  # noqa: E731
    return {
        f"resources:{name}-list": Route(get=LIST_READ, as_active=True),
        f"resources:{name}-create": Route(get=CREATE_MANAGE, post=CREATE_MANAGE, as_active=True),
        f"resources:{name}-import": Route(get=CREATE_MANAGE, post=CREATE_MANAGE, as_active=True),
        f"resources:{name}-detail": Route(kwargs=pk, get=TYPE_READ),
        f"resources:{name}-download": Route(kwargs=pk, get=TYPE_READ),
        f"resources:{name}-file": Route(
            kwargs=lambda w: {"pk": getattr(w, obj).pk, "path": "data.csv"}, get=TYPE_READ,
        ),
        f"resources:{name}-rename": Route(
            kwargs=pk, get=TYPE_MANAGE, post=TYPE_MANAGE, data=lambda w: {"name": "renamed"},
        ),
        f"resources:{name}-delete": Route(kwargs=pk, get=TYPE_MANAGE, post=TYPE_MANAGE),
    }


ROUTES = {**_rows("datasets", "dataset", "dataset"), **_rows("models", "model", "model")}
