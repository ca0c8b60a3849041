"""W4: merge 20 PDFs of 5 pages, then AES-256 encrypt - POST /v1/documents/merge (one call, the encryption
in options.pdf) vs `qpdf --empty --pages ... --encrypt` on the same files, in the same run.

qpdf's own process start is measured (`qpdf --version`) and subtracted, as the target excludes it. The
service side is measured twice: sources already stored as documents (the steady state of a document
service) and sources uploaded in the same multipart request (includes shipping 20 files over HTTP).
Also prints the server's RSS and the sandbox workers' peak RSS against the input size (memory O(input)).

    .venv/bin/python bench/w4_merge_encrypt.py [--samples 30] [--image-kb 60]
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image

from common import ServerProcess, percentile, rss_mb, summary, tree_rss_mb


def make_source(index: int, image_kb: int) -> bytes:
    """A 5-page PDF with text and one photo-like image per page (roughly what real statements look like)."""
    import pikepdf

    pdf = pikepdf.new()
    side = max(64, int((image_kb * 1024 / 3) ** 0.5))
    for page_number in range(5):
        page = pdf.add_blank_page(page_size=(595, 842))
        image = Image.effect_noise((side, side), 40 + index + page_number).convert("RGB")
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=85)
        raw = pikepdf.Stream(pdf, buffer.getvalue())
        raw.Type, raw.Subtype, raw.Width, raw.Height = pikepdf.Name.XObject, pikepdf.Name.Image, side, side
        raw.ColorSpace, raw.BitsPerComponent, raw.Filter = pikepdf.Name.DeviceRGB, 8, pikepdf.Name.DCTDecode
        page.add_resource(raw, pikepdf.Name.XObject, pikepdf.Name.Im0)
        font = pdf.make_indirect(
            pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica)
        )
        page.add_resource(font, pikepdf.Name.Font, pikepdf.Name.F1)
        text = (
            f"BT /F1 18 Tf 72 780 Td (Document {index} page {page_number + 1}) Tj ET q 400 0 0 400 100 300 cm /Im0 Do Q"
        )
        page.contents_add(pikepdf.Stream(pdf, text.encode()))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def qpdf_side(paths: list[Path], out: Path, samples: int) -> tuple[list[float], float]:
    start_cost = []
    for _ in range(10):
        started = time.perf_counter()
        subprocess.run(["qpdf", "--version"], capture_output=True, check=True)
        start_cost.append((time.perf_counter() - started) * 1000)
    startup = percentile(start_cost, 50)
    command = ["qpdf", "--empty", "--pages", *map(str, paths), "--", "--encrypt", "user", "user", "256", "--", str(out)]
    timings = []
    for index in range(samples + 3):
        started = time.perf_counter()
        subprocess.run(command, check=True)
        if index >= 3:
            timings.append((time.perf_counter() - started) * 1000 - startup)
    return timings, startup


def service_stored(client: httpx.Client, document_ids: list[str], samples: int) -> list[float]:
    body = {
        "sources": [{"type": "document", "id": d} for d in document_ids],
        "options": {"pdf": {"encryption": {"user_password": "user", "algorithm": "aes256"}}},
    }
    timings = []
    for index in range(samples + 3):
        started = time.perf_counter()
        response = client.post("/v1/documents/merge", json=body)
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 201, response.text
        assert response.json()["pages"] == 100
        if index >= 3:
            timings.append(elapsed)
    return timings


def service_uploads(client: httpx.Client, sources: list[bytes], samples: int) -> list[float]:
    data = {
        "sources": json.dumps([{"type": "file", "index": i} for i in range(len(sources))]),
        "options": json.dumps({"pdf": {"encryption": {"user_password": "user"}}}),
    }
    files = {f"file_{i}": (f"s{i}.pdf", pdf, "application/pdf") for i, pdf in enumerate(sources)}
    timings = []
    for index in range(samples + 3):
        started = time.perf_counter()
        response = client.post("/v1/documents/merge", data=data, files=files)
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 201, response.text
        if index >= 3:
            timings.append(elapsed)
    return timings


def sandbox_peak_mb(server_pid: int) -> float:
    """Peak RSS (VmHWM) of the sandbox workers: the processes that hold the documents while merging."""
    peak = 0.0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if "pressroom-pdf" in text or "forkserver" in Path(status.parent / "cmdline").read_text(errors="ignore"):
            for line in text.splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) / 1024)
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--image-kb", type=int, default=60, help="size of the image on each page")
    args = parser.parse_args()
    sources = [make_source(i, args.image_kb) for i in range(20)]
    total_mb = sum(map(len, sources)) / 1e6
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = []
        for i, pdf in enumerate(sources):
            paths.append(root / f"s{i}.pdf")
            paths[-1].write_bytes(pdf)
        server = ServerProcess(data_dir=root / "data", env_extra={"PRESSROOM_API__MAX_BODY_BYTES": str(200 << 20)})
        server.start()
        try:
            server.cli("accounts", "create", "bench", "--plan", "enterprise", check=False)
            key = server.create_key("bench")
            client = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=120)
            ids = []
            for i, pdf in enumerate(sources):
                response = client.post(
                    "/v1/documents/split",
                    data={"source": '{"type": "file", "index": 0}', "pages": "1-5"},
                    files={"file_0": (f"s{i}.pdf", pdf, "application/pdf")},
                )
                assert response.status_code == 201, response.text
                ids.append(response.json()["id"])
            assert server.process is not None
            before = rss_mb(server.process.pid)
            raw, http_stored, http_upload = [], [], []
            startup = 0.0
            for _ in range(2):  # interleaved so that background noise hits every side
                timings, startup = qpdf_side(paths, root / "out.pdf", args.samples // 2)
                raw += timings
                http_stored += service_stored(client, ids, args.samples // 2)
                http_upload += service_uploads(client, sources, args.samples // 4)
            after = rss_mb(server.process.pid)
            print(f"W4 - merge 20 PDFs x 5 pages ({total_mb:.1f} MB in) + AES-256 encrypt")
            print(f"qpdf process start (subtracted): {startup:.1f} ms")
            print(summary("(a) qpdf --empty --pages ... --encrypt", raw))
            print(summary("(b) POST merge, stored documents", http_stored))
            print(summary("(c) POST merge, 20 multipart uploads", http_upload))
            ratio_b = percentile(http_stored, 50) / percentile(raw, 50)
            ratio_c = percentile(http_upload, 50) / percentile(raw, 50)
            print(f"ratio b/a p50 {ratio_b:.2f}   ratio c/a p50 {ratio_c:.2f}   (target <= 1.2)")
            print(
                f"server RSS {before:.0f} -> {after:.0f} MB; server tree {tree_rss_mb(server.process.pid):.0f} MB;"
                f" sandbox worker peak {sandbox_peak_mb(server.process.pid):.0f} MB for {total_mb:.1f} MB of input"
            )
            print(json.dumps({"w4_ratio_stored": round(ratio_b, 3), "w4_ratio_uploads": round(ratio_c, 3)}))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
