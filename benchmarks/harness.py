"""Measure a command: wall time and peak memory (RSS summed over its process tree).

Benchmarks report figures; they never pass or fail on time.
"""

from __future__ import annotations

import contextlib
import json
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

OUT_DIR = Path(__file__).resolve().parent / "out"


@dataclass
class Measurement:
    name: str
    seconds: list[float] = field(default_factory=list)
    peak_rss_mb: list[float] = field(default_factory=list)

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds)

    @property
    def spread_s(self) -> float:
        return max(self.seconds) - min(self.seconds) if self.seconds else 0.0

    @property
    def peak_mb(self) -> float:
        return max(self.peak_rss_mb)

    def row(self) -> dict[str, float | str | int]:
        return {
            "workload": self.name,
            "runs": len(self.seconds),
            "median_s": round(self.median_s, 2),
            "min_s": round(min(self.seconds), 2),
            "max_s": round(max(self.seconds), 2),
            "peak_rss_mb": round(self.peak_mb, 1),
        }


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += p.memory_info().rss
    return total


def run_measured(
    cmd: list[str], *, env: dict[str, str] | None = None, interval: float = 0.05
) -> tuple[float, float]:
    """Run `cmd`, sampling the RSS of its process tree; return (seconds, peak MB)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss(ps))
        time.sleep(interval)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-4000:]}")
    return seconds, peak / 2**20


def measure(
    name: str, cmd: list[str], repeats: int, env: dict[str, str] | None = None
) -> Measurement:
    m = Measurement(name)
    for _ in range(repeats):
        s, mb = run_measured(cmd, env=env)
        m.seconds.append(s)
        m.peak_rss_mb.append(mb)
        print(f"  {name}: {s:.2f} s, peak {mb:.0f} MB", file=sys.stderr)
    return m


def write_report(stem: str, rows: list[dict], extra: dict | None = None) -> Path:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    payload = {"rows": rows, **(extra or {})}
    (OUT_DIR / f"{stem}.json").write_text(
        json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows]
    md = OUT_DIR / f"{stem}.md"
    md.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return md


__all__ = ["Measurement", "measure", "run_measured", "write_report", "asdict"]
