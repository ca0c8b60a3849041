"""Tenants' PKCS#12 signing keys: checked in the PDF engine when stored, kept encrypted at rest (AES-256-GCM
under a key derived from the service secret), decrypted only to sign."""

from __future__ import annotations

import base64
import binascii
import json
import os
from datetime import datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pressroom.core.errors import (
    InternalError,
    InvalidSigningKey,
    PdfLimitExceeded,
    PdfTimeout,
    ValidationFailed,
)
from pressroom.core.ids import new_id
from pressroom.db.models_pdf import SigningKey
from pressroom.db.session import Database
from pressroom.pdf.base import PdfEngine
from pressroom.pdfops.repository import SigningKeyRepository

_KEY_INFO = b"pressroom signing-keys v1"
MAX_PKCS12_BYTES = 1024 * 1024
KEY_OPEN_TIMEOUT_S = 5.0  # a real key opens in milliseconds (2 million PBKDF2 rounds: 0.5 s)


class SigningKeys:
    def __init__(self, secret_key: str, db: Database, engine: PdfEngine) -> None:
        self._secret = secret_key.encode()
        self.db = db
        self.engine = engine

    def _aead(self, salt: bytes) -> AESGCM:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=_KEY_INFO).derive(self._secret)
        return AESGCM(key)

    def create_key(self, account_id: str, name: str, pkcs12: bytes, password: str | None) -> SigningKey:
        if len(pkcs12) > MAX_PKCS12_BYTES:
            raise InvalidSigningKey(f"The PKCS#12 file exceeds {MAX_PKCS12_BYTES} bytes")
        # Opened by the engine, under a short deadline: a PKCS#12 file chooses its own key-derivation
        # iteration count (2^31 rounds would cost minutes of CPU), so opening one is untrusted work too.
        try:
            facts = self.engine.describe_certificate(
                pkcs12, password.encode() if password else None, timeout_s=KEY_OPEN_TIMEOUT_S
            )
        except PdfTimeout:
            raise InvalidSigningKey(
                f"The PKCS#12 archive does not open within {KEY_OPEN_TIMEOUT_S:g}s (key-derivation iterations)",
                details={"reason": "timeout", "timeout_s": KEY_OPEN_TIMEOUT_S},
            ) from None
        except PdfLimitExceeded:  # the sandbox's memory limit: still the archive's fault, named as such
            raise InvalidSigningKey(
                "The PKCS#12 archive exceeds the memory limit when opened", details={"reason": "memory"}
            ) from None
        key_id = new_id("skey")
        salt, nonce = os.urandom(16), os.urandom(12)
        secret = json.dumps({"pkcs12": base64.b64encode(pkcs12).decode(), "password": password}).encode()
        ciphertext = self._aead(salt).encrypt(nonce, secret, f"{account_id}:{key_id}".encode())
        record = SigningKey(
            id=key_id,
            account_id=account_id,
            name=name,
            subject=facts["subject"],
            issuer=facts["issuer"],
            serial_number=facts["serial_number"],
            fingerprint_sha256=facts["fingerprint_sha256"],
            not_before=datetime.fromisoformat(facts["not_before"]),
            not_after=datetime.fromisoformat(facts["not_after"]),
            salt=salt,
            nonce=nonce,
            ciphertext=ciphertext,
        )
        with self.db.session() as session:
            SigningKeyRepository(session).add(record)
        return record

    def create_key_from_base64(self, account_id: str, name: str, pkcs12_b64: str, password: str | None) -> SigningKey:
        try:
            data = base64.b64decode(pkcs12_b64, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationFailed("pkcs12 must be base64", details=[{"field": "pkcs12"}]) from None
        return self.create_key(account_id, name, data, password)

    def list_keys(self, account_id: str) -> list[SigningKey]:
        with self.db.session() as session:
            return SigningKeyRepository(session).newest_first_of(account_id)

    def get_key(self, account_id: str, key_id: str) -> SigningKey:
        with self.db.session() as session:
            return SigningKeyRepository(session).get_or_raise(account_id, key_id)

    def delete_key(self, account_id: str, key_id: str) -> None:
        with self.db.session() as session:
            repo = SigningKeyRepository(session)
            repo.delete(repo.get_or_raise(account_id, key_id))

    def material(self, account_id: str, key_id: str) -> tuple[bytes, str | None]:
        """The PKCS#12 bytes and password of a stored key, to sign with."""
        record = self.get_key(account_id, key_id)
        try:
            secret = self._aead(record.salt).decrypt(record.nonce, record.ciphertext, f"{account_id}:{key_id}".encode())
        except InvalidTag:
            # The service secret changed since the key was stored (or the row was tampered with).
            raise InternalError("The signing key cannot be decrypted with the current service secret") from None
        payload = json.loads(secret)
        return base64.b64decode(payload["pkcs12"]), payload["password"]
