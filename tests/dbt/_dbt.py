"""Run dbt against a temporary GEITONIA_HOME (target and logs kept under it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"
DBT = Path(sys.executable).with_name("dbt")


def run_dbt(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GEITONIA_HOME": str(home), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    cmd = [str(DBT), *args, "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT)]
    cmd += ["--target-path", str(home / "target"), "--log-path", str(home / "logs")]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
