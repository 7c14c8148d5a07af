"""People are told: an in-app notice and an e-mail for what happens to their projects, once per
event, with each kind's e-mail off when they say so."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import Notice, NoticeKind, User
from projects import services
from tests.factories import UserFactory, add_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def told(django_capture_on_commit_callbacks):
    """Run the block and its on-commit e-mails, as a committed request would."""
    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)
    return run


def _mails_to(address):
    return [m for m in mail.outbox if m.to == [address]]


def test_added_changed_and_removed_member_is_told_each_once(told, owner, project):
    bob = UserFactory(email="bob@example.com")
    told(services.member_add_by_email, project=project, email="bob@example.com", jobs="all",
         datasets="read", models="none", actor=owner)
    told(services.membership_set, project=project, user=bob, jobs="read", datasets="read",
         models="none", actor=owner)
    # Saving the same access again is no event: nobody is told.
    told(services.membership_set, project=project, user=bob, jobs="read", datasets="read",
         models="none", actor=owner)
    told(services.membership_remove, project=project, user=bob, actor=owner)

    subjects = [m.subject for m in _mails_to("bob@example.com")]
    assert subjects == ["[Trainshed] You were added to Vision Research",
                        "[Trainshed] Your access to Vision Research changed",
                        "[Trainshed] You were removed from Vision Research"]
    added = _mails_to("bob@example.com")[0].body
    assert "Added by Olivia Owner. Your access: jobs All, datasets Read-Only, models None." in added
    assert f"http://127.0.0.1:8000{reverse('projects:detail', args=[project.pk])}" in added
    changed = _mails_to("bob@example.com")[1].body
    assert "from jobs All, datasets Read-Only, models None to jobs Read-Only" in changed
    notices = list(Notice.objects.filter(user=bob).order_by("created_at", "id").values_list("kind", flat=True))
    assert notices == [NoticeKind.MEMBER_ADDED, NoticeKind.ACCESS_CHANGED, NoticeKind.MEMBER_REMOVED]
    assert User.objects.get(pk=bob.pk).notices_unread == 3


def test_ownership_offer_and_its_answer_are_told(told, owner, project):
    bob = UserFactory(email="bob@example.com", name="Bob Builder")
    add_member(project, bob)
    mail.outbox.clear()
    told(services.transfer_offer, project=project, to_user=bob, actor=owner)
    told(services.transfer_respond, project=project, user=bob, accept=False)
    told(services.transfer_offer, project=project, to_user=bob, actor=owner)
    told(services.transfer_respond, project=project, user=bob, accept=True)

    assert [m.subject for m in _mails_to("bob@example.com")] == [
        "[Trainshed] Olivia Owner offers you ownership of Vision Research"] * 2
    assert [m.subject for m in _mails_to("owner@example.com")] == [
        "[Trainshed] Bob Builder declined ownership of Vision Research",
        "[Trainshed] Bob Builder accepted ownership of Vision Research",
    ]
    assert Notice.objects.filter(user=owner, kind=NoticeKind.OWNERSHIP_ANSWER).count() == 2


def test_the_invitation_mail_carries_the_sign_up_and_sign_in_links(told, owner, project, settings):
    settings.TRAINSHED_SITE_URL = "https://trainshed.example.org"
    told(services.member_add_by_email, project=project, email="new@example.com", jobs="read",
         datasets="read", models="read", actor=owner)
    (invitation,) = _mails_to("new@example.com")
    assert "https://trainshed.example.org/accounts/signup/" in invitation.body
    detail = reverse("projects:detail", args=[project.pk])
    assert f"https://trainshed.example.org/accounts/login/?next={detail}" in invitation.body


def test_a_kind_turned_off_sends_no_mail_but_keeps_the_notice(told, client, owner, project):
    bob = UserFactory(email="bob@example.com")
    client.force_login(bob)
    kept_on = [k for k in NoticeKind.values if k != NoticeKind.MEMBER_ADDED]
    response = client.post(reverse("accounts:mail-preferences"), {"mail_on": kept_on})
    assert response.status_code == 302
    page = client.get(reverse("accounts:settings")).content.decode()
    boxes = dict(re.findall(r'<input type="checkbox" name="mail_on" value="(\w+)"([^>]*)>', page))
    assert set(boxes) == set(NoticeKind.values)
    assert "checked" not in boxes["member_added"] and "checked" in boxes["access_changed"]

    told(services.membership_set, project=project, user=bob, jobs="all", datasets="all", models="all",
         actor=owner)
    told(services.membership_set, project=project, user=bob, jobs="read", datasets="all", models="all",
         actor=owner)
    assert [m.subject for m in _mails_to("bob@example.com")] == [
        "[Trainshed] Your access to Vision Research changed"]
    assert Notice.objects.filter(user=bob).count() == 2


def test_an_unknown_mail_kind_is_refused_naming_the_field(client, user):
    client.force_login(user)
    response = client.post(reverse("accounts:mail-preferences"), {"mail_on": ["spam"]})
    assert response.status_code == 400
    assert "E-mail me when" in response.content.decode() and "spam is not one of the available choices" in (
        response.content.decode())
    assert User.objects.get(pk=user.pk).mail_off == []


def test_one_event_is_told_once_however_often_it_is_reported(told, owner, project):
    from accounts.notify import notify

    bob = UserFactory(email="bob@example.com")
    for _ in range(3):
        told(notify, user=bob, kind=NoticeKind.LOW_CREDITS, key="event:1", subject="Once")
    assert len(_mails_to("bob@example.com")) == 1
    assert Notice.objects.filter(user=bob, key="event:1").count() == 1
    assert User.objects.get(pk=bob.pk).notices_unread == 1


def test_a_rolled_back_change_tells_nobody(django_capture_on_commit_callbacks, owner, project):
    bob = UserFactory(email="bob@example.com")
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Exception, match="boom"):
        from django.db import transaction

        with transaction.atomic():
            services.membership_set(project=project, user=bob, jobs="all", datasets="all", models="all",
                                    actor=owner)
            raise RuntimeError("boom")
    assert mail.outbox == [] and not Notice.objects.filter(user=bob).exists()


def test_the_bell_counts_unread_and_the_page_marks_them_read(told, client, owner, project):
    bob = UserFactory(email="bob@example.com")
    told(services.membership_set, project=project, user=bob, jobs="all", datasets="all", models="all",
         actor=owner)
    told(services.membership_set, project=project, user=bob, jobs="read", datasets="all", models="all",
         actor=owner)
    client.force_login(bob)
    home = client.get(reverse("accounts:settings")).content.decode()
    assert 'aria-label="Notices: 2 unread"' in home and '<span class="bell-count">2</span>' in home

    page = client.get(reverse("accounts:notices")).content.decode()
    assert page.index("Your access to Vision Research changed") < page.index("You were added to Vision Research")
    first = Notice.objects.get(user=bob, kind=NoticeKind.MEMBER_ADDED)
    response = client.post(reverse("accounts:notice-open", args=[first.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("projects:detail", args=[project.pk])
    assert '<span class="bell-count">1</span>' in client.get(reverse("accounts:notices")).content.decode()

    client.post(reverse("accounts:notices"))
    page = client.get(reverse("accounts:notices")).content.decode()
    assert "bell-count" not in page and "Mark all read" not in page
    assert not Notice.objects.filter(user=bob, read_at__isnull=True).exists()


def test_another_persons_notice_is_a_404(told, client, owner, project):
    bob = UserFactory(email="bob@example.com")
    told(services.membership_set, project=project, user=bob, jobs="all", datasets="all", models="all",
         actor=owner)
    client.force_login(owner)
    notice = Notice.objects.get(user=bob)
    assert client.post(reverse("accounts:notice-open", args=[notice.pk])).status_code == 404
    assert Notice.objects.get(pk=notice.pk).read_at is None


@pytest.mark.parametrize("count", [10, 1000])
def test_the_notices_page_costs_the_same_at_any_size(client, user, count, django_assert_max_num_queries):
    Notice.objects.bulk_create(Notice(user=user, kind=NoticeKind.JOB_ENDED, key=f"k{i}", subject=f"Job {i}")
                               for i in range(count))
    client.force_login(user)
    with django_assert_max_num_queries(4):
        response = client.get(reverse("accounts:notices"))
    assert response.status_code == 200 and response.content.decode().count('<li class="notice') == min(count, 25)


def test_an_smtp_server_that_never_answers_costs_the_change_nothing(told, owner, project, settings, caplog):
    """A mail server that takes the connection and then says nothing: the send gives up after
    EMAIL_TIMEOUT and is logged, and the change it reports stands (no request hangs on it)."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held = []
    threading.Thread(target=lambda: held.append(listener.accept()), daemon=True).start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = listener.getsockname()
    settings.EMAIL_TIMEOUT = 1
    try:
        with caplog.at_level("ERROR", logger="accounts.notify"):
            told(services.member_add_by_email, project=project, email=UserFactory(email="bob@example.com").email,
                 jobs="all", datasets="read", models="none", actor=owner)
    finally:
        listener.close()
    assert project.memberships.filter(user__email="bob@example.com").exists()
    assert Notice.objects.filter(user__email="bob@example.com").count() == 1
    assert any("could not send" in r.getMessage() and "bob@example.com" in r.getMessage() for r in caplog.records)
    assert held  # the server did take the connection: the send timed out waiting for its greeting

