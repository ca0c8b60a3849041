"""Run every benchmark in turn (`make bench`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = [
    "w1_generate.py",
    "render_engines.py",
    "w1_engines.py",
    "w2_report.py",
    "soak.py",
    "handlebars_bench.py",
    "w4_merge_encrypt.py",
    "w5_batch.py",
    "credits_admission.py",
]

if __name__ == "__main__":
    failed = 0
    for script in SCRIPTS:
        path = HERE / script
        if not path.exists():
            continue
        print(f"\n=== {script} ===", flush=True)
        failed |= subprocess.call([sys.executable, str(path)], cwd=HERE)
    sys.exit(failed)
