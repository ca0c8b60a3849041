"""The starter templates: listed by GET /v1/templates/catalog, and each renders in both engines with its
sample data (text checked with pdftotext; the report's table header repeats on every page)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.rendering_support import pages, text
from tests.support import ServerProcess, pdfinfo

SLUGS = ["invoice", "quote", "receipt", "letter", "certificate", "report", "shipping-label"]
# A phrase from each template's sample data that must appear in its PDF.
EXPECTED = {
    "invoice": "INV-2026-0042",
    "quote": "Q-2026-117",
    "receipt": "R-000482913",
    "letter": "Renewal of our maintenance agreement",
    "certificate": "Amelia Johnson",
    "report": "Quarterly sales report",
    "shipping-label": "PR1234567890FR",
}


@pytest.fixture(scope="module")
def catalog(stack: Any, key_a: str) -> dict[str, dict[str, Any]]:
    with stack.client(key_a) as api:
        response = api.get("/v1/templates/catalog")
    assert response.status_code == 200, response.text
    return {entry["slug"]: entry for entry in response.json()["data"]}


def test_catalog_lists_the_starter_templates(catalog: dict[str, dict[str, Any]], anon: httpx.Client) -> None:
    assert sorted(catalog) == sorted(SLUGS)
    for entry in catalog.values():
        assert entry["body"] and entry["sample_data"] and entry["name"] and entry["description"]
        assert entry["engines"] == ["chromium", "weasyprint"]
    assert anon.get("/v1/templates/catalog").status_code == 401


def test_a_catalog_entry_can_be_saved_as_a_template(api: httpx.Client, catalog: dict[str, dict[str, Any]]) -> None:
    entry = catalog["invoice"]
    fields = {k: entry[k] for k in ("name", "body", "css", "options", "sample_data")}
    created = api.post("/v1/templates", json=fields)
    assert created.status_code == 201, created.text
    response = api.post(
        "/v1/documents/generate",
        json={"template_id": created.json()["id"], "data": entry["sample_data"]},
        headers={"Accept": "application/pdf"},
    )
    assert response.status_code in (200, 201) and "INV-2026-0042" in text(response.content)


@pytest.mark.parametrize("engine", ["chromium", "weasyprint"])
@pytest.mark.parametrize("slug", SLUGS)
def test_catalog_template_renders(
    api: httpx.Client, catalog: dict[str, dict[str, Any]], slug: str, engine: str
) -> None:
    entry = catalog[slug]
    response = api.post(
        "/v1/documents/transform",
        json={
            "html": entry["body"],
            "css": entry["css"],
            "data": entry["sample_data"],
            "options": {**entry["options"], "engine": engine},
        },
        headers={"Accept": "application/pdf"},
    )
    assert response.status_code in (200, 201), response.text
    pdf = response.content
    assert EXPECTED[slug] in " ".join(text(pdf).split())
    count = pages(pdf)
    if slug == "report":
        assert count >= 3
        for page in range(1, count + 1):
            assert "Customer" in text(pdf, page) and "Revenue" in text(pdf, page), f"{engine} page {page}"
            assert f"page {page} / {count}" in text(pdf, page)
    else:
        assert count == 1, f"{slug} with {engine}: {count} pages"


def test_server_without_chromium_renders_with_weasyprint(tmp_path: Path) -> None:
    """Chromium missing: the server starts, says so once in its log, and renders with WeasyPrint."""
    server = ServerProcess(data_dir=tmp_path, env_extra={"PRESSROOM_RENDER__CHROMIUM_PATH": "/nonexistent/chromium"})
    server.start()
    try:
        server.cli("accounts", "create", "nochrome", "--plan", "enterprise")
        key = server.create_key("nochrome")
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as api:
            response = api.post(
                "/v1/documents/transform",
                json={"html": "<p>no chromium here</p>", "options": {"engine": "chromium"}},
                headers={"Accept": "application/pdf"},
            )
            assert response.status_code in (200, 201), response.text
            assert "no chromium here" in text(response.content)
            assert "WeasyPrint" in pdfinfo(response.content).get("Producer", "")
            tailwind = api.post(
                "/v1/documents/transform", json={"html": "<p>x</p>", "options": {"framework": "tailwind"}}
            )
            assert tailwind.status_code == 400 and "chromium" in tailwind.json()["error"]["message"]
    finally:
        server.stop()
    assert server.log_path is not None
    log = server.log_path.read_text()
    assert log.count("render engine chromium is not available") == 1, log[-2000:]
