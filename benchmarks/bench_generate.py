"""Benchmark: `geitonia generate` at the municipal scale (target: under 60 s, under 2 GB).

python benchmarks/bench_generate.py [--repeats N] [--scale municipal]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import measure, write_report  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--scale", default="municipal")
    args = ap.parse_args()
    geitonia = str(Path(sys.executable).parent / "geitonia")
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [geitonia, "generate", "--scale", args.scale, "--out", str(Path(tmp) / "gen")]
        m = measure(f"generate {args.scale}", cmd, args.repeats, env=dict(os.environ))
    write_report(
        f"generate_{args.scale}", [m.row()], {"targets": {"seconds": 60, "peak_rss_mb": 2048}}
    )


if __name__ == "__main__":
    main()
