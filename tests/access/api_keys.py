"""API matrix rows for third-party keys and secrets: the owner only; everyone else, even a member
with "all" access, gets 404 (as on the web, nothing says they exist)."""

from tests.access.routes_api import ApiRoute, api_expect

#: Owner only and invisible to everyone else; a read-only key may read but not write.
OWNER_ONLY_READ = api_expect(200, 404, 404, 404, 404, read_only=200, other_project=404)
OWNER_ONLY_WRITE = api_expect("ok", 404, 404, 404, 404, read_only=403, other_project=404)


def _with_key(w):
    from projects import keys

    keys.key_set(project=w.project, kind="huggingface", public={}, secret="hf_matrix_secret_0001",
                 actor=None)
    return {"project_id": w.project.pk, "kind": "huggingface"}


def _with_secret(w):
    from projects import keys

    keys.secret_set(project=w.project, name="WANDB_API_KEY", value="wandb-matrix-0001", actor=None)
    return {"project_id": w.project.pk, "name": "WANDB_API_KEY"}


API_ROUTES = {
    "GET /projects/{project_id}/keys": ApiRoute(expected=OWNER_ONLY_READ, path_kwargs=_with_key),
    "PUT /projects/{project_id}/keys/{kind}": ApiRoute(
        expected=OWNER_ONLY_WRITE, path_kwargs=lambda w: {"project_id": w.project.pk, "kind": "aws"},
        body={"key_id": "AKIAMATRIX", "secret": "aws-matrix-secret-0001"},
    ),
    "DELETE /projects/{project_id}/keys/{kind}": ApiRoute(expected=OWNER_ONLY_WRITE,
                                                          path_kwargs=_with_key),
    "GET /projects/{project_id}/secrets": ApiRoute(expected=OWNER_ONLY_READ, path_kwargs=_with_secret),
    "PUT /projects/{project_id}/secrets/{name}": ApiRoute(
        expected=OWNER_ONLY_WRITE,
        path_kwargs=lambda w: {"project_id": w.project.pk, "name": "HF_HOME_TOKEN"},
        body={"value": "matrix-value-0001"},
    ),
    "DELETE /projects/{project_id}/secrets/{name}": ApiRoute(expected=OWNER_ONLY_WRITE,
                                                             path_kwargs=_with_secret),
}
