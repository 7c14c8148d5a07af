from django.core.management.base import BaseCommand, CommandError

from projects import crypto, keys


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored third-party key and secret with the first key of "
        "TRAINSHED_FERNET_KEYS. Put the new key first (keep the old ones after it), run this, "
        "then drop the old keys."
    )

    def handle(self, *args, **options):
        try:
            n_keys, n_secrets = keys.keys_rotate_all()
        except crypto.UndecryptableError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(
            f"Re-encrypted {n_keys} keys and {n_secrets} secrets with the first key."
        ))
