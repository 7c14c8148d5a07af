"""A project's secrets_version: bumped by every key or secret write, it keys each process's cached
job-log redactor."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("projects", "0007_links_names_last_project"),
    ]

    operations = [
        migrations.AddField(
            model_name="project",
            name="secrets_version",
            field=models.PositiveIntegerField(db_default=0, default=0, editable=False),
        ),
    ]
