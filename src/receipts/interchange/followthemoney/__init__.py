"""FollowTheMoney JSON lines: the evidence graph (``evidence``) and stored contract
records (``contracts``) exported and imported, with what both share (``common``)."""
