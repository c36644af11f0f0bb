"""Electronic signatures of opinions: the signer's name, the time and the meaning of the signature
are bound to the decision by a SHA-256 over its canonical content, signed with the registry's
Ed25519 key (registry/signing.py). The signer's re-entered password is the act of signing; the
key proves the registry recorded exactly this content for that signer at that time.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from registry import signing
from registry.audit import canonical_json
from registry.models.reviews import Opinion
from registry.services.common import plain

FORMAT = "dmd-registry-opinion/1"

# The columns the signature covers (everything but the signature's own fields).
SIGNED_FIELDS = (
    "submission_id", "device_id", "model_version_id", "reviewer_organisation_id", "kind",
    "service_attendu", "asa", "decision", "certificate_number", "conditions", "rationale",
    "favourable", "scores", "derived", "amends_id", "signer_id", "signer_name", "signer_email",
    "signed_at", "meaning",
)


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    return plain(value)


def signed_fields(opinion: Opinion) -> dict[str, Any]:
    return {name: _value(getattr(opinion, name)) for name in SIGNED_FIELDS}


def seal(opinion: Opinion, context: dict[str, Any]) -> None:
    """Fill ``signed_content``, ``content_hash``, ``key_id`` and ``signature`` of a new opinion.

    ``context`` adds human-readable names (device code, version, organisation) to what is signed.
    """
    content = canonical_json({"format": FORMAT, "context": context, **signed_fields(opinion)})
    digest = hashlib.sha256(content.encode()).hexdigest()
    signer = signing.get_signer()
    opinion.signed_content = content
    opinion.content_hash = digest
    opinion.key_id = signer.key_id
    opinion.signature = signer.sign(digest.encode())


def verify(opinion: Opinion, public_key_pem: str | None = None) -> list[str]:
    """Problems found with a stored opinion's signature (empty: it is intact and signed)."""
    problems = []
    digest = hashlib.sha256(opinion.signed_content.encode()).hexdigest()
    if digest != opinion.content_hash:
        problems.append("the signed content no longer matches its SHA-256")
    signed = json.loads(opinion.signed_content)
    changed = [name for name, value in signed_fields(opinion).items() if signed.get(name) != value]
    if changed:
        problems.append(f"the record differs from what was signed: {', '.join(changed)}")
    pem = public_key_pem or signing.get_signer().public_pem
    public = signing.load_public(pem)
    if signing.key_id(public) != opinion.key_id:
        problems.append(f"signed with key {opinion.key_id}, not the registry key "
                        f"{signing.key_id(public)}")
    elif not signing.verify(public, opinion.content_hash.encode(), opinion.signature):
        problems.append("the signature does not verify with the registry key")
    return problems


def meaning(kind_label: str, organisation: str, amends_id: int | None) -> str:
    """What the signature means, in words shown next to it wherever the opinion is displayed."""
    what = f"this amendment of opinion #{amends_id}" if amends_id else f"this {kind_label}"
    return (f"Approval: the signer issues {what} on behalf of {organisation} and takes "
            "responsibility for its decision and rationale.")
