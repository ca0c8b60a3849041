"""Differential test: every corpus case rendered by the real handlebars.js (node) and by Pressroom must give
byte-identical output, and when handlebars.js throws, Pressroom must raise a template error too.

Runs the pinned ``handlebars@4.7.8`` from ``package-lock.json`` (``npm ci`` on first use). Skipped with a
reason when node/npm are not installed -- except in CI (``CI`` set), where that is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pressroom.templating.handlebars import TemplateRuntimeError, TemplateSyntaxError, compile

from .corpus import all_cases

pytestmark = pytest.mark.node

HERE = Path(__file__).resolve().parent
SPEC_DIR = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "mustache-spec"
CASES = all_cases()


def _spec_cases() -> list[dict[str, Any]]:
    cases = []
    for path in sorted(SPEC_DIR.glob("*.json")):
        for test in json.loads(path.read_text(encoding="utf-8"))["tests"]:
            cases.append(
                {
                    "id": f"spec:{path.stem}:{test['name']}",
                    "template": test["template"],
                    "data": test["data"],
                    "partials": test.get("partials", {}),
                }
            )
    return cases


ALL = CASES + _spec_cases()


def _require_node() -> None:
    if shutil.which("node") and shutil.which("npm"):
        return
    if os.environ.get("CI"):
        pytest.fail("node and npm must be installed in CI for the differential test")
    pytest.skip("node/npm not installed: the handlebars.js differential test needs them")


@pytest.fixture(scope="module")
def js_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    _require_node()
    if not (HERE / "node_modules" / "handlebars" / "package.json").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HERE, check=True, timeout=300)
    tmp = tmp_path_factory.mktemp("differential")
    cases_file, results_file = tmp / "cases.json", tmp / "results.json"
    cases_file.write_text(json.dumps(ALL), encoding="utf-8")
    subprocess.run(
        ["node", str(HERE / "runner.js"), str(cases_file), str(results_file)], cwd=HERE, check=True, timeout=120
    )
    return {r["id"]: r for r in json.loads(results_file.read_text(encoding="utf-8"))}


def test_corpus_is_big_enough() -> None:
    assert len(CASES) >= 300
    assert len({c["id"] for c in ALL}) == len(ALL)


@pytest.mark.parametrize("case", ALL, ids=[c["id"] for c in ALL])
def test_same_output_as_handlebars_js(case: dict[str, Any], js_results: dict[str, dict[str, Any]]) -> None:
    js = js_results[case["id"]]
    data = json.loads(json.dumps(case["data"]))  # exactly what node's JSON.parse saw
    try:
        output: str | None = compile(case["template"], case.get("partials") or {}).render(data)
        error: Exception | None = None
    except (TemplateSyntaxError, TemplateRuntimeError) as exc:
        output, error = None, exc
    if js["ok"]:
        assert error is None, f"handlebars.js rendered {js['output']!r} but Pressroom raised {error}"
        assert output == js["output"]
    else:
        assert error is not None, f"handlebars.js threw {js['error']!r} but Pressroom rendered {output!r}"
