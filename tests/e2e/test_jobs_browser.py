"""Alice, a member with All on bob's "NLP Sandbox", creates and starts a training job there in a
real browser, watches its log tail and status reach Finished, and opens the model it produced.

The job runs for real on the node's agent (AgentThread: the agent's code against the live
server), in its sandbox."""

import re

import pytest

from resources.models import Job, MLModel
from tests.factories import PASSWORD, ProjectFactory, UserFactory, add_member
from tests.jobs_helpers import AgentThread, local_node, ready, seed_gpu_types

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

COMMAND = """echo epoch 1 loss 0.9
sleep 1
echo epoch 2 loss 0.4
sleep 1
echo epoch 3 loss 0.1
echo weights > output/model.bin"""


def test_alice_trains_in_bobs_project_and_sees_her_model(live_server, page, screenshots, settings,
                                                          tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    seed_gpu_types()
    alice = UserFactory(email="alice@example.com", name="Alice")
    bob = UserFactory(email="bob@example.com", name="Bob")
    node = local_node(tmp_path, gpu_type="cpu", gpus=2)
    nlp = ready(ProjectFactory(owner=bob, name="NLP Sandbox"))
    add_member(nlp, alice, jobs="all", datasets="all", models="all")
    worker = AgentThread(node, tmp_path, url=live_server.url)
    worker.start()
    try:
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=login]", alice.email)
        page.fill("input[name=password]", PASSWORD)
        page.locator("form button[type=submit]").first.click()
        page.wait_for_url(re.compile(r".*/$"))

        page.get_by_role("link", name="Jobs").first.click()
        page.locator("#project-switcher summary").click()
        page.get_by_role("button", name=re.compile("NLP Sandbox")).click()
        page.wait_for_selector("text=No jobs in NLP Sandbox yet")
        page.get_by_role("button", name="New job").click()
        assert "Will be created in NLP Sandbox" in page.locator(".landing-project").inner_text()
        page.fill("input[name=name]", "sentiment-finetune")
        page.select_option("select[name=type]", "training")
        page.select_option("select[name=gpu_type]", "cpu")
        page.fill("textarea[name=command]", COMMAND)
        page.fill("textarea[name=env]", "EPOCHS=3")
        page.select_option("select[name=output_type]", "model")
        page.screenshot(path=str(screenshots / "e2e-jobs-form.png"), full_page=True)
        page.get_by_role("button", name="Create and start").click()
        page.wait_for_url(re.compile(r".*/jobs/[0-9a-f-]{36}/$"))

        page.wait_for_selector("#job-log:has-text('epoch 1')")  # the tail updates by polling
        page.screenshot(path=str(screenshots / "e2e-jobs-running.png"), full_page=True)
        page.wait_for_selector("[data-status=finished]", timeout=30_000)
        assert "epoch 3 loss 0.1" in page.locator("#job-log").inner_text()
        history = page.locator("table.events").inner_text()
        for status in ("New", "Starting", "Running", "Finished"):
            assert status in history
        page.screenshot(path=str(screenshots / "e2e-jobs-finished.png"), full_page=True)

        page.locator("[data-output-model]").click()
        page.wait_for_url(re.compile(r".*/models/[0-9a-f-]{36}/$"))
        page.screenshot(path=str(screenshots / "e2e-jobs-model.png"), full_page=True)
        page.wait_for_selector("h1:has-text('sentiment-finetune output')")
        assert "model.bin" in page.locator("table.file-table").inner_text()
        page.screenshot(path=str(screenshots / "e2e-jobs-model.png"), full_page=True)
    finally:
        worker.stop()
    job = Job.objects.get(name="sentiment-finetune")
    assert (job.project, job.created_by, job.status) == (nlp, alice, "finished")
    assert MLModel.objects.get(source_job=job).created_by == alice
