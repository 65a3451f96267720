"""Accounts: two-factor login (TOTP and one-time recovery codes) on top of Django's own login."""
