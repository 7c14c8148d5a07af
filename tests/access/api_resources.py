"""API matrix rows for datasets and models. The matrix sends `X-Trainshed-Project: <the world's
project>`, so every operation acts there: read needs read access to the type, writes need "all";
a "none" member, an outsider and a key limited to another project get 404."""

import io
import tarfile

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.access.routes_api import ApiRoute, api_expect

TYPE_READ = api_expect(200, 200, 200, 404, 404, read_only=200, other_project=404)
TYPE_MANAGE = api_expect("ok", "ok", 403, 404, 404, read_only=403, other_project=404)


def _resource(kind: str):
    def kwargs(w):
        from resources import services

        made = w.__dict__.setdefault("_api_resources", {})
        if kind not in made:
            made[kind] = services.resource_create_from_upload(
                kind=kind, project=w.project, name=f"matrix {kind}", created_by=w.people["owner"],
                files=[SimpleUploadedFile("data.csv", b"a,b\n1,2\n")],
            )
        return {"resource_id": made[kind].pk, "file_path": "data.csv"}

    return kwargs


def _upload():
    return {"name": "uploaded", "files": [SimpleUploadedFile("data.csv", b"a,b\n1,2\n")]}


def _tar_upload():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        info = tarfile.TarInfo("data.csv")
        info.size = 8
        tf.addfile(info, io.BytesIO(b"a,b\n1,2\n"))
    return "?name=uploaded", buf.getvalue(), "application/x-tar"


def _rows(kind: str) -> dict[str, ApiRoute]:
    one = _resource(kind)
    return {
        f"GET /{kind}": ApiRoute(expected=TYPE_READ),
        f"POST /{kind}": ApiRoute(expected=TYPE_MANAGE, multipart=_upload),
        f"POST /{kind}/tar": ApiRoute(expected=TYPE_MANAGE, raw=_tar_upload),
        f"POST /{kind}/from-url": ApiRoute(
            expected=TYPE_MANAGE, body={"name": "fetched", "source_url": "https://example.com/d.zip"},
        ),
        f"GET /{kind}/{{resource_id}}": ApiRoute(expected=TYPE_READ, path_kwargs=one),
        f"PATCH /{kind}/{{resource_id}}": ApiRoute(expected=TYPE_MANAGE, path_kwargs=one,
                                                   body={"name": "renamed"}),
        f"DELETE /{kind}/{{resource_id}}": ApiRoute(expected=TYPE_MANAGE, path_kwargs=one),
        f"GET /{kind}/{{resource_id}}/files": ApiRoute(expected=TYPE_READ, path_kwargs=one),
        f"GET /{kind}/{{resource_id}}/download": ApiRoute(
            expected=TYPE_READ, path_kwargs=one, content_type="application/zip"),
        f"GET /{kind}/{{resource_id}}/files/{{file_path}}": ApiRoute(
            expected=TYPE_READ, path_kwargs=one, content_type="application/octet-stream"),
    }


API_ROUTES = {**_rows("datasets"), **_rows("models")}
