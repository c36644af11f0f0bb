"""The sealed dossier PDF read back: text of every section, table of contents with page numbers,
embedded files, the Ed25519-signed manifest, the PAdES seal (pyHanko's validation), rendered
pages, and tampering of every kind named by the verification."""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader

from registry import signing
from reports import document, dossier, integrity, sealing
from tests.reports.conftest import SECTION_TITLES, make_snapshot


def pdftotext(pdf: bytes, *args: str) -> str:
    return subprocess.run(["pdftotext", "-layout", *args, "-", "-"], input=pdf,
                          capture_output=True, check=True).stdout.decode()


def test_every_section_is_in_the_text_with_a_page_numbered_contents(built):
    text = pdftotext(built.pdf)
    pages = text.split("\f")
    for number, title in enumerate(SECTION_TITLES.values(), start=1):
        entry = re.search(rf"{number}\. {re.escape(title)} \.+ (\d+)", text)
        assert entry, f"contents line for {title}"
        page = pages[int(entry.group(1)) - 1]
        assert f"{number}. {title}" in page, f"{title} is not on the page the contents give"
    assert "Not recorded yet: nothing yet." in text  # the energy section of the snapshot
    total = len(PdfReader(io.BytesIO(built.pdf)).pages)
    for n in range(1, total + 1):
        assert f"Page {n} of {total}" in pages[n - 1]
    auc = make_snapshot()["sections"][1]["blocks"][0]["rows"][0][1]
    assert f"auc {auc:.3f} 0.700 to 0.800" in " ".join(text.split())  # the table row, printed


def test_embedded_files_are_the_manifest_the_snapshot_and_the_charts(built):
    files = {name: content[0] for name, content
             in PdfReader(io.BytesIO(built.pdf)).attachments.items()}
    assert files[integrity.MANIFEST] == built.manifest_bytes
    assert json.loads(files[integrity.SNAPSHOT]) == make_snapshot()
    charts = {n for n in files if n.startswith("chart-")}
    assert charts == {"chart-roc.svg", "chart-cal.svg", "chart-sub.svg", "chart-dca.svg",
                      "chart-drift.svg"}
    for name in charts:
        svg = files[name].decode()
        assert svg.startswith("<svg") and "<path" in svg and "<image" not in svg  # vector
        assert built.manifest["files"][name] == integrity.sha256(files[name])
    assert not any(page.images for page in PdfReader(io.BytesIO(built.pdf)).pages)


def test_manifest_signature_verifies_with_the_registry_key(built, keys):
    signer, sealer = keys
    files = PdfReader(io.BytesIO(built.pdf)).attachments
    signature = json.loads(files[integrity.MANIFEST_SIGNATURE][0])
    assert signature["key_id"] == signer.key_id
    public = signer.private_key.public_key()
    public.verify(base64.b64decode(signature["signature"]), files[integrity.MANIFEST][0])
    manifest = json.loads(files[integrity.MANIFEST][0])
    assert manifest["seal_certificate_sha256"] == sealer.fingerprint
    assert manifest["registry"]["audit_head"] == {"seq": 7, "hash": "a" * 64}
    assert set(manifest["sections"]) == set(SECTION_TITLES)


def test_pades_seal_validates_with_pyhanko(built, keys):
    _, sealer = keys
    embedded = PdfFileReader(io.BytesIO(built.pdf)).embedded_signatures
    assert len(embedded) == 1
    status = validate_pdf_signature(embedded[0], ValidationContext(
        trust_roots=[embedded[0].signer_cert]))
    assert status.intact and status.valid and status.trusted
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert status.md_algorithm == "sha256"
    assert embedded[0].sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES
    assert embedded[0].signer_cert.dump() == sealer.certificate_der
    assert isinstance(sealer.certificate.public_key(), ec.EllipticCurvePublicKey)
    assert sealer.certificate.public_key().curve.name == "secp256r1"


def test_verification_passes_and_a_wrong_published_key_fails(built, keys, tmp_path):
    signer, _ = keys
    result = integrity.verify_pdf(built.pdf, signer.public_pem, built.sha256)
    assert result.ok, result.to_dict()
    assert [c.name for c in result.checks] == [
        "file hash", "PAdES signature", "manifest signature", "seal certificate",
        "embedded files", "sections"]
    other = signing.load_or_create(tmp_path / "other.pem")
    wrong = integrity.verify_pdf(built.pdf, other.public_pem)
    assert [c.name for c in wrong.failures] == ["manifest signature"]
    assert "does not verify with the registry's published key" in wrong.failures[0].message
    assert not integrity.verify_pdf(built.pdf, None, "0" * 64).ok


@pytest.mark.parametrize("where", [0.02, 0.25, 0.5, 0.75, 0.9, 0.98, 0.999])
def test_one_changed_byte_anywhere_fails_with_a_named_check(built, keys, where):
    signer, _ = keys
    data = bytearray(built.pdf)
    offset = int(len(data) * where)
    data[offset] ^= 0x04
    result = integrity.verify_pdf(bytes(data), signer.public_pem)
    assert not result.ok
    assert result.failures[0].name in ("PAdES signature", "PDF")
    assert result.failures[0].message


def test_changed_byte_in_the_body_is_named_a_digest_mismatch(built, keys):
    signer, _ = keys
    data = bytearray(built.pdf)
    position = data.index(b"/Title")  # inside the signed range, not in a compressed stream
    data[position + 3] ^= 0x01
    failure = integrity.verify_pdf(bytes(data), signer.public_pem).failures[0]
    assert failure.name == "PAdES signature"
    assert "changed after sealing" in failure.message


def _insider_build(snapshot, signer, sealer, *, alter=None, pin=None):
    """What build() does, with a hook to alter the embedded files after the manifest was
    signed, or to pin another certificate than the one that seals (a forger's tools)."""
    svgs = document.draw_charts(snapshot)
    html = document.render_html(snapshot, svgs)
    files = {integrity.SNAPSHOT: integrity.canonical(snapshot)}
    manifest = integrity.build_manifest(snapshot, files, html, pin or sealer.fingerprint,
                                        signer.key_id)
    manifest_bytes = integrity.canonical(manifest)
    if alter:
        files = alter(files)
    pdf = document.render_pdf(html, {integrity.MANIFEST: manifest_bytes,
                                     integrity.MANIFEST_SIGNATURE:
                                         integrity.sign_manifest(manifest_bytes, signer),
                                     **files})
    return integrity.seal(pdf, sealer, "test")


def test_altered_snapshot_under_a_fresh_seal_is_named(keys):
    signer, sealer = keys
    snapshot = make_snapshot(1)
    forged = dict(snapshot, requested_by="someone else")
    pdf = _insider_build(snapshot, signer, sealer, alter=lambda f: {
        integrity.SNAPSHOT: integrity.canonical(forged)})
    result = integrity.verify_pdf(pdf, signer.public_pem)
    assert [c.name for c in result.failures] == ["embedded files"]
    assert "snapshot.json differs" in result.failures[0].message


def test_resealed_with_another_certificate_is_named(keys, tmp_path):
    signer, sealer = keys
    impostor = sealing.load_or_create(tmp_path, name="Impostor")
    pdf = _insider_build(make_snapshot(2), signer, impostor, pin=sealer.fingerprint)
    result = integrity.verify_pdf(pdf, signer.public_pem)
    assert [c.name for c in result.failures] == ["seal certificate"]


def test_a_forged_manifest_signature_is_named(keys, tmp_path):
    _, sealer = keys
    signer = signing.load_or_create(tmp_path / "forger.pem")
    published = signing.load_or_create(tmp_path / "registry.pem")
    pdf = dossier.build(make_snapshot(3), signer, sealer).pdf
    assert [c.name for c in integrity.verify_pdf(pdf, published.public_pem).failures] == [
        "manifest signature"]


def test_a_second_signature_or_a_plain_pdf_is_refused(built, keys, tmp_path):
    signer, _ = keys
    twice = integrity.seal(built.pdf, sealing.load_or_create(tmp_path), "again", "Other")
    assert "found 2 signatures" in integrity.verify_pdf(twice, signer.public_pem).failures[0] \
        .message
    plain = document.render_pdf("<p>hello</p>")
    names = [c.name for c in integrity.verify_pdf(plain, signer.public_pem).failures]
    assert names == ["PAdES signature", "manifest"]
    assert integrity.verify_pdf(b"not a pdf").failures[0].name == "PDF"


def test_pages_render_to_non_blank_pngs(built, tmp_path):
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-", str(tmp_path / "page")],
                   input=built.pdf, check=True)
    pngs = sorted(tmp_path.glob("page-*.png"))
    assert len(pngs) == len(PdfReader(io.BytesIO(built.pdf)).pages)
    ink = []
    for png in pngs:
        grey = Image.open(png).convert("L")
        dark = sum(grey.histogram()[:200])
        ink.append(dark / (grey.width * grey.height))
    assert all(share > 0.002 for share in ink), ink
    assert max(ink) > 5 * min(ink)  # chart pages carry far more ink than a short text page


def test_same_snapshot_gives_the_same_manifest(keys):
    signer, sealer = keys
    first = dossier.build(make_snapshot(4), signer, sealer)
    second = dossier.build(make_snapshot(4), signer, sealer)
    assert first.manifest_bytes == second.manifest_bytes
    assert first.html == second.html


def test_verification_works_inside_a_running_event_loop(built, keys):
    import asyncio

    signer, _ = keys

    async def check():
        return integrity.verify_pdf(built.pdf, signer.public_pem)

    assert asyncio.run(check()).ok
