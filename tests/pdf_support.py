"""Helpers for the PDF tests: a self-signed PKCS#12 key, a loopback timestamp authority, and the
independent tools' verdicts."""

from __future__ import annotations

import datetime
import io
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

FIXTURES = Path(__file__).resolve().parent / "resources" / "pdf"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _self_signed(key: rsa.RSAPrivateKey, common_name: str, usage: x509.ExtensionType) -> x509.Certificate:
    """A self-signed CA certificate valid from yesterday for a year, with ``usage`` as a critical extension."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    return (
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


def self_signed_pkcs12(password: bytes = b"secret", common_name: str = "Pressroom Test Signer") -> tuple[bytes, bytes]:
    """(PKCS#12 bytes, certificate PEM) of a fresh self-signed RSA-2048 signing certificate."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
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
    cert = _self_signed(key, common_name, usage)
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


class TimestampAuthority:
    """An RFC 3161 timestamp authority on a loopback port: pyHanko's ``DummyTimeStamper`` (a real TSA
    implementation signing with the key it is given) behind ``http.server``, with a fresh self-signed TSA
    certificate (extended key usage timeStamping). ``mode`` picks the answer: "ok" (a token), "garbage"
    (the right content type, bytes that are no token) or "error" (HTTP 500)."""

    def __init__(self) -> None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        time_stamping = x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.TIME_STAMPING])
        cert = _self_signed(key, "Pressroom Test TSA", time_stamping)
        self.cert_pem = cert.public_bytes(serialization.Encoding.PEM)
        self._cert_der = cert.public_bytes(serialization.Encoding.DER)
        self._key_der = key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        self.mode = "ok"
        self.requests = 0
        self._server: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/tsa"

    def _answer(self, body: bytes) -> tuple[int, bytes]:
        from asn1crypto import keys, tsp
        from asn1crypto import x509 as asn1_x509
        from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

        self.requests += 1
        if self.mode == "error":
            return 500, b"TSA out of order"
        if self.mode == "garbage":
            return 200, b"\x30\x03\x02\x01\x07 this is no TimeStampResp"
        stamper = DummyTimeStamper(
            tsa_cert=asn1_x509.Certificate.load(self._cert_der), tsa_key=keys.PrivateKeyInfo.load(self._key_der)
        )
        return 200, stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()

    def start(self) -> TimestampAuthority:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        authority = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Type") != "application/timestamp-query":
                    status, reply = 415, b"expected application/timestamp-query"
                else:
                    status, reply = authority._answer(body)
                self.send_response(status)
                self.send_header("Content-Type", "application/timestamp-reply" if status == 200 else "text/plain")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def pyhanko_timestamp_verdict(pdf: bytes, signer_pem: bytes, tsa_pem: bytes) -> dict[str, Any]:
    """pyHanko's view of the first signature's timestamp token (the B-T evidence), trusting both test
    certificates: whether there is one, whether it is intact and valid, and the time it vouches for."""
    from asn1crypto import pem
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext
    from pyhanko_certvalidator.registry import SimpleTrustManager

    roots = [asn1_x509.Certificate.load(pem.unarmor(item)[2]) for item in (signer_pem, tsa_pem)]
    context = ValidationContext(trust_manager=SimpleTrustManager.build(trust_roots=roots), allow_fetching=False)
    signature = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures[0]
    status = validate_pdf_signature(signature, context, ts_validation_context=context)
    token = status.timestamp_validity
    return {
        "signature_valid": bool(status.intact and status.valid),
        "has_token": token is not None,
        "token_valid": token is not None and bool(token.intact and token.valid and token.trusted),
        "token_time": None if token is None else token.timestamp,
        "unsigned_attrs": [attr["type"].native for attr in signature.signer_info["unsigned_attrs"] or []],
    }


def openssl_signature_dump(pdf: bytes) -> str:
    """OpenSSL's printout of the first signature's CMS structure (its /Contents, padding cut off)."""
    import pikepdf

    with pikepdf.open(io.BytesIO(pdf)) as document:
        field = next(f for f in document.Root.AcroForm.Fields if f.get("/FT") == "/Sig")
        contents = bytes(field.V.Contents)
    size_bytes = contents[1] & 0x7F  # DER: 0x30, then a long-form length (a CMS blob is > 127 bytes)
    der = contents[: 2 + size_bytes + int.from_bytes(contents[2 : 2 + size_bytes], "big")]
    result = subprocess.run(
        ["openssl", "cms", "-cmsout", "-print", "-inform", "DER"], input=der, capture_output=True, check=True
    )
    return result.stdout.decode(errors="replace")
