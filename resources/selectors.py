"""Reads of datasets and models. Every query starts from the project."""

from __future__ import annotations

from django.shortcuts import get_object_or_404

from projects.models import Project
from resources.models import KINDS, StoredStatus

#: ?sort= value -> ordering
SORTS = {
    "name": "name", "-name": "-name",
    "size": "size_bytes", "-size": "-size_bytes",
    "created": "created_at", "-created": "-created_at",
}
DEFAULT_SORT = "-created"


def resources_list(*, kind: str, project: Project, status: str | None = None,
                   sort: str = DEFAULT_SORT):
    """The datasets or models of `project`, optionally of one status, in a known order."""
    return _resources(kind, project, status if status in StoredStatus.values else None, sort)


def _resources(kind: str, project, status: str | None, sort: str):
    """`resources_list` of `project` (a Project or its id); of one status unless `status` is None."""
    resource_cls = KINDS[kind][0]
    qs = resource_cls.objects.in_project(project).select_related("created_by", "storage_node")
    if status is not None:
        qs = qs.filter(status=status)
    return qs.order_by(SORTS.get(sort, SORTS[DEFAULT_SORT]), "pk")


# What a datasets or models list shows of each.
LIST_FIELDS = ("name", "status", "size_bytes", "file_count", "created_at", "created_by__email",
               "storage_node__name")


def resources_for_list(*, kind: str, project: Project, status: str | None = None, sort: str = DEFAULT_SORT):
    """`resources_list` with only the columns the list shows: one query for a page at any size."""
    return resources_list(kind=kind, project=project, status=status, sort=sort).only(*LIST_FIELDS)


def resource_get(*, kind: str, project: Project, pk):
    """One dataset or model of `project`; another project's id is a 404 like a missing one."""
    resource_cls = KINDS[kind][0]
    return get_object_or_404(
        resource_cls.objects.in_project(project).select_related("created_by", "project", "storage_node"),
        pk=pk,
    )


def resource_files(*, resource):
    return resource.files.all().order_by("path")


def resource_file_get(*, resource, path: str):
    return get_object_or_404(resource.files.all(), path=path)


def datasets_list(*, project: Project, status: str | None = None, sort: str = DEFAULT_SORT):
    return resources_list(kind="datasets", project=project, status=status, sort=sort)


def models_list(*, project: Project, status: str | None = None, sort: str = DEFAULT_SORT):
    return resources_list(kind="models", project=project, status=status, sort=sort)
