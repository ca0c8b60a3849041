"""The one place that picks concrete engines and backends and wires the services together."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from pressroom.accounts.service import AccountService
from pressroom.aio import LoopThread
from pressroom.assets.service import AssetService
from pressroom.batches.service import BatchService
from pressroom.config import Settings
from pressroom.core.periodic import Periodic
from pressroom.credits.service import CreditService
from pressroom.db.session import Database
from pressroom.documents.service import DocumentService
from pressroom.folders.service import FolderService
from pressroom.generation.generator import DocumentGenerator, HtmlToPdf
from pressroom.idempotency.service import IdempotencyService
from pressroom.jobs.operations import OperationRegistry
from pressroom.jobs.runner import JobRunner
from pressroom.jobs.service import JobService
from pressroom.keys.service import ApiKeyService
from pressroom.net.blocking import BlockingNet
from pressroom.net.client import SafeHttpClient
from pressroom.net.gate import NetworkGate
from pressroom.oauth.service import OAuthService
from pressroom.pdf.base import PdfEngine
from pressroom.pdf.safeopen import keep_freed_memory
from pressroom.pdf.sandboxed import SandboxedPdfEngine
from pressroom.pdfops.finishing import PdfFinishing
from pressroom.pdfops.operations import PdfOperations
from pressroom.pdfops.plans import PlanBuilder
from pressroom.pdfops.service import PdfOpsService
from pressroom.pdfops.signing_keys import SigningKeys
from pressroom.pdfops.sources import PdfSources, TemplatePdfs, make_downloader
from pressroom.queue.base import JobQueue
from pressroom.queue.embedded import EmbeddedQueue
from pressroom.ratelimit.base import RateLimitStore
from pressroom.ratelimit.database import DatabaseRateLimitStore
from pressroom.ratelimit.memory import MemoryRateLimitStore
from pressroom.ratelimit.redis import RedisRateLimitStore
from pressroom.ratelimit.service import RateLimiter
from pressroom.rendering.base import Renderer
from pressroom.rendering.chromium import ChromiumRenderer
from pressroom.rendering.registry import EngineRegistry
from pressroom.rendering.weasyprint import WeasyPrintRenderer
from pressroom.storage.base import BlobStore
from pressroom.storage.filesystem import FilesystemBlobStore
from pressroom.storage.s3 import S3BlobStore
from pressroom.storage.signing import UrlSigner
from pressroom.templates.service import TemplateService
from pressroom.templating import handlebars
from pressroom.webhooks.dispatcher import WebhookDispatcher
from pressroom.webhooks.outbox import job_webhook_outbox
from pressroom.webhooks.service import WebhookEndpointService

log = logging.getLogger("pressroom")


@dataclass
class Container:
    settings: Settings
    db: Database
    loop: LoopThread
    renderer: EngineRegistry
    net: BlockingNet
    accounts: AccountService
    keys: ApiKeyService
    folders: FolderService
    templates: TemplateService
    documents: DocumentService
    jobs: JobService
    queue: JobQueue
    batches: BatchService
    webhooks: WebhookDispatcher
    credits: CreditService
    oauth: OAuthService
    rate_limiter: RateLimiter
    idempotency: IdempotencyService
    webhook_endpoints: WebhookEndpointService
    pdf: PdfOpsService
    assets: AssetService
    operations: OperationRegistry = field(default_factory=OperationRegistry)

    def start(self, *, worker: bool) -> None:
        """Warm the engines; start consuming jobs when this process is a worker too."""
        self.renderer.start()
        # A process-wide allocator setting, so it belongs to the process, not to a service: this process
        # handles the same multi-MB buffers (uploads, results) as the sandbox workers.
        keep_freed_memory()
        self.pdf.start()  # warm sandbox processes: the first PDF operation pays no process start
        if worker:
            self.queue.start()

    def close(self) -> None:
        self.queue.stop()
        self.pdf.close()
        try:
            self.renderer.close()
        finally:
            self.loop.run(self.net.client.aclose())
            self.loop.close()
            self.db.dispose()


@dataclass(frozen=True)
class Engines:
    """Capability implementations to build on instead of the configured ones (each None: from settings).

    The fast in-process tests pass the fakes that live beside each protocol; the server never does.
    """

    renderers: Mapping[str, Renderer] | None = None
    store: BlobStore | None = None
    pdf: PdfEngine | None = None


def build(settings: Settings, engines: Engines | None = None) -> Container:
    engines = engines or Engines()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url, settings.db)
    loop = LoopThread()
    gate = NetworkGate.from_settings(settings.net)
    net = BlockingNet(gate, SafeHttpClient.from_settings(settings.net, gate), loop)
    renderers = engines.renderers if engines.renderers is not None else render_engines(settings, gate)
    renderer = EngineRegistry(renderers, loop, default=settings.render.default_engine)
    store = engines.store if engines.store is not None else _blob_store(settings)
    assets = AssetService(db, store, settings.assets, settings.render.asset_prefix)
    signer = UrlSigner(settings.resolved_secret_key(), settings.public_url)

    templates = TemplateService(
        db, handlebars.Limits(time_budget=settings.templates.time_budget_s, max_tags=settings.templates.max_tags)
    )
    # S3 downloads are presigned S3 URLs unless the operator asks for links proxied through the API.
    presigner = store if isinstance(store, S3BlobStore) and settings.storage.downloads == "presigned" else None
    documents = DocumentService(db, store, signer, settings.download_url_ttl_s, presigner=presigner)
    operations = OperationRegistry()
    pdf_engine = _pdf_engine(settings, engines)
    # Built bottom-up, each part given what it uses in its constructor: template sources render through
    # HtmlToPdf (not through the generator), so the finishing of generate/transform exists before the
    # generator that is given it.
    html = HtmlToPdf(settings, renderer, assets)
    sources = PdfSources(settings.pdf, db, store, documents, TemplatePdfs(templates, html), make_downloader(net))
    signing_keys = SigningKeys(settings.resolved_secret_key(), db, pdf_engine)
    plans = PlanBuilder(settings.pdf, sources, signing_keys)
    finishing = PdfFinishing(plans, sources, pdf_engine)  # options.pdf and the TEST mark on generate/transform
    generator = DocumentGenerator(templates, html, finisher=finishing)
    operations.register("generate", generator.generate)
    operations.register("transform", generator.transform)
    pdf_operations = PdfOperations(settings.pdf, plans, sources, documents, pdf_engine)
    pdf_operations.register(operations)  # merge, split, encrypt, compress, embed, metadata, watermark, pdfa, ...
    pdf = PdfOpsService(pdf_operations, sources, signing_keys, pdf_engine)

    credits = CreditService(db, settings.billing)
    runner = JobRunner(
        db,
        store,
        operations,
        settings.jobs,
        settings.retention_days,
        finish_hooks=[credits.settle_or_release, job_webhook_outbox],
        retention=credits.retention,
    )
    webhooks = WebhookDispatcher(db, net, documents, settings.webhooks)
    # An in-progress Idempotency-Key is leased like a job (renewed while its request runs), so a crashed
    # request's key is free again after jobs.lease_s rather than after the 24 h replay window.
    idempotency = IdempotencyService(db, settings.billing.idempotency_ttl_s, lease_s=settings.jobs.lease_s)
    chores: list[Callable[[], object]] = [
        webhooks.deliver_due,
        Periodic(
            settings.jobs.sweep_interval_s, documents.sweep_expired
        ),  # retention: files of expired documents are deleted
        Periodic(3600.0, idempotency.purge_expired),
    ]
    queue = _job_queue(settings, db, runner, background_tasks=chores)
    jobs = JobService(db, runner, queue, net, credits)
    batches = BatchService(db, jobs, queue, net, templates, settings.batches, settings.billing)
    runner.finish_hooks.append(batches.on_job_finished)
    return Container(
        settings=settings,
        db=db,
        loop=loop,
        renderer=renderer,
        net=net,
        accounts=AccountService(db),
        keys=ApiKeyService(db),
        folders=FolderService(db),
        templates=templates,
        documents=documents,
        jobs=jobs,
        queue=queue,
        batches=batches,
        webhooks=webhooks,
        operations=operations,
        pdf=pdf,
        credits=credits,
        oauth=OAuthService(db, settings.resolved_secret_key(), settings.billing.oauth_token_ttl_s),
        rate_limiter=RateLimiter(_rate_limit_store(settings, db), settings.billing, _plan_lookup(db)),
        idempotency=idempotency,
        webhook_endpoints=WebhookEndpointService(db, net, settings.webhooks),
        assets=assets,
    )


def render_engines(settings: Settings, gate: NetworkGate) -> dict[str, Renderer]:
    """The configured HTML -> PDF engines (not started): the server's and the CLI's."""
    return {
        "chromium": ChromiumRenderer.from_settings(settings.render, gate, net=settings.net),
        "weasyprint": WeasyPrintRenderer.from_settings(settings.render, settings.net),
    }


def _pdf_engine(settings: Settings, engines: Engines) -> PdfEngine:
    if engines.pdf is not None:
        return engines.pdf
    limits = settings.pdf
    return SandboxedPdfEngine.create(
        workers=limits.workers, memory_limit_mb=limits.memory_limit_mb, timeout_s=limits.timeout_s
    )


def _blob_store(settings: Settings) -> BlobStore:
    if settings.storage_url and settings.storage_url.startswith("s3://"):
        store = S3BlobStore.from_url(settings.storage_url, settings.storage)
        if settings.storage.create_bucket:
            store.ensure_bucket()
        return store
    return FilesystemBlobStore(settings.storage_root)


def _job_queue(
    settings: Settings, db: Database, runner: JobRunner, background_tasks: list[Callable[[], object]]
) -> JobQueue:
    if settings.queue == "celery":
        from pressroom.queue.celery import CeleryQueue  # imports Celery only where it is used

        return CeleryQueue(runner, settings, background_tasks=background_tasks)
    return EmbeddedQueue(db, runner, settings.jobs, background_tasks=background_tasks)


def _rate_limit_store(settings: Settings, db: Database) -> RateLimitStore:
    billing = settings.billing
    if billing.rate_limit_storage == "redis":
        if not billing.redis_url:
            raise ValueError("PRESSROOM_BILLING__REDIS_URL is required with rate_limit_storage=redis")
        return RedisRateLimitStore(billing.redis_url)
    embedded = billing.rate_limit_storage == "auto" and db.engine.dialect.name == "sqlite"
    if billing.rate_limit_storage == "memory" or embedded:
        # One process answers the API in the embedded setup: its buckets need no shared store, and taking
        # them in memory spares every request a write transaction (~2 ms of the sync path, bench W1).
        return MemoryRateLimitStore()
    return DatabaseRateLimitStore(db)


def _plan_lookup(db: Database) -> Callable[[str], str]:
    accounts = AccountService(db)

    def plan_of(account_id: str) -> str:
        return accounts.get(account_id).plan

    return plan_of
