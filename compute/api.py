"""GPU types over the REST API: what a project may use, and the owner's refresh of that list.
The paths sit under /projects/{id}/ (the list belongs to a project) but live here, since
`projects` does not import `compute`."""

import uuid
from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.pagination import paginate
from ninja.security import HttpBearer

from compute import selectors, services
from compute.models import GpuType
from core.api import ERRORS, Pagination
from projects.api_auth import project_by_id

router = Router(tags=["compute"])


class NodeTokenAuth(HttpBearer):
    """`Authorization: Bearer tsn_…`: a node's agent. A missing, unknown or revoked token answers
    401; the request then acts for that node only (`request.auth`)."""

    openapi_description = "A node token (the Compute page, or `manage.py node register`)."

    def authenticate(self, request: HttpRequest, token: str):
        return services.node_by_token(raw=token)


class GpuTypeOut(Schema):
    slug: str
    name: str
    memory_gb: int
    credits_per_gpu_hour: str

    @staticmethod
    def resolve_credits_per_gpu_hour(gpu_type: GpuType) -> str:
        return str(gpu_type.credits_per_gpu_hour)


class GpuTypesRefreshedOut(Schema):
    refreshed_at: datetime | None
    owned_compute_only: bool
    gpu_types: list[GpuTypeOut]


@router.get("/projects/{project_id}/gpu-types", response={200: list[GpuTypeOut], **ERRORS})
@paginate(Pagination)
def gpu_type_list(request: HttpRequest, project_id: uuid.UUID):
    """The GPU types jobs of this project may ask for (anyone who can view the project). A
    Personal project's list is always current; another project's is as of its last refresh."""
    project = project_by_id(request, project_id)
    return selectors.available_gpu_types(project=project)


@router.post("/projects/{project_id}/gpu-types/refresh", response={200: GpuTypesRefreshedOut, **ERRORS})
def gpu_type_refresh(request: HttpRequest, project_id: uuid.UUID):
    """Recompute the project's GPU types from the nodes online now (owner only)."""
    project = project_by_id(request, project_id)
    stored = services.project_gpu_types_refresh(project=project, actor=request.user)
    return {"refreshed_at": stored.refreshed_at, "owned_compute_only": stored.owned_only_at_refresh,
            "gpu_types": list(stored.gpu_types.order_by("credits_per_gpu_hour", "name"))}
