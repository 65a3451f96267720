"""A change event's award now names the contract model in its own app; the
table and its foreign key stay as they are, so only the state changes."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("contracts", "0001_initial"),
        ("watch", "0002_tie_removed_events"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="changeevent",
                    name="award",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="contracts.contractaward",
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
