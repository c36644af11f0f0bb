"""The registry's PDF sealing identity: an ECDSA P-256 key and a self-signed certificate.

pyHanko signs PDFs with X.509 certificates, not bare Ed25519 keys, and PAdES readers expect
ECDSA or RSA; so the registry keeps this pair next to its Ed25519 key. The certificate is
self-signed: its fingerprint is written into the Ed25519-signed manifest, which is what binds
the PDF seal to the registry's published key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

KEY_FILE = "sealing_key.pem"
CERT_FILE = "sealing_cert.pem"
VALID_FOR = timedelta(days=3650)


@dataclass(frozen=True)
class Sealer:
    private_key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @property
    def certificate_der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @property
    def fingerprint(self) -> str:
        return certificate_fingerprint(self.certificate_der)

    @property
    def subject(self) -> str:
        return self.certificate.subject.rfc4514_string()


def certificate_fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def _new_certificate(key: ec.EllipticCurvePrivateKey, name: str) -> x509.Certificate:
    subject = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, f"{name} dossier seal"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
    ])
    now = datetime.now(UTC)
    usage = x509.KeyUsage(
        digital_signature=True, content_commitment=True, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=False,
        encipher_only=False, decipher_only=False,
    )
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + VALID_FOR)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage, critical=True)
        .sign(key, hashes.SHA256())
    )


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.chmod(0o600)
    tmp.replace(path)


def load_or_create(folder: Path, name: str = "DMD Registry") -> Sealer:
    """Load the pair from ``folder`` (the instance folder), creating it on first use."""
    key_path, cert_path = Path(folder) / KEY_FILE, Path(folder) / CERT_FILE
    if key_path.exists() and cert_path.exists():
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError(f"{key_path} does not hold an ECDSA P-256 private key")
        return Sealer(key, x509.load_pem_x509_certificate(cert_path.read_bytes()))
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = _new_certificate(key, name)
    key_path.parent.mkdir(parents=True, exist_ok=True)
    _write_private(key_path, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return Sealer(key, certificate)


_current: Sealer | None = None


def set_sealer(sealer: Sealer) -> None:
    global _current
    _current = sealer


def get_sealer() -> Sealer:
    if _current is None:
        raise RuntimeError("no sealing key configured: call create_app() or set_sealer() first")
    return _current
