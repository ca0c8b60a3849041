"""`pressroom` with a poison input: rendering HTML that contains POISON kills the process, every time.

Run as ``python -m tests.integration.scaleout.crashy worker ...``: the same CLI and worker, with the
transform operation wrapped so that a poison job crashes its worker process like a native crash would
(no exception, no cleanup, no acknowledgement).
"""

from __future__ import annotations

import os
from typing import Any

from pressroom import cli
from pressroom.generation.generator import DocumentGenerator
from pressroom.jobs.operations import JobContext, Output

_transform = DocumentGenerator.transform


def _poisonable(self: DocumentGenerator, ctx: JobContext, request: dict[str, Any]) -> Output:
    if "POISON" in request.get("html", ""):
        os._exit(139)  # what a segfault in a native library looks like from outside
    return _transform(self, ctx, request)


DocumentGenerator.transform = _poisonable  # type: ignore[method-assign]

if __name__ == "__main__":
    cli.main()
