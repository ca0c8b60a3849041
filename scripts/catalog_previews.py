"""Render the starter templates with both engines and write PNG previews of their first pages.

.venv/bin/python scripts/catalog_previews.py [--out docs/catalog] [--dpi 60]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

from pressroom.aio import LoopThread
from pressroom.bootstrap import render_engines
from pressroom.config import Settings
from pressroom.generation.generator import HtmlToPdf
from pressroom.net.gate import NetworkGate
from pressroom.rendering.registry import EngineRegistry
from pressroom.templates.catalog import load_catalog


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "docs" / "catalog")
    parser.add_argument("--dpi", type=int, default=60)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    settings = Settings()
    loop = LoopThread()
    # The server's engines, configured the same way (bootstrap is their one factory), as `pressroom render` does.
    registry = EngineRegistry(render_engines(settings, NetworkGate.from_settings(settings.net)), loop)
    registry.start()
    generator = HtmlToPdf(settings, registry)
    try:
        for entry in load_catalog():
            for engine in ("chromium", "weasyprint"):
                pdf = generator.render(entry.body, entry.css, entry.sample_data, {**entry.options, "engine": engine})
                with tempfile.TemporaryDirectory() as tmp:
                    source = Path(tmp) / "doc.pdf"
                    source.write_bytes(pdf.data)
                    stem = args.out / f"{entry.slug}-{engine}"
                    command = ["pdftoppm", "-png", "-r", str(args.dpi), "-f", "1", "-l", "1", "-singlefile"]
                    subprocess.run([*command, str(source), str(stem)], check=True)
                print(f"{stem}.png  ({pdf.pages} pages, {pdf.render_ms:.0f} ms)")
    finally:
        registry.close()
        loop.close()


if __name__ == "__main__":
    main()
