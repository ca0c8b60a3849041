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


class RenderSettings(BaseModel):
    chromium_path: str = "/usr/bin/chromium"
    # Pages rendering at once; a queue in front of them holds up to ``queue_size`` waiting sync renders.
    concurrency: int = Field(default=0, ge=0, description="0 = cores x 2")
    queue_size: int = 32
    timeout_s: float = Field(default=30.0, gt=0)
    max_timeout_s: float = Field(default=120.0, gt=0)
    restart_after: int = Field(default=500, ge=1, description="renders before the browser is recycled")
    max_html_bytes: int = 5 * 1024 * 1024
    prewarm_contexts: int = Field(default=2, ge=0, description="pre-created isolated contexts")
    asset_prefix: str = "https://assets.pressroom.invalid/"
    extra_args: list[str] = Field(default_factory=list, description="extra Chromium flags")


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
    time_budget_s: float = 10.0
    locale: str = "en"


class JobSettings(BaseModel):
    workers: int = Field(default=2, ge=1, description="embedded worker tasks")
    lease_s: float = 60.0
    poll_interval_s: float = 0.2
    max_attempts: int = 3


class WebhookSettings(BaseModel):
    timeout_s: float = 10.0
    max_attempts: int = 6
    backoff_base_s: float = 2.0


class ApiSettings(BaseModel):
    max_body_bytes: int = 10 * 1024 * 1024
    page_size_max: int = 100


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PRESSROOM_", env_nested_delimiter="__", extra="ignore")

    env: Literal["production", "development", "test"] = "production"
    data_dir: Path = Path("./var")
    database_url: str | None = None
    storage_url: str | None = None
    queue: Literal["embedded"] = "embedded"
    # Signs download URLs; generated and kept in the data dir when not given.
    secret_key: str | None = None
    public_url: str = "http://127.0.0.1:8000"
    download_url_ttl_s: int = 3600
    retention_days: int = 30
    default_account: str = "default"

    render: RenderSettings = RenderSettings()
    net: NetSettings = NetSettings()
    templates: TemplateSettings = TemplateSettings()
    jobs: JobSettings = JobSettings()
    webhooks: WebhookSettings = WebhookSettings()
    api: ApiSettings = ApiSettings()

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
