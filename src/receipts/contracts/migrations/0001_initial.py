"""The contract models, moved here from the ingest app.

Their tables were made by the ingest app's migrations and keep their names,
so this changes only Django's idea of which app owns them: nothing in the
database moves. Content types follow the models, so permissions granted on
them stay attached.
"""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models

MODELS = ("contractaward", "contracttransaction", "deletedcontractrecord", "contracttotals")


def _move_content_types(apps: Any, schema_editor: Any, old: str, new: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    types = ContentType.objects.using(schema_editor.connection.alias)
    # A content type already made under the new label (a partial migrate) stays.
    taken = set(types.filter(app_label=new, model__in=MODELS).values_list("model", flat=True))
    types.filter(app_label=old, model__in=set(MODELS) - taken).update(app_label=new)


def content_types_to_contracts(apps: Any, schema_editor: Any) -> None:
    _move_content_types(apps, schema_editor, "ingest", "contracts")


def content_types_to_ingest(apps: Any, schema_editor: Any) -> None:
    _move_content_types(apps, schema_editor, "contracts", "ingest")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("evidence", "0005_ids_followthemoney_keeps"),
        ("ingest", "0006_transaction_corrected"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ContractTotals",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("obligated_cents", models.BigIntegerField()),
                        ("award_count", models.PositiveIntegerField()),
                        ("transaction_count", models.PositiveIntegerField()),
                        ("first_action_date", models.CharField(blank=True, max_length=10)),
                        ("last_action_date", models.CharField(blank=True, max_length=10)),
                        (
                            "by_fiscal_year",
                            models.JSONField(
                                default=dict, help_text="Fiscal year -> obligated cents."
                            ),
                        ),
                        (
                            "tie",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="contract_totals",
                                to="evidence.tie",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name_plural": "contract totals",
                        "db_table": "ingest_contracttotals",
                    },
                ),
                migrations.CreateModel(
                    name="ContractTransaction",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "transaction_key",
                            models.CharField(
                                max_length=250,
                                unique=True,
                                verbose_name="contract transaction unique key",
                            ),
                        ),
                        ("award_key", models.CharField(db_index=True, max_length=200)),
                        ("modification_number", models.CharField(blank=True, max_length=50)),
                        ("action_date", models.CharField(max_length=10)),
                        ("fiscal_year", models.PositiveSmallIntegerField()),
                        (
                            "obligation_cents",
                            models.BigIntegerField(
                                help_text="federal_action_obligation, in cents; negative for de-obligations."
                            ),
                        ),
                        ("recipient_uei", models.CharField(blank=True, max_length=12)),
                        ("recipient_duns", models.CharField(blank=True, max_length=9)),
                        ("recipient_name", models.CharField(blank=True, max_length=500)),
                        ("parent_uei", models.CharField(blank=True, max_length=12)),
                        ("parent_duns", models.CharField(blank=True, max_length=9)),
                        ("parent_name", models.CharField(blank=True, max_length=500)),
                        (
                            "corrected",
                            models.BooleanField(
                                default=False,
                                help_text="Written by a delta file's correction (C): a row of the same date without the mark (the download it corrected, read again) does not undo it.",
                            ),
                        ),
                        ("last_modified", models.CharField(blank=True, max_length=32)),
                        (
                            "recipient",
                            models.ForeignKey(
                                blank=True,
                                db_constraint=False,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to="evidence.entity",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "ingest_contracttransaction",
                    },
                ),
                migrations.CreateModel(
                    name="DeletedContractRecord",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "kind",
                            models.CharField(
                                choices=[("transaction", "transaction"), ("award", "award")],
                                max_length=12,
                            ),
                        ),
                        ("key", models.CharField(max_length=250)),
                        ("last_modified", models.CharField(blank=True, max_length=32)),
                        ("deleted_at", models.DateTimeField()),
                    ],
                    options={
                        "db_table": "ingest_deletedcontractrecord",
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("kind", "key"), name="deleted_contract_record_key"
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="ContractAward",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "award_key",
                            models.CharField(
                                max_length=200,
                                unique=True,
                                verbose_name="contract award unique key",
                            ),
                        ),
                        ("piid", models.CharField(blank=True, max_length=100, verbose_name="PIID")),
                        (
                            "parent_piid",
                            models.CharField(
                                blank=True, max_length=100, verbose_name="parent award PIID"
                            ),
                        ),
                        ("awarding_agency_code", models.CharField(blank=True, max_length=10)),
                        ("awarding_sub_agency_code", models.CharField(blank=True, max_length=10)),
                        ("awarding_office_code", models.CharField(blank=True, max_length=20)),
                        (
                            "recipient_uei",
                            models.CharField(
                                blank=True, max_length=12, verbose_name="recipient UEI"
                            ),
                        ),
                        (
                            "recipient_duns",
                            models.CharField(
                                blank=True, max_length=9, verbose_name="recipient DUNS"
                            ),
                        ),
                        ("recipient_name", models.CharField(blank=True, max_length=500)),
                        (
                            "parent_uei",
                            models.CharField(
                                blank=True, max_length=12, verbose_name="recipient parent UEI"
                            ),
                        ),
                        (
                            "parent_duns",
                            models.CharField(
                                blank=True, max_length=9, verbose_name="recipient parent DUNS"
                            ),
                        ),
                        (
                            "parent_name",
                            models.CharField(
                                blank=True, max_length=500, verbose_name="recipient parent name"
                            ),
                        ),
                        ("description", models.TextField(blank=True)),
                        (
                            "summary_obligated_cents",
                            models.BigIntegerField(
                                blank=True,
                                help_text="total_obligated_amount from an award summary file; used only when no transaction of the award is stored.",
                                null=True,
                            ),
                        ),
                        ("summary_base_date", models.CharField(blank=True, max_length=10)),
                        ("summary_latest_date", models.CharField(blank=True, max_length=10)),
                        ("permalink", models.URLField(blank=True, max_length=500)),
                        ("last_modified", models.CharField(blank=True, max_length=32)),
                        (
                            "recipient",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="contract_awards",
                                to="evidence.entity",
                            ),
                        ),
                        (
                            "source",
                            models.ForeignKey(
                                blank=True,
                                help_text="The dataset-row source that cites this award.",
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="evidence.source",
                            ),
                        ),
                        (
                            "sub_agency",
                            models.ForeignKey(
                                blank=True,
                                help_text="The awarding sub-agency (e.g. ICE), the object of the contract tie.",
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="evidence.entity",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "ingest_contractaward",
                        "indexes": [
                            models.Index(
                                fields=["recipient", "sub_agency"],
                                name="ingest_cont_recipie_2c03b4_idx",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_to_contracts, content_types_to_ingest),
    ]
