"""PageOptions -> Chromium print parameters (no browser needed)."""

from __future__ import annotations

from typing import Any

import pytest

from pressroom.core.errors import ValidationFailed
from pressroom.rendering.base import PageOptions
from pressroom.rendering.chromium import pdf_params, to_inches
from pressroom.rendering.chromium.printing import HEADER_FOOTER_DEFAULT_MARGIN, count_pages, translate_placeholders


def inches(value: str) -> float:
    assert value.endswith("in")
    return float(value[:-2])


@pytest.mark.parametrize(
    ("options", "width", "height"),
    [
        ({}, 210 / 25.4, 297 / 25.4),
        ({"paper": "letter"}, 8.5, 11),
        ({"paper": "Legal"}, 8.5, 14),
        ({"paper": "TABLOID"}, 11, 17),
        ({"paper": "A0"}, 841 / 25.4, 1189 / 25.4),
        ({"paper": "A6"}, 105 / 25.4, 148 / 25.4),
        ({"orientation": "landscape"}, 297 / 25.4, 210 / 25.4),
        ({"paper": "Letter", "orientation": "landscape"}, 11, 8.5),
        ({"width": "100mm", "height": "5cm"}, 100 / 25.4, 50 / 25.4),
        ({"width": 960, "height": "2in"}, 10, 2),
        ({"width": "4in", "height": "6in", "orientation": "landscape"}, 6, 4),
        ({"width": "5in"}, 5, 297 / 25.4),  # the missing side comes from the paper
    ],
)
def test_paper_size(options: dict[str, Any], width: float, height: float) -> None:
    params = pdf_params(PageOptions(**options))
    assert inches(params.width) == pytest.approx(width, abs=1e-5)
    assert inches(params.height) == pytest.approx(height, abs=1e-5)


def test_defaults() -> None:
    params = pdf_params(PageOptions())
    assert params.scale == 1.0 and params.print_background is True
    assert params.page_ranges == "" and not params.tagged and not params.outline
    assert params.display_header_footer is False
    assert all(inches(v) == 0 for v in params.margin.values())


def test_margins_and_flags() -> None:
    options = PageOptions(
        margin={"top": "1in", "right": "10mm", "bottom": "2cm", "left": 48},
        scale=0.5,
        print_background=False,
        page_ranges=" 1-3, 5 ",
        tagged=True,
        outline=True,
    )
    params = pdf_params(options)
    assert inches(params.margin["top"]) == 1
    assert inches(params.margin["right"]) == pytest.approx(10 / 25.4, abs=1e-6)
    assert inches(params.margin["bottom"]) == pytest.approx(2 / 2.54, abs=1e-6)
    assert inches(params.margin["left"]) == 0.5
    assert (params.scale, params.print_background, params.page_ranges) == (0.5, False, "1-3, 5")
    assert params.tagged and params.outline


def test_one_margin_for_all_sides() -> None:
    assert {inches(v) for v in pdf_params(PageOptions(margin="1in")).margin.values()} == {1.0}


def test_header_footer_templates() -> None:
    params = pdf_params(PageOptions(footer_html="Page {page} of {pages}"))
    assert params.display_header_footer
    assert params.header_template == "<span></span>"  # blank: Chromium's default band shows date/title
    assert 'Page <span class="pageNumber"></span> of <span class="totalPages"></span>' in params.footer_template
    assert "font-size:10px" in params.footer_template


def test_default_margin_leaves_room_for_the_bands() -> None:
    band = to_inches(HEADER_FOOTER_DEFAULT_MARGIN)
    header_only = pdf_params(PageOptions(header_html="<b>H</b>"))
    assert inches(header_only.margin["top"]) == pytest.approx(band, abs=1e-6)
    assert inches(header_only.margin["bottom"]) == 0
    both = pdf_params(PageOptions(header_html="H", footer_html="F", margin={"top": "30mm"}))
    assert inches(both.margin["top"]) == pytest.approx(30 / 25.4, abs=1e-6)  # an explicit margin stays
    assert inches(both.margin["bottom"]) == pytest.approx(band, abs=1e-6)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{page}/{pages}", '<span class="pageNumber"></span>/<span class="totalPages"></span>'),
        ("{{page}} of {{ pages }}", '<span class="pageNumber"></span> of <span class="totalPages"></span>'),
        ("{date} {title}", '<span class="date"></span> <span class="title"></span>'),
        ('<span class="pageNumber"></span>', '<span class="pageNumber"></span>'),
        ("{pagex} {Page}", "{pagex} {Page}"),
    ],
)
def test_placeholders(source: str, expected: str) -> None:
    assert translate_placeholders(source) == expected


@pytest.mark.parametrize("ranges", ["1-2; 3", "a", "1,,2", "-3", "1-2-3"])
def test_invalid_page_ranges(ranges: str) -> None:
    with pytest.raises(ValidationFailed):
        pdf_params(PageOptions(page_ranges=ranges))


@pytest.mark.parametrize("ranges", ["1", "1-3", "2-", "1, 3-4,6"])
def test_valid_page_ranges(ranges: str) -> None:
    assert pdf_params(PageOptions(page_ranges=ranges)).page_ranges == ranges.strip()


def test_count_pages() -> None:
    pdfium: Any = pytest.importorskip("pypdfium2")
    document = pdfium.PdfDocument.new()
    for _ in range(3):
        document.new_page(100, 100)
    import io

    buffer = io.BytesIO()
    document.save(buffer)
    assert count_pages(buffer.getvalue()) == 3
