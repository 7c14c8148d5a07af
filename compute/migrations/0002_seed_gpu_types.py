"""Seed the GPU catalogue. Operators change names and prices in the admin afterwards."""

from decimal import Decimal

from django.db import migrations

CATALOGUE = [
    # slug, name, GPU memory (GB), credits per GPU-hour
    ("cpu", "CPU", 0, Decimal("0.10")),
    ("t4", "NVIDIA T4", 16, Decimal("0.35")),
    ("a4000", "NVIDIA RTX A4000", 16, Decimal("0.76")),
    ("a6000", "NVIDIA RTX A6000", 48, Decimal("1.89")),
    ("a100", "NVIDIA A100", 80, Decimal("3.09")),
    ("h100", "NVIDIA H100", 80, Decimal("5.95")),
]


def seed(apps, schema_editor):
    GpuType = apps.get_model("compute", "GpuType")
    for slug, name, memory, price in CATALOGUE:
        GpuType.objects.get_or_create(
            slug=slug, defaults={"name": name, "memory_gb": memory, "credits_per_gpu_hour": price}
        )


class Migration(migrations.Migration):
    dependencies = [("compute", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
