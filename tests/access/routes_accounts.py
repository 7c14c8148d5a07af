from tests.access.spec import ANY_SIGNED_IN, Route, builder, expect


@builder("owner_notice")
def _owner_notice(w):
    from accounts.models import Notice, NoticeKind

    return Notice.objects.create(user=w.people["owner"], kind=NoticeKind.JOB_ENDED, key="access-matrix",
                                 subject="A job ended")


ROUTES = {
    "accounts:settings": Route(get=ANY_SIGNED_IN),
    "accounts:whoami": Route(get=ANY_SIGNED_IN),
    "accounts:mail-preferences": Route(post=ANY_SIGNED_IN, data=lambda w: {"mail_on": ["job_ended"]}),
    # Everyone's own notices: the page, and marking them all read.
    "accounts:notices": Route(get=ANY_SIGNED_IN, post=ANY_SIGNED_IN),
    # A notice is its person's only: anyone else's is a 404.
    "accounts:notice-open": Route(kwargs=lambda w: {"notice_id": w.owner_notice.pk},
                                  post=expect("ok", 404, 404, 404, 404)),
}
