"""The command-line door: serve, worker-less API nodes, migrations, keys, offline renders."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Any

import typer

from pressroom.config import Settings, get_settings

app = typer.Typer(help="Pressroom: self-hosted document generation.", no_args_is_help=True, add_completion=False)
keys_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


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

    from pressroom.api.app import create_app

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = _settings()
    if settings.public_url == "http://127.0.0.1:8000" and (host, port) != ("127.0.0.1", 8000):
        settings.public_url = f"http://{host}:{port}"
    accounts, keys = _services(settings)
    account, _ = accounts.get_or_create(settings.default_account)
    if not keys.list(account.id):
        issued = keys.create(account.id, "live", "first key")
        typer.echo(f"First start: API key for account '{account.name}' (shown once):\n  {issued.secret}")
    uvicorn.run(create_app(settings, worker=not no_worker), host=host, port=port, log_level=log_level)


@keys_app.command("create")
def keys_create(
    account: Annotated[str | None, typer.Option(help="Account name (created if missing)")] = None,
    mode: Annotated[str, typer.Option(help="live or test")] = "live",
    name: Annotated[str, typer.Option(help="A label for the key")] = "",
) -> None:
    """Create a key; the secret is the last line of output."""
    if mode not in ("live", "test"):
        raise typer.BadParameter("mode must be 'live' or 'test'", param_hint="--mode")
    settings = _settings()
    accounts, keys = _services(settings)
    record, _ = accounts.get_or_create(account or settings.default_account)
    issued = keys.create(record.id, mode, name)
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
    names = {a.id: a.name for a in accounts.list()}
    for key in keys.list(account_id):
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
    from pressroom.core.errors import PressroomError
    from pressroom.documents.generation import DocumentGenerator
    from pressroom.net.gate import NetworkGate
    from pressroom.rendering.chromium import ChromiumRenderer
    from pressroom.rendering.host import BlockingRenderer

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
    gate = NetworkGate.from_settings(settings.net)
    renderer = BlockingRenderer(ChromiumRenderer.from_settings(settings.render, gate, net=settings.net), loop)
    generator = DocumentGenerator(settings, templates=None, renderer=renderer)  # type: ignore[arg-type]
    try:
        renderer.start()
        pdf = generator.render(template.read_text(), css.read_text() if css else "", payload, raw)
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
