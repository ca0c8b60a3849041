from __future__ import annotations

from pressroom.config import PricingSettings
from pressroom.credits.pricing import price, used_options

PRICING = PricingSettings()


def test_base_price_per_operation() -> None:
    assert price(PRICING, "generate", {}) == 1
    assert price(PRICING, "unknown-op", {}) == 1


def test_each_option_adds_and_lists_count_per_item() -> None:
    request = {"options": {"pdf": {"compress": True, "factur_x": {"profile": "basic"}, "attachments": [1, 2, 3]}}}
    assert price(PRICING, "generate", request) == 1 + 1 + 1 + 3


def test_unset_or_false_options_are_free() -> None:
    request = {"options": {"pdf": {"compress": False, "attachments": [], "metadata": {"title": "x"}}}}
    assert price(PRICING, "transform", request) == 1


def test_merge_sources_beyond_two_are_attachments() -> None:
    assert price(PRICING, "merge", {"sources": [1, 2]}) == 1
    assert price(PRICING, "merge", {"sources": [1, 2, 3, 4]}) == 3


def test_used_options_for_plan_checks() -> None:
    assert used_options("encrypt", {}) == {"encryption"}
    assert used_options("generate", {"options": {"pdf": {"password": "x", "sign": None}}}) == {"password", "encryption"}
