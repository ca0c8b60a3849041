"""A request (an operation's model, or ``options.pdf``) becomes a :class:`pipeline.Plan`: its sources
resolved, each step's spec checked and converted. Nothing here parses a PDF: the engine runs the plan."""

from __future__ import annotations

from typing import Any

from pressroom.config import PdfSettings
from pressroom.core.errors import PdfLimitExceeded, ValidationFailed
from pressroom.pdf import facturx, pdfa, pipeline
from pressroom.pdf.sign import SignatureBox
from pressroom.pdf.sign import SignRequest as SignPlan
from pressroom.pdfops.schemas import (
    CompressRequest,
    CompressSpec,
    EmbedRequest,
    EncryptionSpec,
    EncryptRequest,
    FacturxRequest,
    FacturxSpec,
    MergeRequest,
    MetadataRequest,
    MetadataSpec,
    PdfaRequest,
    PdfOptions,
    SignRequest,
    SignSpec,
    SplitRequest,
    WatermarkRequest,
)
from pressroom.pdfops.signing_keys import SigningKeys
from pressroom.pdfops.sources import PdfSources, Uploads, check_pixels


class PlanBuilder:
    def __init__(self, limits: PdfSettings, sources: PdfSources, keys: SigningKeys) -> None:
        self.limits = limits
        self.sources = sources
        self.keys = keys

    def empty(self, sources: list[pipeline.SourcePdf], *, test_mode: bool) -> pipeline.Plan:
        """A plan of ``sources`` with no step yet, under the configured limits."""
        return pipeline.Plan(
            sources=sources,
            max_pages=self.limits.max_pages,
            max_decoded_bytes=self.limits.max_decoded_bytes,
            test_mode=test_mode,
        )

    def for_operation(self, model: Any, account: str, uploads: Uploads, *, test_mode: bool) -> pipeline.Plan:
        """The plan of one PDF operation request (``OPERATION_MODELS``), before its ``options.pdf``."""
        if isinstance(model, MergeRequest):
            if len(model.sources) > self.limits.max_sources:
                raise PdfLimitExceeded(
                    f"At most {self.limits.max_sources} sources can be merged",
                    details={"limit": "sources", "max_sources": self.limits.max_sources},
                )
            stored = self.sources.stored_documents(account, model.sources)
            sources = [self.sources.source_pdf(account, ref, uploads, stored) for ref in model.sources]
        else:
            sources = [self.sources.source_pdf(account, model.source, uploads)]
        plan = self.empty(sources, test_mode=test_mode)
        if isinstance(model, SplitRequest):
            plan.split = model.pages
        elif isinstance(model, EncryptRequest):
            plan.encrypt = _encryption(model.encryption)
        elif isinstance(model, CompressRequest):
            plan.compress = _compression(model)
        elif isinstance(model, EmbedRequest):
            plan.attachments = [self.sources.attachment(account, item, uploads) for item in model.files]
        elif isinstance(model, MetadataRequest):
            plan.metadata = model.model_dump(include=set(MetadataSpec.model_fields), exclude_none=True)
        elif isinstance(model, WatermarkRequest):
            plan.watermarks = [self.sources.watermark(account, model.watermark, uploads)]
        elif isinstance(model, PdfaRequest):
            plan.pdfa = pdfa.normalize_level(model.pdf_format)
        elif isinstance(model, FacturxRequest):
            plan.facturx = self._facturx(model)
        elif isinstance(model, SignRequest):
            plan.sign = self._sign(account, model, uploads)
        return plan

    def apply_options(
        self, plan: pipeline.Plan, options: PdfOptions, account: str, uploads: Uploads, *, overriding: bool
    ) -> None:
        """Fill the plan from ``options.pdf``. An operation's own step wins over the same step in options."""
        for ref in options.attachments:
            plan.sources.append(self.sources.source_pdf(account, ref, uploads))
        if len(plan.sources) > self.limits.max_sources:
            raise PdfLimitExceeded(
                f"At most {self.limits.max_sources} documents can be merged",
                details={"limit": "sources", "max_sources": self.limits.max_sources},
            )
        plan.attachments.extend(self.sources.attachment(account, item, uploads) for item in options.embed_files)
        if options.metadata is not None and (overriding or plan.metadata is None):
            plan.metadata = options.metadata.model_dump(exclude_none=True)
        if options.watermark is not None:
            plan.watermarks.append(self.sources.watermark(account, options.watermark, uploads))
        if options.pdf_format and (overriding or plan.pdfa is None):
            plan.pdfa = pdfa.normalize_level(options.pdf_format)
        if options.factur_x is not None and plan.facturx is None:
            plan.facturx = self._facturx(options.factur_x)
        if options.compress and plan.compress is None:
            spec = options.compress if isinstance(options.compress, CompressSpec) else CompressSpec()
            plan.compress = _compression(spec)
        if options.sign is not None and plan.sign is None:
            plan.sign = self._sign(account, options.sign, uploads)
        if plan.encrypt is None:
            if options.encryption is not None:
                plan.encrypt = _encryption(options.encryption)
            elif options.password is not None:
                plan.encrypt = pipeline.Encryption(user_password=options.password)

    def _facturx(self, spec: FacturxSpec) -> pipeline.FacturX:
        if spec.xml is not None:
            xml = spec.xml.encode("utf-8")
            requested = facturx.normalize_profile(spec.profile) if spec.profile else None
            # Parsed here with the hardened parser (small, bounded input) so that a bad XML fails before any
            # PDF work, and again nowhere else: the sandbox receives checked bytes.
            _root, profile = facturx.validate_xml(xml, requested)
        else:
            assert spec.invoice is not None
            profile = facturx.normalize_profile(spec.profile or "en16931")
            try:
                xml = facturx.build_xml(spec.invoice, profile)
            except (KeyError, TypeError, ArithmeticError, ValueError) as exc:
                raise ValidationFailed(
                    f"The invoice is incomplete or invalid: {exc!s}", details={"field": "invoice", "reason": str(exc)}
                ) from None
            _root, profile = facturx.validate_xml(xml, profile)
        return pipeline.FacturX(xml=xml, profile=profile, relationship=spec.relationship)

    def _sign(self, account: str, spec: SignSpec, uploads: Uploads) -> SignPlan:
        pkcs12, password = self.keys.material(account, spec.key_id)
        box = None
        if spec.visible is not None:
            image = self.sources.read_bytes(account, spec.visible.image, uploads) if spec.visible.image else None
            if image is not None:  # decoded by PIL in the sandbox: its declared size is checked here first
                check_pixels(image, self.limits.max_image_pixels, "sign.visible.image")
            box = SignatureBox(page=spec.visible.page, rect=spec.visible.rect, text=spec.visible.text, image=image)
        return SignPlan(
            pkcs12=pkcs12,
            passphrase=password.encode() if password else None,
            field_name=spec.field_name,
            reason=spec.reason,
            location=spec.location,
            contact=spec.contact,
            box=box,
            timestamp_url=self.limits.timestamp_url,
        )


def _encryption(spec: EncryptionSpec) -> pipeline.Encryption:
    return pipeline.Encryption(
        user_password=spec.user_password,
        owner_password=spec.owner_password,
        permissions=spec.permissions.model_dump(),
        algorithm=spec.algorithm,
    )


def _compression(spec: CompressSpec) -> pipeline.Compression:
    return pipeline.Compression(
        images=spec.images, quality=spec.quality, max_dpi=spec.max_dpi, object_streams=spec.object_streams
    )
