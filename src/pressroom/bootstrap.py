"""The one place that picks concrete engines and backends and wires the services together."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from pressroom.accounts.service import AccountService
from pressroom.aio import LoopThread
from pressroom.config import Settings
from pressroom.db.session import Database
from pressroom.documents.generation import DocumentGenerator
from pressroom.documents.service import DocumentService
from pressroom.folders.service import FolderService
from pressroom.jobs.operations import OperationRegistry
from pressroom.jobs.runner import JobRunner
from pressroom.jobs.service import JobService
from pressroom.keys.service import ApiKeyService
from pressroom.net.blocking import BlockingNet
from pressroom.net.client import SafeHttpClient
from pressroom.net.gate import NetworkGate
from pressroom.queue.embedded import EmbeddedQueue
from pressroom.rendering.chromium import ChromiumRenderer
from pressroom.rendering.host import BlockingRenderer
from pressroom.storage.filesystem import FilesystemBlobStore
from pressroom.storage.signing import UrlSigner
from pressroom.templates.service import TemplateService
from pressroom.webhooks.service import WebhookDispatcher, job_webhook_outbox

log = logging.getLogger("pressroom")


@dataclass
class Container:
    settings: Settings
    db: Database
    loop: LoopThread
    renderer: BlockingRenderer
    net: BlockingNet
    accounts: AccountService
    keys: ApiKeyService
    folders: FolderService
    templates: TemplateService
    documents: DocumentService
    jobs: JobService
    queue: EmbeddedQueue
    webhooks: WebhookDispatcher
    operations: OperationRegistry = field(default_factory=OperationRegistry)

    def start(self, *, worker: bool) -> None:
        """Warm the engines; start consuming jobs when this process is a worker too."""
        self.renderer.start()
        if worker:
            self.queue.start()

    def close(self) -> None:
        self.queue.stop()
        try:
            self.renderer.close()
        finally:
            self.loop.run(self.net.client.aclose())
            self.loop.close()
            self.db.dispose()


def build(settings: Settings) -> Container:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    loop = LoopThread()
    gate = NetworkGate.from_settings(settings.net)
    net = BlockingNet(gate, SafeHttpClient.from_settings(settings.net, gate), loop)
    renderer = BlockingRenderer(ChromiumRenderer.from_settings(settings.render, gate, net=settings.net), loop)
    store = FilesystemBlobStore(settings.storage_root)
    signer = UrlSigner(settings.resolved_secret_key(), settings.public_url)

    templates = TemplateService(db)
    documents = DocumentService(db, store, signer, settings.download_url_ttl_s)
    operations = OperationRegistry()
    generator = DocumentGenerator(settings, templates, renderer)
    operations.register("generate", generator.generate)
    operations.register("transform", generator.transform)

    runner = JobRunner(db, store, operations, settings.jobs, settings.retention_days, [job_webhook_outbox])
    webhooks = WebhookDispatcher(db, net, documents, settings.webhooks)
    queue = EmbeddedQueue(db, runner, settings.jobs, background_tasks=[webhooks.deliver_due])
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
        jobs=JobService(db, runner, queue, net),
        queue=queue,
        webhooks=webhooks,
        operations=operations,
    )
