import secrets

from django.db import migrations, models
from django.utils import timezone


def first_generation(apps, schema_editor):
    ContentGeneration = apps.get_model("pagecache", "ContentGeneration")
    ContentGeneration.objects.using(schema_editor.connection.alias).get_or_create(
        pk=1, defaults={"token": secrets.token_hex(16), "changed_at": timezone.now()}
    )


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="ContentGeneration",
            fields=[
                (
                    "id",
                    models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False),
                ),
                ("token", models.CharField(max_length=32)),
                ("changed_at", models.DateTimeField()),
            ],
        ),
        migrations.RunPython(first_generation, migrations.RunPython.noop),
    ]
