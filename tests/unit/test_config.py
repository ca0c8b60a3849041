"""Settings defaults that depend on the machine: which Chromium binary renders."""

from __future__ import annotations

from pathlib import Path

import pytest

from pressroom import config
from pressroom.config import RenderSettings, default_chromium_path


def test_the_headless_shell_is_preferred_when_installed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    shell, full = tmp_path / "chromium-headless-shell", tmp_path / "chromium"
    shell.write_bytes(b"")
    full.write_bytes(b"")
    monkeypatch.setattr(config, "CHROMIUM_CANDIDATES", (str(shell), str(full)))
    assert default_chromium_path() == str(shell)
    assert RenderSettings().chromium_path == str(shell)


def test_the_full_browser_is_the_fallback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    full = tmp_path / "chromium"
    full.write_bytes(b"")
    monkeypatch.setattr(config, "CHROMIUM_CANDIDATES", (str(tmp_path / "chromium-headless-shell"), str(full)))
    assert default_chromium_path() == str(full)


def test_with_no_browser_the_error_names_the_usual_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(config, "CHROMIUM_CANDIDATES", (str(tmp_path / "a"), "/nonexistent/chromium"))
    assert default_chromium_path() == "/nonexistent/chromium"


def test_an_explicit_path_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRESSROOM_RENDER__CHROMIUM_PATH", "/opt/chrome/chrome")
    assert config.Settings().render.chromium_path == "/opt/chrome/chrome"
