"""What makes a dossier provable: the manifest, its Ed25519 signature, the PAdES seal, and the
offline verification of all three.

Binding: the manifest lists the SHA-256 of every section (canonical JSON of its data), of every
embedded file and of the rendered HTML, plus the fingerprint of the sealing certificate; the
registry's Ed25519 key signs the manifest; the PAdES signature (ECDSA P-256) covers every byte of
the PDF, manifest included. So a changed byte breaks the seal, a re-sealed forgery fails the
manifest's certificate pin, and a forged manifest fails the Ed25519 signature.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from reports.sealing import Sealer, certificate_fingerprint

MANIFEST = "manifest.json"
MANIFEST_SIGNATURE = "manifest.sig.json"
SNAPSHOT = "snapshot.json"
MANIFEST_FORMAT = "dmd-dossier-manifest/1"
SIGNATURE_FIELD = "RegistrySeal"


def canonical(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8 (the audit trail's convention): same data, same bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str).encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def section_hashes(snapshot: dict[str, Any]) -> dict[str, str]:
    return {s["key"]: sha256(canonical(s)) for s in snapshot["sections"]}


def build_manifest(snapshot: dict[str, Any], files: dict[str, bytes], html: str,
                   seal_fingerprint: str, key_id: str) -> dict[str, Any]:
    return {
        "format": MANIFEST_FORMAT,
        "dossier_id": snapshot["dossier_id"],
        "generated_at": snapshot["generated_at"],
        "device": snapshot["device"],
        "registry": {**snapshot["registry"], "key_id": key_id},
        "seal_certificate_sha256": seal_fingerprint,
        "html_sha256": sha256(html.encode()),
        "sections": section_hashes(snapshot),
        "files": {name: sha256(content) for name, content in sorted(files.items())},
        "artifacts": snapshot.get("artifacts", []),
    }


def sign_manifest(manifest_bytes: bytes, signer: Any) -> bytes:
    """``signer`` is the registry's Ed25519 signer (``registry.signing.Signer``)."""
    return canonical({
        "algorithm": "Ed25519",
        "key_id": signer.key_id,
        "public_key_pem": signer.public_pem,
        "signature": signer.sign(manifest_bytes),
    })


def seal(pdf: bytes, sealer: Sealer, reason: str, field_name: str = SIGNATURE_FIELD) -> bytes:
    """Add a PAdES B-B signature (ECDSA P-256, SHA-256) covering the whole file."""
    from asn1crypto import keys, x509
    from cryptography.hazmat.primitives import serialization
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    certificate = x509.Certificate.load(sealer.certificate_der)
    key = keys.PrivateKeyInfo.load(sealer.private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    signer = signers.SimpleSigner(signing_cert=certificate, signing_key=key,
                                  cert_registry=SimpleCertificateStore.from_certs([certificate]))
    meta = signers.PdfSignatureMetadata(
        field_name=field_name, subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256", reason=reason, name=sealer.subject,
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    return _outside_event_loop(
        lambda: signers.PdfSigner(meta, signer=signer).sign_pdf(writer).getvalue())


# --- verification -----------------------------------------------------------------------------


@dataclass
class Check:
    name: str
    ok: bool | None  # None: not checked (e.g. online checks without a registry)
    message: str


@dataclass
class Verification:
    sha256: str
    checks: list[Check] = field(default_factory=list)
    manifest: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return all(c.ok is not False for c in self.checks) and any(c.ok for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.ok is False]

    def add(self, name: str, ok: bool | None, message: str) -> bool:
        self.checks.append(Check(name, ok, message))
        return bool(ok)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "sha256": self.sha256,
                "dossier_id": (self.manifest or {}).get("dossier_id"),
                "checks": [{"name": c.name, "ok": c.ok, "message": c.message}
                           for c in self.checks]}


def _attachments(pdf: bytes) -> dict[str, bytes]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf), strict=False)
    return {name: contents[0] for name, contents in reader.attachments.items()}


def _outside_event_loop(call):
    """pyHanko's synchronous signing and validation call asyncio.run(), which refuses to run
    inside a running event loop (an async caller, Playwright's sync API); use a thread there."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return call()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


def _check_seal(pdf: bytes, result: Verification) -> str | None:
    """Validate the PAdES signature; return the signer certificate's fingerprint when intact."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    try:
        signatures = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures
        if len(signatures) != 1:
            result.add("PAdES signature", False,
                       f"expected one registry seal, found {len(signatures)} signatures")
            return None
        embedded = signatures[0]
        # Trust is established through the manifest's certificate pin, not a CA: the seal's
        # own certificate is the trust root for the cryptographic check.
        status = _outside_event_loop(lambda: validate_pdf_signature(
            embedded, ValidationContext(trust_roots=[embedded.signer_cert])))
    except Exception as exc:  # any parse failure of a damaged file is a failed check
        result.add("PAdES signature", False, f"the signature could not be read or checked: "
                                              f"{type(exc).__name__}: {exc}")
        return None
    problem = None
    if not status.intact:
        problem = "the signed bytes changed after sealing (document digest mismatch)"
    elif not status.valid:
        problem = "the ECDSA signature value does not verify"
    elif status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        problem = "bytes were added or changed after the seal (it no longer covers the whole file)"
    if problem:
        result.add("PAdES signature", False, problem)
        return None
    der = embedded.signer_cert.dump()
    result.add("PAdES signature", True,
               f"intact and valid, covers the whole file; sealed by "
               f"{embedded.signer_cert.subject.human_friendly}")
    return certificate_fingerprint(der)


@contextmanager
def _quiet_readers():
    """Damaged files make pypdf and pyHanko log and warn; the checks report it instead."""
    loggers = [logging.getLogger(name) for name in ("pypdf", "pyhanko")]
    levels = [lg.level for lg in loggers]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for lg in loggers:
            lg.setLevel(logging.CRITICAL)
        try:
            yield
        finally:
            for lg, level in zip(loggers, levels, strict=True):
                lg.setLevel(level)


def verify_pdf(pdf: bytes, public_key_pem: str | None = None,
               expected_sha256: str | None = None) -> Verification:
    """Check a dossier offline: seal, manifest signature, embedded files, sections, file hash.

    ``public_key_pem`` is the registry's published Ed25519 key; without it the key embedded in
    the file is used and the check says so (it then proves integrity, not origin).
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    result = Verification(sha256=sha256(pdf))
    if expected_sha256 is not None:
        result.add("file hash", expected_sha256.lower() == result.sha256,
                   f"SHA-256 {result.sha256} " + ("matches" if expected_sha256.lower()
                   == result.sha256 else f"differs from the expected {expected_sha256}"))
    if not pdf.startswith(b"%PDF-"):
        result.add("PDF", False, "this is not a PDF file (no %PDF- header)")
        return result
    with _quiet_readers():
        seal_fingerprint = _check_seal(pdf, result)
        try:
            files = _attachments(pdf)
        except Exception as exc:
            result.add("embedded files", False,
                       f"the embedded files could not be read: {type(exc).__name__}: {exc}")
            return result
    if MANIFEST not in files or MANIFEST_SIGNATURE not in files:
        result.add("manifest", False, f"the PDF does not embed {MANIFEST} and "
                                      f"{MANIFEST_SIGNATURE}; it is not a registry dossier")
        return result
    manifest_bytes = files[MANIFEST]
    try:
        manifest = json.loads(manifest_bytes)
        signature = json.loads(files[MANIFEST_SIGNATURE])
    except ValueError as exc:
        result.add("manifest", False, f"the manifest is not valid JSON: {exc}")
        return result
    result.manifest = manifest
    # Ed25519 signature of the manifest.
    key_note = "the registry's published key" if public_key_pem else (
        "the key embedded in the file (pass the registry's published key to prove origin)")
    try:
        key = serialization.load_pem_public_key(
            (public_key_pem or signature["public_key_pem"]).encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        key.verify(base64.b64decode(signature["signature"]), manifest_bytes)
        result.add("manifest signature", True, f"Ed25519 signature verifies with {key_note}")
    except Exception as exc:
        result.add("manifest signature", False,
                   f"the manifest's Ed25519 signature does not verify with {key_note}"
                   f"{': ' + str(exc) if str(exc) else ''}")
    # The seal must be the registry's: its certificate is pinned in the signed manifest.
    if seal_fingerprint is not None:
        pinned = manifest.get("seal_certificate_sha256")
        result.add("seal certificate", seal_fingerprint == pinned,
                   "the PDF was sealed with the certificate pinned in the manifest"
                   if seal_fingerprint == pinned else
                   f"the PDF was sealed with certificate {seal_fingerprint[:16]}..., not the "
                   f"registry's {str(pinned)[:16]}... named in the manifest")
    # Every embedded file, and every section of the snapshot, against the manifest.
    listed = manifest.get("files", {})
    present = {n: c for n, c in files.items() if n not in (MANIFEST, MANIFEST_SIGNATURE)}
    bad = sorted(n for n in listed if n not in present or sha256(present[n]) != listed[n])
    extra = sorted(set(present) - set(listed))
    if bad or extra:
        result.add("embedded files", False,
                   "; ".join([f"{n} differs from its manifest hash or is missing" for n in bad]
                             + [f"{n} is not listed in the manifest" for n in extra]))
    else:
        result.add("embedded files", True, f"{len(listed)} files match their manifest hashes")
    if SNAPSHOT in present and SNAPSHOT not in bad:
        snapshot = json.loads(present[SNAPSHOT])
        got = section_hashes(snapshot)
        wrong = sorted(k for k in set(got) | set(manifest.get("sections", {}))
                       if got.get(k) != manifest["sections"].get(k))
        result.add("sections", not wrong,
                   f"{len(got)} sections match their manifest hashes" if not wrong else
                   "sections changed or missing: " + ", ".join(wrong))
    return result
