from django.core.management.base import BaseCommand

from billing.accrual import accrue
from billing.tasks import ensure_scheduled


class Command(BaseCommand):
    help = "Charge metered usage that is due. Safe to run any time, twice, or on many workers at once."

    def add_arguments(self, parser):
        parser.add_argument("--schedule", action="store_true",
                            help="also make sure the worker's periodic accrual task is queued")

    def handle(self, *args, schedule, **options):
        results = accrue()
        for name in ("compute", "storage"):
            result = results[name]
            self.stdout.write(f"{name}: {result.created} new ledger entries ({result.considered} considered)")
        if results["jobs_stopped"]:
            self.stdout.write(f"stopped {results['jobs_stopped']} running jobs (no credits or cap reached)")
        if schedule:
            started = ensure_scheduled()
            self.stdout.write("periodic accrual queued" if started else "periodic accrual already queued")
