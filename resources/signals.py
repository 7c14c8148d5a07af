"""Signals other apps answer without resources importing them."""

from django.core.exceptions import ValidationError
from django.dispatch import Signal

#: Sent before new spending in a project: a job starts or is placed, a dataset or model is created.
#: Arguments: sender=Project, project, actor (who asks; None for the system). A receiver returns a
#: message (str) to refuse, said to that person (billing: no credits left, the monthly cap reached).
spending_requested = Signal()


def spending_refusal(*, project, actor=None) -> str | None:
    """Why new spending in `project` is refused right now (said to `actor`), or None."""
    for _receiver, refusal in spending_requested.send(sender=type(project), project=project, actor=actor):
        if refusal:
            return str(refusal)
    return None


def spending_check(*, project, actor=None) -> None:
    """Raise the refusal, if any, as a ValidationError (code "no_credits")."""
    refusal = spending_refusal(project=project, actor=actor)
    if refusal:
        raise ValidationError(refusal, code="no_credits")


#: Asked for the credits a job has been charged so far (its page shows them beside GPU-hours).
#: Arguments: sender=Job, job. A receiver returns a Decimal (billing: the sum of the job's
#: ledger charges).
job_charges_requested = Signal()


def job_charges(*, job):
    """The credits charged for `job` so far, or None when nothing answers (no billing app)."""
    answers = [amount for _receiver, amount in job_charges_requested.send(sender=type(job), job=job)
               if amount is not None]
    return sum(answers) if answers else None
