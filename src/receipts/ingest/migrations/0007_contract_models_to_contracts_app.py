"""The contract models leave this app for ``receipts.contracts``.

Only Django's state forgets them: the tables stay, with every row, and the
contracts app's first migration takes them over under the same names.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("ingest", "0006_transaction_corrected"),
        ("contracts", "0001_initial"),
        ("watch", "0003_award_from_contracts_app"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name="contractaward", name="recipient"),
                migrations.RemoveField(model_name="contractaward", name="source"),
                migrations.RemoveField(model_name="contractaward", name="sub_agency"),
                migrations.RemoveField(model_name="contracttotals", name="tie"),
                migrations.RemoveField(model_name="contracttransaction", name="recipient"),
                migrations.DeleteModel(name="DeletedContractRecord"),
                migrations.DeleteModel(name="ContractAward"),
                migrations.DeleteModel(name="ContractTotals"),
                migrations.DeleteModel(name="ContractTransaction"),
            ],
            database_operations=[],
        ),
    ]
