"""W4: merge 20 PDFs of 5 pages, then AES-256 encrypt - POST /v1/documents/merge (one call, the encryption
in options.pdf) vs `qpdf --empty --pages ... --encrypt` on the same files, in the same run.

qpdf's own process start is measured (`qpdf --version`, in every round) and subtracted, as the target excludes
it. Each round runs every side back to back (qpdf, stored, uploads), so background load hits them alike. The
service side is measured twice: sources already stored as documents (the steady state of a document
service) and sources uploaded in the same multipart request (includes shipping 20 files over HTTP).
Also prints the server's RSS and the sandbox workers' peak RSS against the input size (memory O(input)).

    .venv/bin/python bench/w4_merge_encrypt.py [--samples 30] [--image-kb 60]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
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


def timed_ms(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def qpdf_command(paths: list[Path], out: Path) -> list[str]:
    return ["qpdf", "--empty", "--pages", *map(str, paths), "--", "--encrypt", "user", "user", "256", "--", str(out)]


def stored_merge(client: httpx.Client, document_ids: list[str]) -> Callable[[], object]:
    body = {
        "sources": [{"type": "document", "id": d} for d in document_ids],
        "options": {"pdf": {"encryption": {"user_password": "user", "algorithm": "aes256"}}},
    }

    def call() -> None:
        response = client.post("/v1/documents/merge", json=body)
        assert response.status_code == 201, response.text
        assert response.json()["pages"] == 100

    return call


def upload_merge(client: httpx.Client, sources: list[bytes]) -> Callable[[], object]:
    data = {
        "sources": json.dumps([{"type": "file", "index": i} for i in range(len(sources))]),
        "options": json.dumps({"pdf": {"encryption": {"user_password": "user"}}}),
    }
    files = {f"file_{i}": (f"s{i}.pdf", pdf, "application/pdf") for i, pdf in enumerate(sources)}

    def call() -> None:
        response = client.post("/v1/documents/merge", data=data, files=files)
        assert response.status_code == 201, response.text

    return call


def measure(
    paths: list[Path],
    out: Path,
    stored: Callable[[], object],
    uploads: Callable[[], object],
    samples: int,
    server_pid: int,
) -> dict[str, list[float]]:
    """Every sample runs all sides back to back, so that the machine's background load hits each alike.

    qpdf's process start (``qpdf --version``, measured in the same round) is subtracted from its run."""
    command = qpdf_command(paths, out)
    keys = ("startup", "qpdf", "stored", "uploads", "qpdf_cpu", "stored_cpu")
    results: dict[str, list[float]] = {key: [] for key in keys}
    for index in range(samples + 3):
        cpu_0 = children_cpu_ms()
        startup = timed_ms(lambda: subprocess.run(["qpdf", "--version"], capture_output=True, check=True))
        cpu_1 = children_cpu_ms()
        raw = timed_ms(lambda: subprocess.run(command, check=True))
        cpu_2 = children_cpu_ms()
        server_cpu = service_cpu_ms(server_pid)
        b = timed_ms(stored)
        server_cpu = service_cpu_ms(server_pid) - server_cpu
        c = timed_ms(uploads)
        if index >= 3:  # warm-up rounds
            results["startup"].append(startup)
            results["qpdf"].append(raw - startup)
            results["stored"].append(b)
            results["uploads"].append(c)
            results["qpdf_cpu"].append((cpu_2 - cpu_1) - (cpu_1 - cpu_0))
            results["stored_cpu"].append(server_cpu)
    return results


def children_cpu_ms() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * 1000


def service_cpu_ms(pid: int) -> float:
    """CPU time (user + system) of the server process and of the PDF sandbox (its forkserver and workers);
    the rendering engines' processes, idle here, are left out."""
    tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
    total, stack = 0.0, [pid]
    while stack:
        current = stack.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            command = Path(f"/proc/{current}/cmdline").read_bytes()
        except OSError:
            continue
        if current == pid or b"pressroom.pdf.pipeline" in command:
            total += (int(fields[11]) + int(fields[12])) * tick_ms
        stack.extend(_children(current))
    return total


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):  # a child belongs to the thread that forked it
        try:
            found += [int(child) for child in task.read_text().split()]
        except OSError:
            continue
    return found


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
    parser.add_argument("--samples", type=int, default=40)
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
            timings = measure(
                paths,
                root / "out.pdf",
                stored_merge(client, ids),
                upload_merge(client, sources),
                args.samples,
                server.process.pid,
            )
            raw, http_stored, http_upload = timings["qpdf"], timings["stored"], timings["uploads"]
            after = rss_mb(server.process.pid)
            print(f"W4 - merge 20 PDFs x 5 pages ({total_mb:.1f} MB in) + AES-256 encrypt")
            print(f"qpdf process start (subtracted per round): p50 {percentile(timings['startup'], 50):.1f} ms")
            print(summary("(a) qpdf --empty --pages ... --encrypt", raw))
            print(summary("(b) POST merge, stored documents", http_stored))
            print(summary("(c) POST merge, 20 multipart uploads", http_upload))
            ratio_b = percentile(http_stored, 50) / percentile(raw, 50)
            ratio_c = percentile(http_upload, 50) / percentile(raw, 50)
            print(f"ratio b/a p50 {ratio_b:.2f}   ratio c/a p50 {ratio_c:.2f}   (target <= 1.2)")
            # CPU time is much less sensitive to other processes on a shared machine than wall time.
            # /proc counts CPU in clock ticks (10 ms): the service side is a mean over all its rounds.
            qpdf_cpu = statistics.fmean(timings["qpdf_cpu"])
            stored_cpu = statistics.fmean(timings["stored_cpu"])
            print(
                f"CPU per operation, mean: qpdf {qpdf_cpu:.1f} ms (start excluded), service (b) {stored_cpu:.1f} ms"
                f" (server + sandbox, HTTP client excluded); CPU ratio {stored_cpu / qpdf_cpu:.2f}"
            )
            print(
                f"server RSS {before:.0f} -> {after:.0f} MB; server tree {tree_rss_mb(server.process.pid):.0f} MB;"
                f" sandbox worker peak {sandbox_peak_mb(server.process.pid):.0f} MB for {total_mb:.1f} MB of input"
            )
            print(json.dumps({"w4_ratio_stored": round(ratio_b, 3), "w4_ratio_uploads": round(ratio_c, 3)}))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
