"""Settings: environment variables ``PRESSROOM_*``, one nested model per subsystem.

Nested fields use ``__`` as separator, e.g. ``PRESSROOM_RENDER__TIMEOUT_S=20``. A handful of top-level
names that operators set most often (``PRESSROOM_DATA_DIR``, ``PRESSROOM_DATABASE_URL``,
``PRESSROOM_STORAGE_URL``) are flat on purpose.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# Debian's chromium-headless-shell is the "old headless" build without the browser UI layer: measured on
# Chromium 156 (docs/rendering.md) it prints the W1 invoice in ~32 ms vs ~55 ms and opens a new isolated
# context + page in ~45 ms vs ~90 ms. The full browser is the fallback when only it is installed.
CHROMIUM_CANDIDATES = ("/usr/bin/chromium-headless-shell", "/usr/bin/chromium")


def default_chromium_path() -> str:
    """The first installed of CHROMIUM_CANDIDATES (the last one when none is, so errors name a real path)."""
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    return CHROMIUM_CANDIDATES[-1]


class RenderSettings(BaseModel):
    chromium_path: str = Field(default_factory=default_chromium_path)
    # Pages rendering at once; a queue in front of them holds up to ``queue_size`` waiting sync renders.
    concurrency: int = Field(default=0, ge=0, description="0 = cores x 2")
    queue_size: int = 32
    timeout_s: float = Field(default=30.0, gt=0)
    max_timeout_s: float = Field(default=120.0, gt=0)
    restart_after: int = Field(default=500, ge=1, description="renders before the browser is recycled")
    max_html_bytes: int = 5 * 1024 * 1024
    prewarm_contexts: int = Field(default=4, ge=0, description="pre-created isolated contexts")
    asset_prefix: str = "https://assets.pressroom.invalid/"
    extra_args: list[str] = Field(default_factory=list, description="extra Chromium flags")
    # WeasyPrint runs in worker processes (it holds the GIL); 0 = one per core.
    weasyprint_workers: int = Field(default=0, ge=0)
    weasyprint_max_tasks: int = Field(default=200, ge=1, description="renders before a worker is recycled")
    weasyprint_memory_mb: int = Field(default=2048, ge=0, description="address-space cap per worker, 0 = none")
    # Per render (docs/rendering.md, "Resource limits"): a Chromium page's renderer process is killed beyond
    # this resident size (its JS heap is capped at half of it), and images whose header declares more
    # pixels than max_image_pixels never reach an engine's decoder. 0 = no memory cap.
    max_memory_mb: int = Field(default=1024, ge=0, description="resident memory of one Chromium page, 0 = none")
    max_image_pixels: int = Field(default=89_478_485, ge=1, description="largest image a render decodes")
    # Engine for templates that do not choose one; used for everything when Chromium is not installed.
    default_engine: Literal["chromium", "weasyprint"] = "chromium"


class AssetSettings(BaseModel):
    max_bytes: int = Field(default=10 * 1024 * 1024, ge=1, description="largest uploaded asset")
    # Limits read from a file's header before anything is decompressed: a font's declared table sizes
    # (WOFF/WOFF2 inflate) and an image's width x height (PIL's decompression-bomb threshold).
    max_font_bytes: int = Field(default=64 * 1024 * 1024, ge=1024, description="largest decompressed font")
    max_image_pixels: int = Field(default=89_478_485, ge=1, description="largest image, in pixels")
    cache_mb: int = Field(default=64, ge=0, description="asset bytes kept in memory for renders")


class NetSettings(BaseModel):
    # Public hosts a render may fetch from ("*" = any public host). Empty: renders are offline.
    render_public_hosts: list[str] = Field(default_factory=list)
    # Exact "host:port" pairs that bypass the private-address refusal. Meant for tests only.
    allow_private: list[str] = Field(default_factory=list)
    download_max_bytes: int = 50 * 1024 * 1024
    max_redirects: int = Field(default=5, ge=0)
    timeout_s: float = 15.0


class TemplateSettings(BaseModel):
    max_output_chars: int = 20 * 1024 * 1024
    # A render's wall-clock budget; compiling a template (on save, and before a render) gets the same one.
    time_budget_s: float = 10.0
    # Tags ({{...}}) in one template, counted before it is parsed: compiling costs ~40 us a tag.
    max_tags: int = Field(default=50_000, ge=1)
    locale: str = "en"


class JobSettings(BaseModel):
    workers: int = Field(default=2, ge=1, description="embedded worker tasks")
    lease_s: float = 60.0
    poll_interval_s: float = 0.2
    max_attempts: int = 3
    sweep_interval_s: float = Field(default=60.0, gt=0, description="how often expired documents are swept")


class WebhookSettings(BaseModel):
    timeout_s: float = 10.0
    # 2^n seconds (capped at max_backoff_s) plus jitter: 24 attempts span about three days.
    max_attempts: int = 24
    backoff_base_s: float = 2.0
    max_backoff_s: float = 6 * 3600
    secret_rotation_grace_s: int = 24 * 3600


class Plan(BaseModel):
    """A plan's limits. ``None`` means unlimited."""

    monthly_documents: int | None = 100
    monthly_credits: int = 100
    batch_size: int = 50
    retention_days: int = 7
    rate_limit_per_minute: int = 60
    forbidden_options: list[str] = Field(default_factory=list)
    webhooks: bool = True


def _default_plans() -> dict[str, Plan]:
    return {
        "free": Plan(forbidden_options=["encryption", "sign"]),
        "starter": Plan(
            monthly_documents=1_000, monthly_credits=1_000, batch_size=200, retention_days=30, rate_limit_per_minute=120
        ),
        "pro": Plan(
            monthly_documents=10_000,
            monthly_credits=10_000,
            batch_size=1_000,
            retention_days=90,
            rate_limit_per_minute=600,
        ),
        "business": Plan(
            monthly_documents=100_000,
            monthly_credits=100_000,
            batch_size=5_000,
            retention_days=365,
            rate_limit_per_minute=1_200,
        ),
        "enterprise": Plan(
            monthly_documents=None,
            monthly_credits=1_000_000,
            batch_size=10_000,
            retention_days=3_650,
            rate_limit_per_minute=6_000,
        ),
    }


class SandboxLimits(BaseModel):
    """Limits of test-mode keys (pr_test_...)."""

    requests_per_minute: int = 60
    documents_per_day: int = 60
    retention_s: int = 3600
    watermark: bool = True


class PricingSettings(BaseModel):
    """Credits per job: the operation's base price plus one entry per option used (lists: per item)."""

    base: dict[str, int] = Field(
        default_factory=lambda: dict.fromkeys(
            (
                "generate",
                "transform",
                "fill",
                "fill-docx",
                "merge",
                "split",
                "encrypt",
                "compress",
                "embed",
                "metadata",
                "watermark",
                "pdfa",
                "facturx",
                "sign",
                "convert",
            ),
            1,
        )
    )
    options: dict[str, int] = Field(
        default_factory=lambda: {
            "compress": 1,
            "factur_x": 1,
            "pdf_format": 1,
            "sign": 1,
            "encryption": 1,
            "password": 1,
            "attachments": 1,
            "embed_files": 1,
        }
    )


class BillingSettings(BaseModel):
    default_plan: str = "free"
    plans: dict[str, Plan] = Field(default_factory=_default_plans)
    test_keys: SandboxLimits = SandboxLimits()
    pricing: PricingSettings = PricingSettings()
    # Where token buckets live: "database", "redis" (needs redis_url), "memory" (one API process), or "auto":
    # memory with SQLite (the embedded setup serves from one process), the database otherwise.
    rate_limit_storage: Literal["auto", "database", "redis", "memory"] = "auto"
    redis_url: str | None = None
    idempotency_ttl_s: int = 24 * 3600
    oauth_token_ttl_s: int = 3600


class PdfSettings(BaseModel):
    """PDF operations: every untrusted PDF is parsed in a sandbox process with these limits."""

    workers: int = Field(default=0, ge=0, description="sandbox processes; 0 = cores")
    memory_limit_mb: int = Field(default=1024, ge=128, description="RLIMIT_AS of a sandbox process")
    timeout_s: float = Field(default=60.0, gt=0, description="wall-clock limit of one PDF operation")
    max_input_bytes: int = 50 * 1024 * 1024
    max_pages: int = Field(default=10_000, ge=1)
    max_sources: int = Field(default=50, ge=2)
    # What the streams of a request's PDFs may decompress to, in total, for the steps that decode them
    # (preview, compress, PDF/A, Factur-X, watermark); measured before anything inflates (Flate bombs).
    max_decoded_bytes: int = Field(default=1024 * 1024 * 1024, ge=1024 * 1024)
    # Largest image (width x height, read from its header) a watermark or a signature box may use; PIL's
    # own decompression-bomb threshold.
    max_image_pixels: int = Field(default=89_478_485, ge=1)
    preview_max_dpi: int = 300
    # RFC 3161 timestamp authority for PAdES B-T; unset -> signatures are B-B. Operator-chosen, so it is
    # reached directly rather than through the tenant network gate.
    timestamp_url: str | None = None


class ApiSettings(BaseModel):
    max_body_bytes: int = 10 * 1024 * 1024
    # JSON bodies (and multipart fields carrying JSON) nested deeper than this are refused (INVALID_JSON).
    max_json_depth: int = Field(default=100, ge=1, le=500)
    page_size_max: int = 100


class DatabaseSettings(BaseModel):
    """Connection pool of a server database (PostgreSQL); SQLite ignores it."""

    pool_size: int = Field(default=10, ge=1)
    max_overflow: int = Field(default=20, ge=0)
    pool_timeout_s: float = Field(default=30.0, gt=0)
    # Recycle connections before proxies/firewalls silently drop idle ones.
    pool_recycle_s: int = Field(default=1800, ge=1)


class StorageSettings(BaseModel):
    """Blob storage details; the backend itself is chosen by ``storage_url`` (file://... or s3://...)."""

    # S3 only: hand out presigned S3 URLs, or keep Pressroom's signed links and stream the bytes through.
    downloads: Literal["presigned", "proxied"] = "presigned"
    # S3 only: the endpoint clients use in presigned URLs when it differs from the one servers use.
    public_endpoint_url: str | None = None
    create_bucket: bool = False
    multipart_threshold_bytes: int = Field(default=16 * 1024 * 1024, ge=5 * 1024 * 1024)
    multipart_chunk_bytes: int = Field(default=8 * 1024 * 1024, ge=5 * 1024 * 1024)


class CelerySettings(BaseModel):
    """Celery queue (``queue = "celery"``): the broker carries job ids, the jobs table stays the truth."""

    queue_name: str = "pressroom"
    # Redis only: an unacknowledged message goes back to the queue after this long (a worker died).
    visibility_timeout_s: int = Field(default=3600, ge=1)
    # Every process running jobs re-enqueues jobs whose message was lost (broker restarted without
    # persistence, enqueue failed while it was down) and jobs whose worker died holding the lease.
    sweep_interval_s: float = Field(default=5.0, gt=0)
    requeue_after_s: float = Field(default=30.0, gt=0)
    connect_timeout_s: float = Field(default=2.0, gt=0)


class BatchSettings(BaseModel):
    # Entries one batch may hold; ``account_limits`` overrides it per account name.
    max_entries: int = Field(default=1000, ge=1)
    account_limits: dict[str, int] = Field(default_factory=dict)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PRESSROOM_", env_nested_delimiter="__", extra="ignore")

    env: Literal["production", "development", "test"] = "production"
    data_dir: Path = Path("./var")
    database_url: str | None = None
    storage_url: str | None = None
    queue: Literal["embedded", "celery"] = "embedded"
    broker_url: str | None = None
    # Signs download URLs; generated and kept in the data dir when not given.
    secret_key: str | None = None
    public_url: str = "http://127.0.0.1:8000"
    download_url_ttl_s: int = 3600
    retention_days: int = 30
    default_account: str = "default"

    render: RenderSettings = RenderSettings()
    assets: AssetSettings = AssetSettings()
    net: NetSettings = NetSettings()
    templates: TemplateSettings = TemplateSettings()
    jobs: JobSettings = JobSettings()
    webhooks: WebhookSettings = WebhookSettings()
    api: ApiSettings = ApiSettings()
    db: DatabaseSettings = DatabaseSettings()
    storage: StorageSettings = StorageSettings()
    celery: CelerySettings = CelerySettings()
    batches: BatchSettings = BatchSettings()
    pdf: PdfSettings = PdfSettings()
    billing: BillingSettings = BillingSettings()

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'pressroom.db').resolve()}"

    @property
    def storage_root(self) -> Path:
        if self.storage_url and self.storage_url.startswith("file://"):
            return Path(self.storage_url.removeprefix("file://"))
        return self.data_dir / "storage"

    def resolved_secret_key(self) -> str:
        """The signing secret: from settings, else a random one persisted in the data dir."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret.key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
