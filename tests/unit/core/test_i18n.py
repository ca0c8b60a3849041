from __future__ import annotations

import json
from pathlib import Path

import pytest

from pressroom.core import errors
from pressroom.core.i18n import negotiate, translate


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        (None, "en"),
        ("", "en"),
        ("fr", "fr"),
        ("fr-CA", "fr"),
        ("de, fr;q=0.5", "fr"),
        ("fr;q=0.2, en;q=0.9", "en"),
        ("de", "en"),
        ("fr;q=0", "en"),
        ("fr;q=abc", "en"),
    ],
)
def test_negotiate(header: str | None, lang: str) -> None:
    assert negotiate(header) == lang


def test_english_keeps_the_specific_message() -> None:
    assert translate("TEMPLATE_NOT_FOUND", "en", "Template tpl_1 is gone") == "Template tpl_1 is gone"


def test_every_error_code_has_a_french_message() -> None:
    catalogue = json.loads((Path(errors.__file__).parent / "locales" / "fr.json").read_text())
    codes = {cls.code for cls in errors._subclasses(errors.PressroomError)}
    missing = codes - set(catalogue)
    assert not missing, f"no French message for {sorted(missing)}"
