"""One exception tree for the whole service.

Every error Pressroom raises on purpose is a :class:`PressroomError`. Each subclass carries the HTTP status
and the stable error code that the API renders (in one place, ``pressroom.api.errors``) as
``{"error": {"code", "message", "details"}}``. Services raise these; they never build HTTP responses.
"""

from __future__ import annotations

from typing import Any, ClassVar


class PressroomError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "INTERNAL_ERROR"
    # Whether another attempt of the same job may succeed: the service (an engine, a store), not the input,
    # was at fault and the fault can pass. The job runner retries by this, so a deterministic failure (an
    # input error, a storage key refused, a permission error) fails its job once instead of crash-looping.
    transient: ClassVar[bool] = False

    def __init__(self, message: str | None = None, *, details: Any = None, code: str | None = None) -> None:
        self.message = message or self.default_message()
        self.details = details
        if code is not None:
            self.code = code  # type: ignore[misc]  # a per-instance code refinement (e.g. QUEUE_FULL)
        super().__init__(self.message)

    @classmethod
    def default_message(cls) -> str:
        return cls.code.replace("_", " ").capitalize()

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class ValidationFailed(PressroomError):
    status = 400
    code = "VALIDATION_ERROR"


class InvalidJson(ValidationFailed):
    """A body (or a multipart field) that is not JSON Pressroom can store and read back: unparseable, not
    UTF-8, nested too deep, NaN/Infinity, or a lone UTF-16 surrogate."""

    code = "INVALID_JSON"


class Unauthorized(PressroomError):
    status = 401
    code = "UNAUTHORIZED"


class PaymentRequired(PressroomError):
    status = 402
    code = "PAYMENT_REQUIRED"


class InsufficientCredits(PaymentRequired):
    code = "INSUFFICIENT_CREDITS"


class QuotaExceeded(PaymentRequired):
    code = "QUOTA_EXCEEDED"


class Forbidden(PressroomError):
    status = 403
    code = "FORBIDDEN"


class PlanForbidsOption(Forbidden):
    code = "PLAN_FORBIDS_OPTION"


class InsufficientScope(Forbidden):
    code = "INSUFFICIENT_SCOPE"


class NotFound(PressroomError):
    status = 404
    code = "NOT_FOUND"


class TemplateNotFound(NotFound):
    code = "TEMPLATE_NOT_FOUND"


class FolderNotFound(NotFound):
    code = "FOLDER_NOT_FOUND"


class DocumentNotFound(NotFound):
    code = "DOCUMENT_NOT_FOUND"


class JobNotFound(NotFound):
    code = "JOB_NOT_FOUND"


class ApiKeyNotFound(NotFound):
    code = "API_KEY_NOT_FOUND"


class AssetNotFound(NotFound):
    """An asset id, or a name referenced by a template (``asset:logo.png``), that the account does not have."""

    code = "ASSET_NOT_FOUND"


class Conflict(PressroomError):
    status = 409
    code = "CONFLICT"


class ExternalIdConflict(Conflict):
    """Another template of the account already carries this ``external_id`` (PATCH cannot take it over)."""

    code = "EXTERNAL_ID_CONFLICT"


class Gone(PressroomError):
    status = 410
    code = "GONE"


class PayloadTooLarge(PressroomError):
    status = 413
    code = "PAYLOAD_TOO_LARGE"


class AssetLimitExceeded(PayloadTooLarge):
    """An uploaded file that would decompress beyond a limit, read from its header before anything is
    inflated: a font's declared table sizes, an image's width x height (``details.limit`` says which)."""

    code = "ASSET_LIMIT_EXCEEDED"


class Unprocessable(PressroomError):
    status = 422
    code = "UNPROCESSABLE"


class TemplateSyntaxFailed(Unprocessable):
    code = "TEMPLATE_SYNTAX_ERROR"


class TemplateRenderFailed(Unprocessable):
    code = "TEMPLATE_RENDER_ERROR"


class TemplateTooLarge(Unprocessable):
    """A template beyond the compile limits (size, tag count, compile time); details say which."""

    code = "TEMPLATE_TOO_LARGE"


class RenderFailed(Unprocessable):
    code = "RENDER_FAILED"


class RenderTimeout(PressroomError):
    """The render did not finish within its time limit - for a sync request, within the deadline that
    covers its wait in the queue and the render (rendering/deadline.py). 504: the engine behind the API
    did not answer in time."""

    status = 504
    code = "RENDER_TIMEOUT"


class RenderResourceLimit(Unprocessable):
    """The document needs more than a render may use: an image larger than ``render.max_image_pixels``
    (read from its header, before anything decodes it) or a page whose renderer went beyond
    ``render.max_memory_mb``. ``details.limit`` says which (``image_pixels`` or ``memory``)."""

    code = "RENDER_RESOURCE_LIMIT"


class UrlForbidden(Unprocessable):
    """A URL refused by the network gate (file:, loopback, private, metadata...)."""

    code = "URL_FORBIDDEN"


class UrlFetchFailed(Unprocessable):
    """A URL allowed by the gate that could not be fetched (timeout, connection error, redirects...)."""

    code = "URL_FETCH_FAILED"


class TooManyRequests(PressroomError):
    status = 429
    code = "TOO_MANY_REQUESTS"
    retry_after: int = 1

    def __init__(self, message: str | None = None, *, retry_after: int = 1, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class QueueFull(TooManyRequests):
    code = "QUEUE_FULL"


class RateLimitExceeded(TooManyRequests):
    code = "RATE_LIMIT_EXCEEDED"


class DailyLimitExceeded(TooManyRequests):
    code = "DAILY_LIMIT_EXCEEDED"


class IdempotencyKeyReused(Unprocessable):
    code = "IDEMPOTENCY_KEY_REUSED"


class IdempotencyInProgress(Conflict):
    """A duplicate of a request still running: answered at once (with Retry-After), never waited on."""

    code = "IDEMPOTENCY_IN_PROGRESS"


class InternalError(PressroomError):
    """An unexpected failure inside the service (e.g. in a sandbox worker): worth another attempt."""

    status = 500
    code = "INTERNAL_ERROR"
    transient = True


class EngineUnavailable(PressroomError):
    status = 503
    code = "ENGINE_UNAVAILABLE"
    transient = True


# -- blob storage (pressroom.storage) ------------------------------------------------------------------
class StorageFailed(PressroomError):
    """The blob store refused an operation for a reason another attempt will not change (permission
    denied, a missing bucket, a read-only filesystem): the job fails once, the operator must act."""

    status = 500
    code = "STORAGE_FAILED"


class StorageKeyInvalid(StorageFailed, ValueError):
    """A storage key that could leave its prefix (``..``, a leading ``/``, an empty segment) or that no
    store can hold (control characters, too long). Keys are built from generated ids, so this is a bug
    caught, never user input; a ValueError too, as the stores raised before."""

    code = "STORAGE_KEY_INVALID"


class StorageFull(StorageFailed):
    """No space (or quota) left in the blob store. Not retried: a retry seconds later re-renders the
    document only to meet the same full disk."""

    status = 507
    code = "STORAGE_FULL"


class StorageUnavailable(PressroomError):
    """The blob store could not be reached or answered a server error (S3 5xx, throttling, I/O error)."""

    status = 503
    code = "STORAGE_UNAVAILABLE"
    transient = True


# -- PDF operations (pressroom.pdf / pressroom.pdfops) ------------------------------------------------
class UnsupportedMediaType(PressroomError):
    status = 415
    code = "UNSUPPORTED_MEDIA_TYPE"


class InvalidPdf(Unprocessable):
    """Corrupt, truncated or not a PDF at all."""

    code = "INVALID_PDF"


class PdfEncrypted(Unprocessable):
    """An encrypted input and no password to open it."""

    code = "PDF_ENCRYPTED"


class WrongPassword(Forbidden):
    code = "WRONG_PASSWORD"


class PdfLimitExceeded(PayloadTooLarge):
    """Bytes, pages or memory beyond the configured limits (details say which)."""

    code = "PDF_LIMIT_EXCEEDED"


class PdfTimeout(Unprocessable):
    code = "PDF_TIMEOUT"


class InvalidPageRange(Unprocessable):
    code = "INVALID_PAGE_RANGE"


class PdfaNotPossible(Unprocessable):
    """The requested PDF/A level cannot be honoured for this input; never downgraded silently."""

    code = "PDFA_NOT_POSSIBLE"


class InvalidXml(Unprocessable):
    code = "INVALID_XML"


class FacturxInvalid(Unprocessable):
    code = "FACTURX_INVALID"


class IncompatibleOptions(Unprocessable):
    code = "INCOMPATIBLE_OPTIONS"


class SigningKeyNotFound(NotFound):
    code = "SIGNING_KEY_NOT_FOUND"


class InvalidSigningKey(Unprocessable):
    code = "INVALID_SIGNING_KEY"


class UploadMissing(Unprocessable):
    code = "UPLOAD_MISSING"


class TimestampFailed(PressroomError):
    """The timestamp authority (PAdES B-T) is unreachable or its answer is not a valid token."""

    status = 502
    code = "TIMESTAMP_FAILED"


# -- batches and scale-out (pressroom.batches, pressroom.queue) ----------------------------------------
class BatchNotFound(NotFound):
    code = "BATCH_NOT_FOUND"


class BatchTooLarge(Unprocessable):
    """More entries than the account may submit in one batch (details: limit, count)."""

    code = "BATCH_TOO_LARGE"


class BatchAsyncOnly(ValidationFailed):
    """``async: false`` on a batch: a batch always runs in the background."""

    code = "BATCH_ASYNC_ONLY"


class JobCrashed(PressroomError):
    """The job's worker process died on every attempt (a poison input); it is not retried again."""

    code = "JOB_CRASHED"

    @classmethod
    def default_message(cls) -> str:
        return "The job crashed its worker on every attempt and was abandoned"


def _subclasses(root: type[PressroomError]) -> list[type[PressroomError]]:
    found: list[type[PressroomError]] = []
    stack = [root]
    while stack:
        cls = stack.pop()
        found.append(cls)
        stack.extend(cls.__subclasses__())
    return found


def rebuild(code: str, message: str | None, details: Any = None) -> PressroomError:
    """Recreate the error a job stored (code + message + details), with the status its class carries.

    Used when a sync request reports its job's failure: the job row is the record, the HTTP answer must
    match what raising the original error would have produced.
    """
    # The root last: INTERNAL_ERROR rebuilds as InternalError (same status and code, and transient).
    candidates: list[type[PressroomError]] = [*_subclasses(PressroomError)[1:], PressroomError]
    for cls in candidates:
        if cls.code == code:
            error = cls.__new__(cls)
            PressroomError.__init__(error, message, details=details)
            if isinstance(error, TooManyRequests) and isinstance(details, dict):
                error.retry_after = int(details.get("retry_after", 1))
            return error
    return PressroomError(message, details=details, code=code)
