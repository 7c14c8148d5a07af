"""`runserver`, refusing a non-loopback address while DEBUG is on (config/bind.py)."""

from django.core.management.base import CommandError
from whitenoise.runserver_nostatic.management.commands.runserver import Command as BaseCommand

from config.bind import debug_bind_refusal


class Command(BaseCommand):
    def handle(self, *args, **options):
        refusal = debug_bind_refusal(options.get("addrport") or "", ipv6=bool(options.get("use_ipv6")))
        if refusal:
            raise CommandError(refusal)
        super().handle(*args, **options)
