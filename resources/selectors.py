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
    resource_cls = KINDS[kind][0]
    qs = resource_cls.objects.in_project(project).select_related("created_by", "storage_node")
    if status in StoredStatus.values:
        qs = qs.filter(status=status)
    return qs.order_by(SORTS.get(sort, SORTS[DEFAULT_SORT]), "pk")


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
