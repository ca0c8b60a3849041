"""The fakes keep the contract of what they stand in for: a test that passes on them means something."""

from __future__ import annotations

import asyncio
import time

import pytest

from pressroom.core.errors import PayloadTooLarge, QueueFull, RenderTimeout, ValidationFailed
from pressroom.rendering.base import PageOptions, StaticAsset
from pressroom.rendering.fake import FakeRenderer
from tests.support import page_size_pt, pdfinfo, pdftotext


def test_a_real_pdf_with_the_visible_text_on_the_chosen_paper() -> None:
    html = "<html><head><style>p{}</style><script>var hidden = 1</script></head><body><h1>Hello &amp; (you)</h1>"
    html += "<p>Café</p><div style='page-break-before: always'>Second page</div></body></html>"
    pdf = asyncio.run(
        FakeRenderer().render_pdf(html, PageOptions(paper="Letter", orientation="landscape"), timeout_s=5)
    )
    assert pdf.pages == 2 and int(pdfinfo(pdf.data)["Pages"]) == 2 and pdf.engine == "chromium"
    text = pdftotext(pdf.data)
    assert "Hello & (you)" in text and "Café" in text and "Second page" in text
    assert "hidden" not in text and "p{}" not in text
    assert page_size_pt(pdf.data) == pytest.approx((792, 612), abs=1)


def test_long_text_flows_onto_more_pages() -> None:
    pdf = asyncio.run(FakeRenderer().render_pdf("<p>line</p>" * 200, PageOptions(paper="A6"), timeout_s=5))
    assert pdf.pages > 1 and int(pdfinfo(pdf.data)["Pages"]) == pdf.pages


def test_limits_are_honoured() -> None:
    with pytest.raises(PayloadTooLarge):
        asyncio.run(FakeRenderer(max_html_bytes=10).render_pdf("<p>too long</p>", PageOptions(), timeout_s=5))
    slow = FakeRenderer(render_s=5)
    started = time.monotonic()
    with pytest.raises(RenderTimeout):
        asyncio.run(slow.render_pdf("<p>x</p>", PageOptions(timeout_s=0.2), timeout_s=30))
    assert time.monotonic() - started < 2  # the options' own limit, not the 30 s one
    with pytest.raises(QueueFull):  # a sync request whose deadline passed before the render started
        asyncio.run(FakeRenderer().render_pdf("<p>x</p>", PageOptions(), timeout_s=5, deadline=time.monotonic() - 1))
    with pytest.raises(ValidationFailed):
        asyncio.run(FakeRenderer().render_pdf("<p>x</p>", PageOptions(page_ranges="1-a"), timeout_s=5))


def test_calls_are_recorded_with_their_assets() -> None:
    renderer = FakeRenderer("weasyprint")
    assets = {"https://assets.pressroom.invalid/a/logo": StaticAsset("image/png", b"png")}
    asyncio.run(renderer.render_pdf("<p>x</p>", PageOptions(), timeout_s=3, assets=assets))
    assert len(renderer.calls) == 1
    call = renderer.calls[0]
    assert (call.html, call.timeout_s, call.assets, call.deadline) == ("<p>x</p>", 3, assets, None)
