from django.conf import settings
from django.db import models


class BillingAccount(models.Model):
    """Where charges go. Every account has one from the moment it exists."""

    owner = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="billing_account"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["owner__email"]

    def __str__(self) -> str:
        return f"Billing account of {self.owner}"
