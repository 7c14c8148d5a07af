"""Reading and marking a person's notices (the bell in the header and the Notices page)."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Notice, NoticeKind, User


def notices_of(*, user):
    return Notice.objects.filter(user=user).order_by("-created_at", "-id")


@transaction.atomic
def notices_mark_read(*, user, notice_id: int | None = None) -> int:
    """Mark one of `user`'s notices (or all of them) read; returns how many changed."""
    unread = Notice.objects.filter(user=user, read_at__isnull=True)
    chosen = unread.filter(pk=notice_id) if notice_id is not None else unread
    changed = chosen.update(read_at=timezone.now())
    # The bell's counter is set from the rows again, so any drift ends at the next read.
    user.notices_unread = unread.count()
    User.objects.filter(pk=user.pk).update(notices_unread=user.notices_unread)
    return changed


@transaction.atomic
def mail_preferences_set(*, user, mail_on: list[str]) -> list[str]:
    """Turn each kind's e-mail on (listed) or off (not listed); returns the kinds now off."""
    unknown = set(mail_on) - set(NoticeKind.values)
    if unknown:
        raise ValidationError({"mail_on": f"Unknown kind of e-mail: {', '.join(sorted(unknown))}."})
    user.mail_off = [kind for kind in NoticeKind.values if kind not in mail_on]
    user.save(update_fields=["mail_off", "updated_at"])
    return user.mail_off
