"""Outreach: sign-up and pledge forms, flyers with QR codes, and encrypted supporter data.

Supporter data is personal and dangerous to leak: every personal field is
encrypted at rest under a per-person key, de-duplication uses a keyed blind
index, only a campaign's organisers read it, and every read is audited.
"""
