"""Helpers for the PDF tests: a self-signed PKCS#12 key, and the independent tools' verdicts."""

from __future__ import annotations

import datetime
import io
import subprocess
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

FIXTURES = Path(__file__).resolve().parent


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def self_signed_pkcs12(password: bytes = b"secret", common_name: str = "Pressroom Test Signer") -> tuple[bytes, bytes]:
    """(PKCS#12 bytes, certificate PEM) of a fresh self-signed RSA-2048 signing certificate."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(usage, critical=True)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    data = pkcs12.serialize_key_and_certificates(
        b"signer", key, cert, None, serialization.BestAvailableEncryption(password)
    )
    return data, cert.public_bytes(serialization.Encoding.PEM)


def run_tool(*args: str, pdf: bytes) -> subprocess.CompletedProcess[str]:
    """Run a poppler/qpdf tool on ``pdf`` (written to a temp file: pdfsig cannot read stdin)."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(pdf)
        handle.flush()
        return subprocess.run([*args, handle.name], capture_output=True, text=True, timeout=60)


def pyhanko_verdict(pdf: bytes, cert_pem: bytes) -> tuple[bool, bool]:
    """(intact, valid) of the first signature, by pyHanko's validator trusting ``cert_pem``."""
    from asn1crypto import pem
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext
    from pyhanko_certvalidator.registry import SimpleTrustManager

    _, _, der = pem.unarmor(cert_pem)
    root = asn1_x509.Certificate.load(der)
    context = ValidationContext(trust_manager=SimpleTrustManager.build(trust_roots=[root]), allow_fetching=False)
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    signature = reader.embedded_signatures[0]
    status = validate_pdf_signature(signature, context)
    return bool(status.intact), bool(status.valid)
