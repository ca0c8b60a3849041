"""The command-line door: serve, worker-less API nodes, migrations, keys, offline renders."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from pressroom.config import Settings, get_settings

app = typer.Typer(help="Pressroom: self-hosted document generation.", no_args_is_help=True, add_completion=False)
keys_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
accounts_app = typer.Typer(help="Manage accounts (tenants), plans and credits.", no_args_is_help=True)
app.add_typer(accounts_app, name="accounts")


def _settings() -> Settings:
    return get_settings()


def _migrate(settings: Settings) -> None:
    from pressroom.db.migrate import upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)


def _services(settings: Settings) -> tuple[Any, Any]:
    """Account and key services without engines (CLI admin commands need only the database)."""
    from pressroom.accounts.service import AccountService
    from pressroom.db.session import Database
    from pressroom.keys.service import ApiKeyService

    _migrate(settings)
    db = Database(settings.resolved_database_url)
    return AccountService(db), ApiKeyService(db)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    settings = _settings()
    _migrate(settings)
    typer.echo(f"database ready: {settings.resolved_database_url.split('@')[-1]}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    no_worker: Annotated[bool, typer.Option("--no-worker", help="API only: do not run jobs here")] = False,
    log_level: Annotated[str, typer.Option(help="debug, info, warning")] = "info",
) -> None:
    """Serve the HTTP API (with the embedded worker unless --no-worker)."""
    import uvicorn

    from pressroom.app import create_app

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = _settings()
    if settings.public_url == "http://127.0.0.1:8000" and (host, port) != ("127.0.0.1", 8000):
        settings.public_url = f"http://{host}:{port}"
    accounts, keys = _services(settings)
    account, _ = accounts.get_or_create(settings.default_account)
    if not keys.for_account(account.id):
        issued = keys.create(account.id, "live", "first key", role="admin")
        typer.echo(f"First start: API key for account '{account.name}' (shown once):\n  {issued.secret}")
    uvicorn.run(create_app(settings, worker=not no_worker), host=host, port=port, log_level=log_level)


@keys_app.command("create")
def keys_create(
    account: Annotated[str | None, typer.Option(help="Account name (created if missing)")] = None,
    mode: Annotated[str, typer.Option(help="live or test")] = "live",
    name: Annotated[str, typer.Option(help="A label for the key")] = "",
    role: Annotated[str, typer.Option(help="admin (may manage keys, webhooks, clients) or standard")] = "admin",
) -> None:
    """Create a key; the secret is the last line of output."""
    if mode not in ("live", "test"):
        raise typer.BadParameter("mode must be 'live' or 'test'", param_hint="--mode")
    if role not in ("admin", "standard"):
        raise typer.BadParameter("role must be 'admin' or 'standard'", param_hint="--role")
    settings = _settings()
    accounts, keys = _services(settings)
    record, _ = accounts.get_or_create(account or settings.default_account)
    issued = keys.create(record.id, mode, name, role)
    typer.echo(f"created {issued.record.id} for account {record.name} ({mode}); the key is shown once:")
    typer.echo(issued.secret)


@keys_app.command("list")
def keys_list(account: Annotated[str | None, typer.Option(help="Only this account")] = None) -> None:
    settings = _settings()
    accounts, keys = _services(settings)
    account_id = None
    if account:
        record, _ = accounts.get_or_create(account)
        account_id = record.id
    names = {a.id: a.name for a in accounts.all()}
    for key in keys.for_account(account_id):
        state = "revoked" if key.revoked_at else "active"
        owner = names.get(key.account_id, "?")
        typer.echo(f"{key.id}  {owner:<16} {key.mode:<4} {key.prefix}…{key.last_four}  {state}  {key.name}")


@keys_app.command("revoke")
def keys_revoke(key_id: str) -> None:
    from pressroom.core.errors import PressroomError

    _, keys = _services(_settings())
    try:
        keys.revoke(key_id)
    except PressroomError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"revoked {key_id}")


def _billing_services(settings: Settings) -> tuple[Any, Any]:
    from pressroom.credits.service import CreditService

    accounts, _ = _services(settings)
    return accounts, CreditService(accounts.db, settings.billing)


def _account_or_exit(accounts: Any, name: str) -> Any:
    match = next((a for a in accounts.all() if a.name == name), None)
    if match is None:
        typer.echo(f"error: no account named {name!r}", err=True)
        raise typer.Exit(1)
    return match


@accounts_app.command("create")
def accounts_create(
    name: str,
    plan: Annotated[str | None, typer.Option(help="Plan name (settings: billing.plans)")] = None,
) -> None:
    settings = _settings()
    chosen = plan or settings.billing.default_plan
    if chosen not in settings.billing.plans:
        typer.echo(f"error: unknown plan {chosen!r}; one of {', '.join(settings.billing.plans)}", err=True)
        raise typer.Exit(2)
    accounts, _ = _services(settings)
    account, created = accounts.get_or_create(name, plan=chosen)
    typer.echo(f"{'created' if created else 'exists'} {account.id} {account.name} plan={account.plan}")


@accounts_app.command("list")
def accounts_list() -> None:
    accounts, credits = _billing_services(_settings())
    for account in accounts.all():
        typer.echo(f"{account.id}  {account.name:<20} {account.plan:<10} credits={credits.credits_left(account.id)}")


@accounts_app.command("set-plan")
def accounts_set_plan(name: str, plan: str) -> None:
    from pressroom.core.errors import PressroomError

    settings = _settings()
    accounts, _ = _services(settings)
    account = _account_or_exit(accounts, name)
    try:
        accounts.set_plan(account.id, plan, list(settings.billing.plans))
    except PressroomError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{account.name}: plan={plan}")


class _NegativeAmounts(TyperCommand):
    """A command whose integer arguments may be negative as written: `grant-credits NAME -988`.

    click reads any token starting with "-" as an option, so "-988" used to exit 2 ("No such option").
    The command ignores unknown options (they stay arguments, where the int type parses them), and this
    parser refuses, before that, every unknown option that does not look like a number: a typo such as
    `--nte` is still "No such option" (exit 2), not a confusing "invalid integer".
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # ctx: typer's (vendored) click Context
        options = {name: param for param in self.get_params(ctx) for name in (*param.opts, *param.secondary_opts)}
        tokens = iter(args)
        for token in tokens:
            if token == "--":
                break
            name = token.split("=", 1)[0]
            if name in options:
                param = options[name]
                if "=" not in token and param.param_type_name == "option" and not getattr(param, "is_flag", False):
                    next(tokens, None)  # its value, even one starting with "-" (`--note -x`)
            elif token.startswith("-") and len(token) > 1 and not _NUMBER_LIKE.match(token):
                ctx.fail(f"No such option: {name}")
        return super().parse_args(ctx, args)


# "-988", but also "-1.5" or "-.5": left to the int type, which refuses them as "not a valid integer".
_NUMBER_LIKE = re.compile(r"-[0-9.]")


@accounts_app.command("grant-credits", cls=_NegativeAmounts, context_settings={"ignore_unknown_options": True})
def accounts_grant_credits(
    name: str,
    amount: Annotated[int, typer.Argument(help="Credits to add; negative to remove (e.g. -988)")],
    note: Annotated[str, typer.Option(help="Why (kept in the ledger)")] = "",
) -> None:
    """Add (or with a negative amount, remove) credits: an entry in the append-only ledger."""
    accounts, credits = _billing_services(_settings())
    account = _account_or_exit(accounts, name)
    balance = credits.grant(account.id, amount, note or "granted from the CLI")
    typer.echo(f"{account.name}: {amount:+d} credits, balance {balance}")


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(help="Jobs at once (Celery: pool size); 0 = cores")] = 0,
    pool: Annotated[str, typer.Option(help="Celery pool: prefork, threads or solo")] = "prefork",
    hostname: Annotated[str | None, typer.Option(help="Celery node name (default: celery@host)")] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning")] = "info",
) -> None:
    """Run jobs from the configured queue, without serving HTTP (PRESSROOM_QUEUE=celery or embedded)."""
    import os
    import signal
    import threading

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if pool not in ("prefork", "threads", "solo"):
        raise typer.BadParameter("pool must be prefork, threads or solo", param_hint="--pool")
    settings = _settings()
    _migrate(settings)
    jobs_at_once = concurrency or (os.cpu_count() or 1)
    if settings.queue == "celery":
        from pressroom.worker import run_worker

        run_worker(settings, concurrency=jobs_at_once, pool=pool, loglevel=log_level, hostname=hostname)
        return
    # Embedded queue: this process polls the shared jobs table next to (or instead of) the API's workers.
    from pressroom.bootstrap import build

    settings.jobs.workers = jobs_at_once
    container = build(settings)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    container.start(worker=True)
    typer.echo(f"pressroom worker ready (pid {os.getpid()}, embedded, {jobs_at_once} workers)")
    try:
        stop.wait()
    finally:
        container.close()


@app.command()
def batch(
    entries: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSON Lines: one entry per line")],
    operation: Annotated[str, typer.Option(help="generate or transform")] = "generate",
    account: Annotated[str | None, typer.Option(help="Account name (default: the default account)")] = None,
    webhook_url: Annotated[str | None, typer.Option(help="Called once when every job has ended")] = None,
    out: Annotated[Path | None, typer.Option(file_okay=False, help="Write the documents to this directory")] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the batch with a progress bar")] = True,
    timeout_s: Annotated[float, typer.Option("--timeout", help="Give up waiting after this many seconds")] = 3600,
) -> None:
    """Submit a batch (one entry per line, as the body of /v1/documents/<operation>) and follow it."""
    import time

    from pydantic import ValidationError

    from pressroom.batches.schemas import BatchRequest
    from pressroom.bootstrap import build
    from pressroom.core.errors import PressroomError
    from pressroom.core.principal import Principal

    lines = [(number, line) for number, line in enumerate(entries.read_text().splitlines(), 1) if line.strip()]
    try:
        rows = [json.loads(line) for _, line in lines]
    except json.JSONDecodeError as exc:
        typer.echo(f"error: {entries}: invalid JSON: {exc}", err=True)
        raise typer.Exit(2) from None
    settings = _settings()
    _migrate(settings)
    container = build(settings)
    try:
        record, _ = container.accounts.get_or_create(account or settings.default_account)
        if settings.queue == "embedded":  # nothing else may be running jobs: run them here
            container.start(worker=True)
        try:
            request = BatchRequest.model_validate({"operation": operation, "entries": rows, "webhook_url": webhook_url})
            created, job_ids = container.batches.submit(Principal(record.id, "cli", "live"), request)
        except ValidationError as exc:
            typer.echo(f"error: invalid batch: {exc}", err=True)
            raise typer.Exit(2) from None
        except PressroomError as exc:
            details = f" {exc.details}" if exc.details else ""
            typer.echo(f"error: {exc.code}: {exc.message}{details}", err=True)
            raise typer.Exit(1) from None
        typer.echo(f"batch {created.id}: {len(job_ids)} jobs")
        if not wait:
            return
        deadline = time.monotonic() + timeout_s
        done = 0
        with typer.progressbar(length=len(job_ids), label="rendering") as bar:
            while time.monotonic() < deadline:
                view = container.batches.get(record.id, created.id)
                ended = sum(n for status, n in view.totals.items() if status in ("completed", "failed", "canceled"))
                bar.update(ended - done)
                done = ended
                if view.batch.status == "completed":
                    break
                time.sleep(0.25)
        view = container.batches.get(record.id, created.id)
        totals = ", ".join(f"{status}={n}" for status, n in sorted(view.totals.items()))
        typer.echo(f"batch {created.id} {view.batch.status}: {totals}")
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            for index, job in enumerate(view.jobs):
                if job.document_id is None:
                    continue
                document, data = container.documents.read(record.id, job.document_id)
                (out / f"{index:05d}-{document.filename}").write_bytes(data)
            typer.echo(f"documents written to {out}")
        if view.batch.status != "completed":
            typer.echo(f"error: the batch did not end within {timeout_s:.0f}s", err=True)
            raise typer.Exit(1)
        if view.totals.get("failed") or view.totals.get("canceled"):
            for job in view.jobs:
                if job.error_code:
                    typer.echo(f"  {job.id}: {job.error_code}: {job.error_message}", err=True)
            raise typer.Exit(1)
    finally:
        container.close()


@app.command()
def render(
    template: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Handlebars HTML template")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the PDF")],
    data: Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="JSON data file")] = None,
    css: Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="CSS file")] = None,
    paper: Annotated[str, typer.Option(help="A0-A6, Letter, Legal, Tabloid")] = "A4",
    orientation: Annotated[str, typer.Option(help="portrait or landscape")] = "portrait",
    margin: Annotated[str | None, typer.Option(help="One length for all sides, e.g. 15mm")] = None,
    scale: Annotated[float, typer.Option(help="0.1 - 2")] = 1.0,
    header_html: Annotated[Path | None, typer.Option(exists=True, dir_okay=False)] = None,
    footer_html: Annotated[Path | None, typer.Option(exists=True, dir_okay=False)] = None,
    options: Annotated[str | None, typer.Option(help="More options as JSON (same keys as the API)")] = None,
) -> None:
    """Render offline, with no server: same engine and options as the API."""
    from pydantic import ValidationError

    from pressroom.aio import LoopThread
    from pressroom.bootstrap import render_engines
    from pressroom.core.errors import PressroomError
    from pressroom.generation.generator import HtmlToPdf
    from pressroom.net.gate import NetworkGate
    from pressroom.rendering.registry import EngineRegistry

    settings = _settings()
    raw: dict[str, Any] = {"paper": paper, "orientation": orientation, "scale": scale}
    if margin:
        raw["margin"] = margin
    if header_html:
        raw["header_html"] = header_html.read_text()
    if footer_html:
        raw["footer_html"] = footer_html.read_text()
    try:
        raw.update(json.loads(options) if options else {})
        payload = json.loads(data.read_text()) if data else {}
    except json.JSONDecodeError as exc:
        typer.echo(f"error: invalid JSON: {exc}", err=True)
        raise typer.Exit(2) from None
    loop = LoopThread()
    # The engines the server renders with, configured the same way (bootstrap is their one factory).
    engines = render_engines(settings, NetworkGate.from_settings(settings.net))
    renderer = EngineRegistry(engines, loop, default=settings.render.default_engine)
    # HTML -> PDF only: no stored templates, no account assets, no PDF finishing (there is no database here).
    html_to_pdf = HtmlToPdf(settings, renderer)
    try:
        renderer.start()
        pdf = html_to_pdf.render(template.read_text(), css.read_text() if css else "", payload, raw)
    except ValidationError as exc:
        typer.echo(f"error: invalid options: {exc}", err=True)
        raise typer.Exit(2) from None
    except PressroomError as exc:
        details = f" {exc.details}" if exc.details else ""
        typer.echo(f"error: {exc.code}: {exc.message}{details}", err=True)
        raise typer.Exit(1) from None
    finally:
        renderer.close()
        loop.close()
    output.write_bytes(pdf.data)
    typer.echo(f"wrote {output} ({pdf.pages} pages, {len(pdf.data)} bytes, {pdf.render_ms:.0f} ms)")


def main() -> None:
    app(prog_name="pressroom")


if __name__ == "__main__":
    main()
