"""Telling people: the one way services emit an in-app notice and its e-mail.

`notify` records a Notice under a key naming the event; a second report of the same event (a
retry, another worker, a repeated accrual pass) finds the key taken and sends nothing. The e-mail
leaves only when the transaction that caused it commits, so a rolled-back change tells nobody.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.models import Notice, NoticeKind, User

logger = logging.getLogger(__name__)


def absolute_url(path: str) -> str:
    """`path` on this server, for e-mails (which have no request to build it from)."""
    if not path or "://" in path:
        return path
    return settings.TRAINSHED_SITE_URL + path


def mail_send(*, to: str, subject: str, body: str) -> None:
    """Send after commit. A mail server that fails must not undo (or 500) the change it reports."""
    # A name stored before control characters were refused must not break the header.
    subject = " ".join(f"[Trainshed] {subject}".split())

    def send():
        try:
            send_mail(subject, body, None, [to], fail_silently=False)
        except Exception:
            logger.exception("could not send %r to %s", subject, to)

    transaction.on_commit(send)


def notify(*, user, kind: str, key: str, subject: str, text: str = "", url: str = "") -> Notice | None:
    """Tell `user` about the event `key` (once: None if they were already told)."""
    if kind not in NoticeKind.values:
        raise ValueError(f"unknown notice kind {kind!r}")
    notice = Notice(user=user, kind=kind, key=key[:200], subject=subject[:200], text=text, url=url)
    try:
        with transaction.atomic():
            notice.save()
    except IntegrityError:
        if Notice.objects.filter(user=user, key=notice.key).exists():
            return None
        raise
    people = User.objects.filter(pk=user.pk)
    people.update(notices_unread=F("notices_unread") + 1)
    # The preference as stored now: the caller's copy of the account may predate a change.
    active, mail_off = people.values_list("is_active", "mail_off").get()
    if active and kind not in (mail_off or []):
        body = render_to_string("accounts/email/notice.txt", {
            "notice": notice, "user": user, "link": absolute_url(url),
            "settings_link": absolute_url(reverse("accounts:settings")),
        })
        mail_send(to=user.email, subject=subject, body=body)
    return notice
