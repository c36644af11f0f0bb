"""Build one sealed dossier from a snapshot: charts, HTML, PDF with embedded files, manifest
signed with Ed25519, PAdES seal. Returns the bytes and the manifest; storing is the registry's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reports import document, integrity
from reports.sealing import Sealer


@dataclass(frozen=True)
class BuiltDossier:
    pdf: bytes
    manifest: dict[str, Any]
    manifest_bytes: bytes
    html: str

    @property
    def sha256(self) -> str:
        return integrity.sha256(self.pdf)


def build(snapshot: dict[str, Any], signer: Any, sealer: Sealer) -> BuiltDossier:
    svgs = document.draw_charts(snapshot)
    html = document.render_html(snapshot, svgs)
    files = {integrity.SNAPSHOT: integrity.canonical(snapshot)}
    files.update({f"chart-{name}.svg": svg.encode() for name, svg in svgs.items()})
    manifest = integrity.build_manifest(snapshot, files, html, sealer.fingerprint, signer.key_id)
    manifest_bytes = integrity.canonical(manifest)
    attachments = {
        integrity.MANIFEST: manifest_bytes,
        integrity.MANIFEST_SIGNATURE: integrity.sign_manifest(manifest_bytes, signer),
        **files,
    }
    pdf = document.render_pdf(html, attachments, identifier=snapshot["dossier_id"])
    sealed = integrity.seal(pdf, sealer, reason=f"Dossier {snapshot['dossier_id']} issued by "
                                                f"the registry")
    return BuiltDossier(sealed, manifest, manifest_bytes, html)
