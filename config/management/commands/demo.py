import importlib

from django.core.management.base import BaseCommand
from django.db import transaction

# Each app that has demo data offers `<app>.demo.load(stdout)`; they run in this order, and each
# is idempotent, so `manage.py demo` can run on every `make run`. Billing's welcome credits come
# before resources, whose demo jobs need them to start.
DEMO_MODULES = ["accounts.demo", "projects.demo", "compute.demo", "billing.demo", "resources.demo"]


class Command(BaseCommand):
    help = "Load the demo accounts and their data (idempotent). Password: see README."

    def handle(self, *args, **options):
        try:
            self.load_all()
        finally:
            from compute.demo import stop_relays

            stop_relays()
        self.stdout.write(self.style.SUCCESS("Demo data ready."))

    def load_all(self):
        for name in DEMO_MODULES:
            try:
                module = importlib.import_module(name)
            except ModuleNotFoundError as exc:
                if exc.name != name:
                    raise
                continue
            with transaction.atomic():
                module.load(self.stdout)
