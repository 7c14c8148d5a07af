"""In a real browser: a finished job's page shows its credits and which part of the log it shows,
loads earlier lines, runs the job again (the copy runs for real on the node's agent, and the
"Starting" message goes once it has moved on) and copies it to an edited new job; the owner turns
"only owned compute" on and stops the jobs left on public nodes; a member offered ownership of
that project, with no node of their own, is warned and confirms."""

import re

import pytest
from django.utils import timezone

from projects.services import transfer_offer
from resources.jobs import services as job_services
from resources.models import Job, JobStatus
from tests.e2e.helpers import sign_in
from tests.factories import ProjectFactory, UserFactory, add_member, make_node
from tests.jobs_helpers import AgentThread, local_node, make_job, ready, seed_gpu_types

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _switch_to(page, name: str) -> None:
    page.locator("#project-switcher summary").click()
    page.get_by_role("button", name=re.compile(name)).click()
    page.wait_for_selector(f"#project-switcher summary strong:has-text('{name}')")


def test_run_again_copy_and_the_log_view(live_server, page, screenshots, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    seed_gpu_types()
    bob = UserFactory(email="bob@example.com", name="Bob")
    node = local_node(tmp_path, gpu_type="cpu", gpus=2)
    team = ready(ProjectFactory(owner=bob, name="Vision"))
    job = make_job(team, bob, name="resnet-train", command="echo epoch 1\nsleep 2\necho done", env={"EPOCHS": "3"})
    for seq in range(1, 11):  # a finished job with a 1,000-line log
        text = "".join(f"step {n} loss {1 / n:.4f}\n" for n in range((seq - 1) * 100 + 1, seq * 100 + 1))
        job_services.run_log_append(job=job, seq=seq, text=text, redact=lambda t: t)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.FINISHED, started_at=timezone.now(),
                                         ended_at=timezone.now())
    worker = AgentThread(node, tmp_path, url=live_server.url)
    worker.start()
    try:
        sign_in(page, live_server.url, bob.email)
        _switch_to(page, "Vision")
        page.goto(f"{live_server.url}/jobs/{job.pk}/")
        assert "Showing the last 200 of 1,000 lines." in page.locator("[data-log-extent]").inner_text()
        assert page.locator("[data-credits]").inner_text().startswith("0.00")
        page.locator("[data-load-earlier]").click()
        page.wait_for_selector("pre.log-part:has-text('step 601 loss')")
        assert "600 lines before these" in page.locator(".log-earlier").inner_text()
        page.screenshot(path=str(screenshots / "e2e-rerun-log-earlier.png"), full_page=True)

        page.locator("[data-copy]").click()
        page.wait_for_url(re.compile(r".*/jobs/[0-9a-f-]{36}/copy/$"))
        assert page.input_value("input[name=name]") == "resnet-train"
        assert page.input_value("textarea[name=env]") == "EPOCHS=3"
        page.screenshot(path=str(screenshots / "e2e-rerun-copy-form.png"), full_page=True)
        page.fill("input[name=name]", "resnet-train v2")
        page.get_by_role("button", name="Create", exact=True).click()
        page.wait_for_selector("h1:has-text('resnet-train v2')")

        page.goto(f"{live_server.url}/jobs/{job.pk}/")
        page.get_by_role("button", name="Run again").click()
        page.wait_for_selector(".flash.job-start:has-text('Starting it.')")
        assert "/jobs/" in page.url and str(job.pk) not in page.url
        page.screenshot(path=str(screenshots / "e2e-rerun-started.png"), full_page=True)
        page.wait_for_selector("[data-status=finished]", timeout=30_000)
        page.wait_for_selector(".flash.job-start", state="detached")  # the poll dropped it
        assert "done" in page.locator("#job-log").inner_text()
        assert "All 2 lines." in page.locator("[data-log-extent]").inner_text()
        page.screenshot(path=str(screenshots / "e2e-rerun-finished.png"), full_page=True)
    finally:
        worker.stop()
    names = sorted(Job.objects.filter(project=team).values_list("name", "status"))
    assert names == [("resnet-train", "finished"), ("resnet-train", "finished"), ("resnet-train v2", "new")]


def test_owned_compute_switch_and_the_warned_ownership_offer(live_server, page, screenshots):
    seed_gpu_types()
    bob = UserFactory(email="bob@example.com", name="Bob")
    carol = UserFactory(email="carol@example.com", name="Carol")
    public = make_node(gpu_type="cpu", gpus=4, name="public-cpu")
    make_node(owner=bob, gpu_type="a100", gpus=2, name="bobs-a100")
    team = ready(ProjectFactory(owner=bob, name="Vision"))
    add_member(team, carol, jobs="all", datasets="all", models="all")
    running = make_job(team, bob, name="long-train")
    Job.objects.filter(pk=running.pk).update(status=JobStatus.RUNNING, node=public, started_at=timezone.now(),
                                             last_heartbeat=timezone.now())

    sign_in(page, live_server.url, bob.email)
    page.goto(f"{live_server.url}/compute/projects/{team.pk}/")
    page.locator("input[name=owned_compute_only]").check()
    page.get_by_role("button", name="Update").click()
    page.wait_for_selector("text=Available GPU types refreshed: NVIDIA A100.")
    page.wait_for_selector("[data-public-jobs]:has-text('long-train')")
    page.screenshot(path=str(screenshots / "e2e-owned-only-leftovers.png"), full_page=True)
    page.locator("[data-stop-public]").click()
    page.wait_for_selector("text=Stopping 1 job(s) on public nodes.")
    running.refresh_from_db()
    assert running.stop_requested_at is not None

    transfer_offer(project=team, to_user=carol, actor=bob)
    page.context.clear_cookies()
    sign_in(page, live_server.url, carol.email)
    page.goto(f"{live_server.url}/projects/{team.pk}/")
    assert "no online node of your own" in page.locator("[data-offer-warning]").inner_text()
    page.screenshot(path=str(screenshots / "e2e-ownership-warning.png"), full_page=True)
    page.locator("[data-accept-anyway]").click()
    page.wait_for_selector("text=You now own Vision.")
    team.refresh_from_db()
    assert team.owner == carol
