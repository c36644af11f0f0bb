"""Service functions: the one place where access is checked, rows are written and audited.

Signature order: ``session, actor, ids, validated input``. Services flush but never commit.
"""
