"""The Mustache spec (comments, interpolation, inverted, partials, sections) run against Pressroom.

handlebars.js deliberately departs from Mustache in a few cases; for those we assert what handlebars.js
4.7.8 actually renders (verified with the npm package, see tests/differential) instead of the spec text:

* no context-stack walking: handlebars resolves a name in the current context only (Mustache searches
  every enclosing context), so ``{{#a}}{{b}}{{/a}}`` does not find a root-level ``b``
  ("Parent contexts", "Variable test", "List Contexts", "Deeply Nested Contexts");
* a missing partial is an error, not an empty string ("Failed Lookup");
* a standalone partial's indentation is applied to every line the partial outputs, including lines coming
  from interpolated data ("Standalone Indentation").
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pressroom.templating.handlebars import TemplateRuntimeError, render

SPEC_DIR = Path(__file__).resolve().parents[4] / "shared" / "conformance" / "mustache-spec"

RAISES = object()

# name -> what handlebars.js renders (or RAISES)
HANDLEBARS_DIFFERS: dict[str, Any] = {
    "partials:Failed Lookup": RAISES,
    "partials:Standalone Indentation": "\\\n |\n <\n ->\n |\n/\n",
    "sections:Parent contexts": '", bar, "',
    "sections:Variable test": '"bar is "',
    "sections:List Contexts": "1.x.y.",
    "sections:Deeply Nested Contexts": "1\n1\n",
}


def _cases() -> list[Any]:
    cases = []
    for path in sorted(SPEC_DIR.glob("*.json")):
        for test in json.loads(path.read_text(encoding="utf-8"))["tests"]:
            name = f"{path.stem}:{test['name']}"
            cases.append(pytest.param(name, test, id=name))
    return cases


CASES = _cases()


def test_spec_files_present() -> None:
    assert len(CASES) >= 100, f"mustache spec not found in {SPEC_DIR}"
    names = {c.values[0] for c in CASES}
    assert set(HANDLEBARS_DIFFERS) <= names


@pytest.mark.parametrize(("name", "test"), CASES)
def test_mustache_spec(name: str, test: dict[str, Any]) -> None:
    data = json.loads(json.dumps(test["data"]))
    partials = test.get("partials") or {}
    expected = HANDLEBARS_DIFFERS.get(name, test["expected"])
    if expected is RAISES:
        with pytest.raises(TemplateRuntimeError):
            render(test["template"], data, partials)
        return
    assert render(test["template"], data, partials) == expected
    if name in HANDLEBARS_DIFFERS:
        assert expected != test["expected"]
