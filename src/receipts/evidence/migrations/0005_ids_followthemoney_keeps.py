"""Give every entity, source and tie an id FollowTheMoney keeps.

Imports named award sources after USAspending's award key
(``usaspending-award-CONT_AWD_..._-NONE-``), which FollowTheMoney refuses as an
entity id, so such a database could not be exported. Each such id becomes the
one ``ftm_id_for`` gives, the id imports now give the same record, so a later
import finds the renamed row instead of adding a second one.
"""

from typing import Any

from django.db import migrations

from receipts.evidence.ftm_ids import ftm_id_for, is_ftm_id


def rename_ids(apps: Any, schema_editor: Any) -> None:
    for name in ("Source", "Entity", "Tie"):
        model = apps.get_model("evidence", name)
        rows = model.objects.using(schema_editor.connection.alias)
        renames = []
        for pk, ftm_id in rows.values_list("pk", "ftm_id").iterator(chunk_size=2000):
            if not is_ftm_id(ftm_id):
                renames.append((pk, ftm_id_for(ftm_id)))
        if not renames:
            continue
        taken: set[str] = set()
        for start in range(0, len(renames), 500):
            wanted = [new for _, new in renames[start : start + 500]]
            taken.update(rows.filter(ftm_id__in=wanted).values_list("ftm_id", flat=True))
        for pk, new in renames:
            # A row already holding the new id keeps it; the export names the other one.
            if new not in taken:
                rows.filter(pk=pk).update(ftm_id=new)
                taken.add(new)


class Migration(migrations.Migration):
    dependencies = [
        ("evidence", "0004_long_text_limits"),
    ]

    operations = [migrations.RunPython(rename_ids, migrations.RunPython.noop, elidable=True)]
