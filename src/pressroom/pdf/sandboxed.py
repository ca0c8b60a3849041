"""The server's PDF engine: every plan, preview and PKCS#12 archive is handled in a sandbox process
(:class:`safeopen.Sandbox`: warm, memory-limited, with a deadline); this process never parses tenant PDFs."""

from __future__ import annotations

from typing import Any

from pressroom.pdf import aes256, pipeline
from pressroom.pdf.safeopen import Sandbox
from pressroom.pdf.sign import describe_certificate


class SandboxedPdfEngine:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    @classmethod
    def create(cls, *, workers: int, memory_limit_mb: int, timeout_s: float) -> SandboxedPdfEngine:
        return cls(Sandbox(workers=workers, memory_limit_mb=memory_limit_mb, timeout_s=timeout_s))

    def start(self) -> None:
        self.sandbox.start()  # warm sandbox processes: the first PDF operation pays no process start

    def close(self) -> None:
        self.sandbox.close()

    def process(self, plan: pipeline.Plan) -> pipeline.Result:
        pipeline.check_compatible(plan)  # cheap, and answers before any source is sent to the sandbox
        spec = plan.encrypt
        if spec is None or plan.sign is not None or not pipeline.openssl_aes256(plan):
            return self.sandbox.run(pipeline.run, plan)
        # AES-256's password hashing (~5 ms of CPU) does not depend on the document: it runs here, on the
        # other core, while the sandbox merges and encrypts; the dictionary then completes the file's trailer.
        # The key never leaves this process and the sandbox, like the passwords it is derived with.
        key = spec.file_key = aes256.new_file_key()
        spec.caller_adds_dictionary = True
        result, dictionary = self.sandbox.run_alongside(
            pipeline.run,
            (plan,),
            lambda: aes256.encrypt_dictionary(key, spec.user_password, spec.owner_password, spec.permissions),
        )
        result.data = aes256.add_to_trailer(result.data, dictionary)
        result.report["bytes_out"] = len(result.data)
        return result

    def preview_page(self, data: bytes, page: int, dpi: int, password: str | None, max_decoded_bytes: int) -> bytes:
        png, _width, _height = self.sandbox.run(pipeline.render_preview, data, page, dpi, password, max_decoded_bytes)
        return png

    def describe_certificate(self, pkcs12: bytes, password: bytes | None, *, timeout_s: float) -> dict[str, Any]:
        return self.sandbox.run(describe_certificate, pkcs12, password, timeout_s=timeout_s)
