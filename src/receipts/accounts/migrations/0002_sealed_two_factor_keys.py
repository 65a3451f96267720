"""Seal authenticator secrets and key recovery-code digests; end sessions stored under their cookie.

The login keyring lives outside the database (``receipts.accounts.keys``): it
is created on first need, here only if a device or a recovery code exists.
Existing recovery codes keep working (their SHA-256 digests are keyed in
place). Sessions filed under the cookie's own value are deleted: everyone
logs in again.
"""

from typing import Any

from django.db import migrations, models


def seal_existing(apps: Any, schema_editor: Any) -> None:
    from receipts.accounts import keys

    TOTPDevice = apps.get_model("otp_totp", "TOTPDevice")
    RecoveryCode = apps.get_model("accounts", "RecoveryCode")
    Session = apps.get_model("sessions", "Session")
    alias = schema_editor.connection.alias
    for device in TOTPDevice.objects.using(alias).all():
        if not keys.is_sealed(device.key):
            device.key = keys.seal_totp_key(device.key, user_id=device.user_id)
            device.save(update_fields=["key"])
    for code in RecoveryCode.objects.using(alias).all():
        code.digest = keys.recovery_digest(code.digest)
        code.save(update_fields=["digest"])
    Session.objects.using(alias).all().delete()


def open_existing(apps: Any, schema_editor: Any) -> None:
    """Back to hex keys for django-otp's own TOTPDevice; keyed digests cannot be unkeyed."""
    from receipts.accounts import keys

    TOTPDevice = apps.get_model("otp_totp", "TOTPDevice")
    alias = schema_editor.connection.alias
    for device in TOTPDevice.objects.using(alias).all():
        if keys.is_sealed(device.key):
            device.key = keys.open_totp_key(device.key, user_id=device.user_id).hex()
            device.save(update_fields=["key"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("otp_totp", "0003_add_timestamps"),
        ("sessions", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuthenticatorApp",
            fields=[],
            options={
                "verbose_name": "authenticator app",
                "proxy": True,
                "indexes": [],
                "constraints": [],
            },
            bases=("otp_totp.totpdevice",),
        ),
        migrations.AlterField(
            model_name="recoverycode",
            name="digest",
            field=models.CharField(
                help_text="HMAC-SHA256, under an index key of the login keyring, of the SHA-256 of the code (lower case, without hyphens), in hex.",
                max_length=64,
            ),
        ),
        migrations.RunPython(seal_existing, open_existing),
    ]
