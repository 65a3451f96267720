import django.db.models.deletion
from django.db import migrations, models

# Transactions stored before each carried its own recipient belonged to their
# award's recipient, which is what their ties counted: keep it so.
FILL_FROM_AWARDS = """
    UPDATE ingest_contracttransaction
    SET recipient_id = (
        SELECT a.recipient_id FROM ingest_contractaward a
        WHERE a.award_key = ingest_contracttransaction.award_key
    )
"""


class Migration(migrations.Migration):
    dependencies = [
        ("evidence", "0003_tie_end_pair_indexes"),
        ("ingest", "0003_name_only_recipients_and_undone_by"),
    ]

    operations = [
        migrations.AddField(
            model_name="contracttransaction",
            name="recipient",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="evidence.entity",
            ),
        ),
        migrations.RunSQL(FILL_FROM_AWARDS, reverse_sql=migrations.RunSQL.noop),
    ]
