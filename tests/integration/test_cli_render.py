"""`pressroom render` works offline: no server, same engine and options as the API."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support import VENV_BIN, have_chromium, page_size_pt, pdfinfo, pdftotext

pytestmark = [
    pytest.mark.chromium,
    pytest.mark.skipif(not have_chromium(), reason="Chromium is not installed"),
]


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSROOM_")}
    env["PRESSROOM_DATA_DIR"] = str(cwd / "var")
    return subprocess.run(
        [str(VENV_BIN / "pressroom"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_render_template_with_data_and_options(tmp_path: Path) -> None:
    (tmp_path / "t.html").write_text("<h1>{{title}}</h1>{{#each rows}}<p>{{this}}</p>{{/each}}")
    (tmp_path / "d.json").write_text(json.dumps({"title": "Offline report", "rows": ["alpha", "beta"]}))
    (tmp_path / "s.css").write_text("h1 { color: navy }")
    (tmp_path / "f.html").write_text(
        '<div style="font-size:9px">p. <span class="pageNumber"></span>/<span class="totalPages"></span></div>'
    )
    result = run_cli(
        "render",
        "t.html",
        "--data",
        "d.json",
        "--css",
        "s.css",
        "--paper",
        "Letter",
        "--orientation",
        "landscape",
        "--margin",
        "20mm",
        "--footer-html",
        "f.html",
        "-o",
        "out.pdf",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    pdf = (tmp_path / "out.pdf").read_bytes()
    width, height = page_size_pt(pdf)
    assert abs(width - 792) < 2 and abs(height - 612) < 2
    text = pdftotext(pdf)
    assert "Offline report" in text and "beta" in text and "p. 1/1" in text
    assert int(pdfinfo(pdf)["Pages"]) == 1
    assert not (tmp_path / "var" / "pressroom.db").exists()  # no database touched


def test_render_reports_template_errors_clearly(tmp_path: Path) -> None:
    (tmp_path / "bad.html").write_text("<p>\n{{#if x}}\n")
    result = run_cli("render", "bad.html", "-o", "out.pdf", cwd=tmp_path)
    assert result.returncode == 1
    assert "TEMPLATE_SYNTAX_ERROR" in result.stderr
    assert not (tmp_path / "out.pdf").exists()


def test_render_rejects_bad_options(tmp_path: Path) -> None:
    (tmp_path / "t.html").write_text("x")
    result = run_cli("render", "t.html", "--paper", "B9", "-o", "out.pdf", cwd=tmp_path)
    assert result.returncode == 2 and "unknown paper" in result.stderr
