"""One owner's projects cannot share a name (case-insensitive): existing duplicates are first told
apart by a suffix — the oldest keeps its name, the next becomes "Name (2)", then "Name (3)"…
(the audit keeps nothing of this: the names were never meant to collide). And the project each
person last made active, for their next sign-in."""

import django.db.models.deletion
import django.db.models.functions.text
from django.conf import settings
from django.db import migrations, models


def suffix_duplicate_names(apps, schema_editor):
    Project = apps.get_model("projects", "Project")
    taken: dict = {}
    for project in Project.objects.order_by("owner_id", "created_at", "pk").only("pk", "name", "owner_id"):
        names = taken.setdefault(project.owner_id, set())
        name = project.name
        n = 1
        while name.lower() in names:
            n += 1
            suffix = f" ({n})"
            name = project.name[: 100 - len(suffix)] + suffix
        names.add(name.lower())
        if name != project.name:
            Project.objects.filter(pk=project.pk).update(name=name)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_api_key'),
        ('projects', '0006_project_require_two_factor'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='LastProject',
            fields=[
                ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='+', serialize=False, to=settings.AUTH_USER_MODEL)),
                ('updated_at', models.DateTimeField(auto_now=True)),
            ],
        ),
        migrations.RunPython(suffix_duplicate_names, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='project',
            constraint=models.UniqueConstraint(django.db.models.functions.text.Lower('name'), models.F('owner'), name='project_name_unique_per_owner_ci'),
        ),
        migrations.AddField(
            model_name='lastproject',
            name='project',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='projects.project'),
        ),
    ]
