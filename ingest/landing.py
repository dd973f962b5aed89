"""The landing folder: which files are there, what each claims to be, and archiving.

Layout (docs/design.md):  <landing>/<municipality_code>/<source>/<entity>/<file>
                          <landing>/<municipality_code>/reference/<file>
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

DATA_SUFFIXES = {".csv", ".txt", ".xlsx", ".xlsm"}

# YYYY-MM, YYYY_MM, YYYYMM (followed by a non-digit), or MM-YYYY / MM_YYYY
_PERIOD_PATTERNS = [
    re.compile(r"(?<!\d)(20\d{2})[-_. ](0[1-9]|1[0-2])(?!\d)"),
    re.compile(r"(?<!\d)(0[1-9]|1[0-2])[-_. ](20\d{2})(?!\d)"),
    re.compile(r"(?<!\d)(20\d{2})(0[1-9]|1[0-2])(?!\d)"),
]


@dataclass(frozen=True)
class LandingFile:
    path: Path
    relative: str  # path relative to the landing root, with '/'
    municipality_code: str
    source: str
    entity: str
    period_from_name: str | None  # "YYYY-MM"
    size_bytes: int

    @property
    def name(self) -> str:
        return self.path.name


def period_from_name(name: str) -> str | None:
    """The reporting month a file name carries, as 'YYYY-MM', or None."""
    stem = Path(name).stem
    for i, pat in enumerate(_PERIOD_PATTERNS):
        m = pat.search(stem)
        if m:
            year, month = (m.group(1), m.group(2)) if i != 1 else (m.group(2), m.group(1))
            return f"{year}-{month}"
    return None


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def scan(root: Path) -> list[LandingFile]:
    """Every data file under `root` in the landing layout, in a stable order.

    A file outside the <municipality>/<source>/<entity>/ layout is still returned (with empty
    source/entity) so that it can be refused with a reason rather than ignored.
    """
    out: list[LandingFile] = []
    root = Path(root)
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            p = Path(dirpath) / f
            if f.startswith(".") or p.suffix.lower() not in DATA_SUFFIXES:
                continue
            rel = p.relative_to(root).parts
            if len(rel) >= 2 and rel[1] == "reference":
                continue
            muni, source, entity = (
                (list(rel[:3]) + ["", "", ""])[:3] if len(rel) == 4 else ("", "", "")
            )
            out.append(
                LandingFile(
                    path=p,
                    relative="/".join(rel),
                    municipality_code=muni,
                    source=source,
                    entity=entity,
                    period_from_name=period_from_name(f),
                    size_bytes=p.stat().st_size,
                )
            )
    # periods in order; within a period, originals before their corrected re-sends
    out.sort(
        key=lambda lf: (
            lf.municipality_code,
            lf.source,
            lf.entity,
            lf.period_from_name or "",
            correction_rank(lf.name),
            lf.path.stat().st_mtime_ns,
            lf.relative,
        )
    )
    return out


_CORRECTION = re.compile(r"(διορθ|διορθωμ|corrected|correction|revised|rev|_v)(\d*)", re.IGNORECASE)


def correction_rank(name: str) -> int:
    """0 for an original; higher for a file whose name marks it as a correction (v2 > v1)."""
    m = _CORRECTION.search(Path(name).stem)
    if not m:
        return 0
    return 1 + (int(m.group(2)) if m.group(2) else 1)


def reference_folders(root: Path) -> dict[str, Path]:
    """municipality_code -> its reference folder, for every municipality that has one."""
    root = Path(root)
    return {p.parent.name: p for p in sorted(root.glob("*/reference")) if p.is_dir()}


def archive(path: Path, sha256: str, archive_dir: Path) -> Path:
    """Keep the file as received, named by its hash (idempotent, atomic, owner-only)."""
    archive_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    dest = archive_dir / sha256[:2] / f"{sha256}{path.suffix.lower()}"
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = dest.with_suffix(dest.suffix + ".part")
    shutil.copyfile(path, tmp)
    os.chmod(tmp, 0o600)
    os.replace(tmp, dest)
    return dest
