"""Shared benchmark plumbing: timing statistics, a server process, RSS readings."""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # so `tests.support` (server process helpers) is importable

from tests.support import ServerProcess, free_port  # noqa: E402

__all__ = ["ROOT", "ServerProcess", "free_port", "percentile", "rss_mb", "summary", "tree_rss_mb"]


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(name: str, samples_ms: list[float]) -> str:
    return (
        f"{name:<44} n={len(samples_ms):<4} p50={percentile(samples_ms, 50):7.1f} ms  "
        f"p95={percentile(samples_ms, 95):7.1f} ms  mean={statistics.fmean(samples_ms):7.1f} ms"
    )


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def tree_rss_mb(pid: int) -> float:
    """RSS of a process and all its descendants (the browser's processes included)."""
    total, stack = 0.0, [pid]
    while stack:
        current = stack.pop()
        try:
            total += rss_mb(current)
        except OSError:
            continue
        stack.extend(_children(current))
    return total
