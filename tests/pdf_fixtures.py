"""Builds the hostile PDFs used by the tests. The bombs are a few KB on disk, so the generated files are
committed; rerun this script (``.venv/bin/python -m tests.pdf_fixtures``) to rebuild them in tests/resources/pdf/.

- ``flate_bomb.pdf``: a page whose content stream is FlateDecode applied three times over 4 GiB of spaces
  (valid content, so a parser must expand it to render or recompress it).
- ``xref_loop.pdf``: a cross-reference section whose /Prev points at itself, and a page tree whose /Kids
  points back at its parent.
- ``truncated.pdf`` / ``not_a_pdf.pdf``: a valid file cut in half, and random bytes.

The 100,000-page file is ~5 MB, so it is generated on the fly by ``many_pages_pdf`` instead.
"""

from __future__ import annotations

import zlib
from pathlib import Path

# Where the generated files live (tests/resources holds data only; this module writes it).
HERE = Path(__file__).resolve().parent / "resources" / "pdf"


def _assemble(objects: list[bytes], root: int, extra_trailer: bytes = b"", prev_self: bool = False) -> bytes:
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    prev = b" /Prev %d" % xref_at if prev_self else b""
    out += b"trailer\n<< /Size %d /Root %d 0 R%s%s >>\n" % (len(objects) + 1, root, prev, extra_trailer)
    out += b"startxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)


def _stream(data: bytes, filters: bytes = b"") -> bytes:
    return b"<< /Length %d%s >>\nstream\n" % (len(data), filters) + data + b"\nendstream"


def simple_pdf(text: str = "Hello") -> bytes:
    content = b"BT /F1 24 Tf 72 720 Td (" + text.encode("latin-1") + b") Tj ET"
    return _assemble(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
            b" /Resources << /Font << /F1 5 0 R >> >> >>",
            _stream(content),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ],
        root=1,
    )


def text_pdf(lines: list[str], size: tuple[int, int] = (612, 792)) -> bytes:
    """One page per line of text (Helvetica, not embedded: fine for structure tests, not for PDF/A)."""
    count = len(lines)
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    kids = []
    for index, line in enumerate(lines):
        page_number = 3 + index * 2
        kids.append(page_number)
        content = b"BT /F1 24 Tf 72 %d Td (" % (size[1] - 100) + line.encode("latin-1") + b") Tj ET"
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R"
            b" /Resources << /Font << /F1 %d 0 R >> >> >>" % (size[0], size[1], page_number + 1, 3 + count * 2)
        )
        objects.append(_stream(content))
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % k for k in kids), count)
    return _assemble(objects, root=1)


def flate_bomb(expanded_gib: int = 4) -> bytes:
    compressor = zlib.compressobj(9)
    chunk = b" " * (1 << 24)
    first = bytearray()
    for _ in range(expanded_gib * 64):  # 64 x 16 MiB = 1 GiB
        first += compressor.compress(chunk)
    first += compressor.flush()
    data = zlib.compress(zlib.compress(bytes(first), 9), 9)
    return _assemble(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
            _stream(data, b" /Filter [/FlateDecode /FlateDecode /FlateDecode]"),
        ],
        root=1,
    )


def xref_loop() -> bytes:
    return _assemble(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R 2 0 R] /Count 2 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
        ],
        root=1,
        prev_self=True,
    )


def many_pages_pdf(count: int = 100_000) -> bytes:
    """``count`` pages sharing one empty content stream, in a two-level page tree (about 50 bytes a page)."""
    per_node = 1000
    nodes = (count + per_node - 1) // per_node
    first_node = 4
    first_page = first_node + nodes
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d /MediaBox [0 0 200 200] >>"
        % (b" ".join(b"%d 0 R" % (first_node + i) for i in range(nodes)), count),
        _stream(b""),
    ]
    for node in range(nodes):
        kids = range(first_page + node * per_node, first_page + min(count, (node + 1) * per_node))
        objects.append(
            b"<< /Type /Pages /Parent 2 0 R /Kids [%s] /Count %d >>"
            % (b" ".join(b"%d 0 R" % k for k in kids), len(kids))
        )
    for page in range(count):
        objects.append(b"<< /Type /Page /Parent %d 0 R /Contents 3 0 R >>" % (first_node + page // per_node))
    return _assemble(objects, root=1)


def main() -> None:
    (HERE / "flate_bomb.pdf").write_bytes(flate_bomb())
    (HERE / "xref_loop.pdf").write_bytes(xref_loop())
    valid = simple_pdf("truncated")
    (HERE / "truncated.pdf").write_bytes(valid[: len(valid) // 2])
    (HERE / "not_a_pdf.pdf").write_bytes(bytes(range(256)) * 4)


if __name__ == "__main__":
    main()
