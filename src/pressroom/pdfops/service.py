"""The PDF operations' face to their routes and to the container: one object holding the parts.

    sources.py       stored documents, templates, uploads, URLs -> pipeline.SourcePdf
    plans.py         a request (an operation, options.pdf) -> pipeline.Plan
    operations.py    the operations as jobs: request -> plan -> PdfEngine -> job output (with its report)
    finishing.py     options.pdf + the TEST mark on what generate/transform rendered
    signing_keys.py  PKCS#12 keys, encrypted at rest

No part parses a PDF in this process: the :class:`pressroom.pdf.base.PdfEngine` does.
"""

from __future__ import annotations

from typing import Any

from pressroom.db.models_pdf import SigningKey
from pressroom.pdf.base import PdfEngine
from pressroom.pdfops.operations import PdfOperations
from pressroom.pdfops.signing_keys import SigningKeys
from pressroom.pdfops.sources import PdfSources


class PdfOpsService:
    def __init__(self, operations: PdfOperations, sources: PdfSources, keys: SigningKeys, engine: PdfEngine) -> None:
        self.operations = operations
        self.sources = sources
        self.keys = keys
        self.engine = engine

    def start(self) -> None:
        self.engine.start()

    def close(self) -> None:
        self.engine.close()

    def store_uploads(self, account_id: str, files: list[bytes]) -> list[dict[str, Any]]:
        return self.sources.store_uploads(account_id, files)

    def preview(self, account_id: str, document_id: str, page: int, dpi: int, password: str | None) -> bytes:
        return self.operations.preview(account_id, document_id, page, dpi, password)

    def create_key(self, account_id: str, name: str, pkcs12: bytes, password: str | None) -> SigningKey:
        return self.keys.create_key(account_id, name, pkcs12, password)

    def create_key_from_base64(self, account_id: str, name: str, pkcs12_b64: str, password: str | None) -> SigningKey:
        return self.keys.create_key_from_base64(account_id, name, pkcs12_b64, password)

    def list_keys(self, account_id: str) -> list[SigningKey]:
        return self.keys.list_keys(account_id)

    def get_key(self, account_id: str, key_id: str) -> SigningKey:
        return self.keys.get_key(account_id, key_id)

    def delete_key(self, account_id: str, key_id: str) -> None:
        self.keys.delete_key(account_id, key_id)
