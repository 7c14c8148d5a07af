"""Parts of the dashboard and the project page are kept in the fragment cache under everything
they show: a change shows on the very next view."""

from django.urls import reverse

from projects import services
from projects.middleware import SESSION_KEY


def test_a_shared_rows_new_access_and_active_mark_show_on_the_next_view(client, project, member_read):
    client.force_login(member_read)
    row = _shared_row(client.get(reverse("projects:list")).content.decode(), project)
    assert row.count("Read-Only") == 3 and "Make active" in row
    services.membership_set(project=project, user=member_read, jobs="all", datasets="read", models="none",
                            actor=None)
    session = client.session
    session[SESSION_KEY] = str(project.pk)
    session.save()
    row = _shared_row(client.get(reverse("projects:list")).content.decode(), project)
    assert row.count("Read-Only") == 1 and ">All<" in row and ">None<" in row
    assert ">Active<" in row and "Make active" not in row


def test_a_renamed_projects_lazy_sections_name_it_on_the_next_view(client, owner, project):
    client.force_login(owner)
    url = reverse("projects:detail", args=[project.pk])
    page = client.get(url).content.decode()
    assert "Keys and secrets of Vision Research" in page and "Audit log of Vision Research" in page
    assert 'value="Vision Research"' in page  # the rename field
    services.project_rename(project=project, name="Vision Lab", actor=owner)
    page = client.get(url).content.decode()
    assert "Keys and secrets of Vision Lab" in page and "Audit log of Vision Lab" in page
    assert 'value="Vision Lab"' in page and "Vision Research" not in page


def _shared_row(page: str, project) -> str:
    start = page.index(f'href="{reverse("projects:detail", args=[project.pk])}"')
    return page[start:page.index("</tr>", start)]
