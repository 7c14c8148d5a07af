"""The list pages keep their rows in the fragment cache under everything they show: a job or a
dataset that changed shows its new values on the very next view, never the cached row."""

from django.urls import reverse
from django.utils import timezone

from compute.models import GpuType
from resources.models import Dataset, Job
from tests.factories import sign_in_to


def test_a_changed_job_shows_its_new_name_and_status_on_the_next_view(client, owner, project):
    job = Job.objects.create(project=project, name="first-name", gpu_type=GpuType.objects.get(slug="cpu"),
                             command="x", created_by=owner, status="finished", created_at=timezone.now())
    sign_in_to(client, owner, project)
    page = client.get(reverse("resources:job-list")).content.decode()
    assert "first-name" in page and 'data-status="finished"' in page
    Job.objects.filter(pk=job.pk).update(name="second-name", status="failed")
    page = client.get(reverse("resources:job-list")).content.decode()
    assert "second-name" in page and "first-name" not in page
    assert 'data-status="failed"' in page and 'data-status="finished"' not in page
    type(owner).objects.filter(pk=owner.pk).update(email="renamed-owner@example.com")
    Job.objects.filter(pk=job.pk).update(gpu_count=3)
    page = client.get(reverse("resources:job-list")).content.decode()
    assert "<td>renamed-owner@example.com</td>" in page and "<td>3 × " in page


def test_a_changed_dataset_shows_its_new_name_status_and_size_on_the_next_view(client, owner, project):
    dataset = Dataset.objects.create(project=project, name="raw-images", status="downloading", created_by=owner)
    sign_in_to(client, owner, project)
    page = client.get(reverse("resources:dataset-list")).content.decode()
    assert "raw-images" in page and 'data-status="downloading"' in page
    Dataset.objects.filter(pk=dataset.pk).update(name="clean-images", status="ready", size_bytes=2048,
                                                  file_count=7)
    page = client.get(reverse("resources:dataset-list")).content.decode()
    assert "clean-images" in page and "raw-images" not in page and 'data-status="ready"' in page
    assert "2.0\xa0KB" in page and "<td>7</td>" in page
