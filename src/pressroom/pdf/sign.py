"""sign: PAdES signatures with pyHanko (B-B, or B-T with a timestamp authority), optionally visible.

The signature is an incremental update: the signed bytes are the input bytes plus one appended
revision, so anything done to the document must happen before signing. When the document is also
encrypted, it is encrypted first and signed afterwards under the owner password (encrypting a signed
file would rewrite it and break the signature).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from pressroom.core.errors import InvalidSigningKey, TimestampFailed, Unprocessable

TSA_TIMEOUT_S = 15


@dataclass(frozen=True)
class SignatureBox:
    page: int = 1  # 1-based
    rect: tuple[float, float, float, float] = (36.0, 36.0, 236.0, 96.0)  # x1, y1, x2, y2 in points
    text: str | None = None  # defaults to "Signed by <name>\n<time>"
    image: bytes | None = None


@dataclass(frozen=True)
class SignRequest:
    pkcs12: bytes
    passphrase: bytes | None
    field_name: str = "Signature1"
    reason: str | None = None
    location: str | None = None
    contact: str | None = None
    box: SignatureBox | None = None
    timestamp_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def load_signer(pkcs12: bytes, passphrase: bytes | None) -> Any:
    """A pyHanko signer from PKCS#12 data; a bad archive or password is a 422 INVALID_SIGNING_KEY."""
    from pyhanko.sign import signers

    try:
        signer = signers.SimpleSigner.load_pkcs12_data(pkcs12, other_certs=(), passphrase=passphrase)
    except (ValueError, TypeError) as exc:
        raise InvalidSigningKey(f"The PKCS#12 archive cannot be opened: {exc}") from None
    if signer is None or getattr(signer, "signing_cert", None) is None:
        raise InvalidSigningKey("The PKCS#12 archive has no private key and certificate, or the password is wrong")
    return signer


def describe_certificate(pkcs12: bytes, passphrase: bytes | None) -> dict[str, Any]:
    """Public facts about the key's certificate, for the signing-key listing (never the key itself)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.serialization import pkcs12 as p12

    try:
        key, cert, _chain = p12.load_key_and_certificates(pkcs12, passphrase)
    except (ValueError, TypeError) as exc:
        raise InvalidSigningKey(f"The PKCS#12 archive cannot be opened: {exc}") from None
    if key is None or cert is None:
        raise InvalidSigningKey("The PKCS#12 archive must hold a private key and its certificate")
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "serial_number": format(cert.serial_number, "x"),
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": cert.not_valid_after_utc.isoformat(),
        "fingerprint_sha256": cert.fingerprint(hashes.SHA256()).hex(),
    }


def sign(data: bytes, request: SignRequest, *, owner_password: str | None = None) -> bytes:
    """Sign ``data`` (PAdES baseline); ``owner_password`` when the document is encrypted."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.stamp import TextStampStyle

    signer = load_signer(request.pkcs12, request.passphrase)
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    if owner_password is not None:
        writer.encrypt(owner_password)  # type: ignore[no-untyped-call]
    timestamper = _timestamper(request.timestamp_url) if request.timestamp_url else None
    meta = signers.PdfSignatureMetadata(
        field_name=request.field_name,
        reason=request.reason,
        location=request.location,
        contact_info=request.contact,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        use_pades_lta=False,
    )
    field_spec = None
    stamp_style = None
    if request.box is not None:
        page_count = int(writer.root["/Pages"]["/Count"])
        if not 1 <= request.box.page <= page_count:
            raise Unprocessable(
                f"Signature box page {request.box.page} is out of range 1-{page_count}",
                code="INVALID_PAGE_RANGE",
                details={"page": request.box.page, "page_count": page_count},
            )
        x1, y1, x2, y2 = (int(value) for value in request.box.rect)
        field_spec = fields.SigFieldSpec(request.field_name, on_page=request.box.page - 1, box=(x1, y1, x2, y2))
        background = None
        if request.box.image is not None:
            from PIL import Image
            from pyhanko.pdf_utils.images import PdfImage

            background = PdfImage(Image.open(io.BytesIO(request.box.image)))
        text = request.box.text or "Signed by %(signer)s\n%(ts)s"
        stamp_style = TextStampStyle(stamp_text=text, background=background, background_opacity=0.6)
    pdf_signer = signers.PdfSigner(
        meta, signer=signer, timestamper=timestamper, stamp_style=stamp_style, new_field_spec=field_spec
    )
    output = pdf_signer.sign_pdf(writer)
    return bytes(output.getvalue())


def _timestamper(url: str) -> Any:
    """An RFC 3161 client (PAdES B-T) whose every failure - unreachable, HTTP error, a reply that is not a
    granted, well-formed token for our request (pyHanko checks status, nonce and structure) - is a 502
    TIMESTAMP_FAILED naming the authority, instead of an internal error."""
    from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper

    class CheckedTimeStamper(RequestsHTTPTimeStamper):
        async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> Any:
            try:
                return await super().async_timestamp(message_digest, md_algorithm)
            except Exception as exc:  # network errors, TimestampRequestError, asn1 parsing errors alike
                reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
                raise TimestampFailed(
                    f"The timestamp authority did not provide a valid timestamp: {reason}",
                    details={"timestamp_url": url, "reason": reason},
                ) from None

    return CheckedTimeStamper(url, timeout=TSA_TIMEOUT_S)  # type: ignore[no-untyped-call]
