"""The landing sensor: new files in $GEITONIA_HOME/landing -> ingest runs.

A file is new when its content (SHA-256) is not in raw.load_log for its landing path or its
month's slot (ingest's own rule for skipping a file) and no run has been requested for it yet
(the cursor). The new files are grouped by month: one run per month for the ingest assets of
the entities concerned. A change to any municipality's reference files requests a reference
run. The cursor keeps only the requests not yet seen in the load log, so it stays small.
"""

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

import dagster as dg

from ingest.landing import LandingFile, scan, sha256_of
from orchestration.assets.reference import reference_digest
from orchestration.jobs import ingest_job, reference_job
from orchestration.partitions import MONTHLY, asset_key, file_month, is_ingest_file
from orchestration.resources import WarehouseBusy, WarehouseResource

_LOAD_LOG_SQL = """
select sha256, landing_path, status, municipality_code, source, entity,
       strftime(period, '%Y-%m')
from raw.load_log
"""


@dataclass
class LandingCursor:
    """What earlier ticks requested: '<sha256>:<landing path>' of files whose runs are not in
    the load log yet, and the digest of the reference files last requested."""

    pending: set[str] = field(default_factory=set)
    reference: str | None = None

    @classmethod
    def parse(cls, text: str | None) -> "LandingCursor":
        if not text:
            return cls()
        data = json.loads(text)
        return cls(pending=set(data.get("pending", [])), reference=data.get("reference"))

    def dump(self) -> str:
        return json.dumps({"pending": sorted(self.pending), "reference": self.reference})


@dataclass(frozen=True)
class NewFile:
    file: LandingFile
    sha256: str
    month: str

    @property
    def token(self) -> str:
        return f"{self.sha256}:{self.file.relative}"


def known_files(rows: Iterable[tuple]) -> set[tuple[str, str]]:
    """(sha256, landing path) of every file in the load log, and (sha256, slot) of every loaded
    one, slot = municipality/source/entity/YYYY-MM (as ingest.warehouse.Warehouse.processed)."""
    known: set[tuple[str, str]] = set()
    for sha, path, status, muni, source, entity, period in rows:
        known.add((sha, path))
        if status == "loaded":
            known.add((sha, f"{muni}/{source}/{entity}/{period}"))
    return known


def is_known(lf: LandingFile, sha: str, known: set[tuple[str, str]]) -> bool:
    slot = f"{lf.municipality_code}/{lf.source}/{lf.entity}/{lf.period_from_name}"
    return (sha, lf.relative) in known or (sha, slot) in known


def run_requests(new: list[NewFile]) -> list[dg.RunRequest]:
    """One run per month, for the ingest assets with new files in that month. The run key
    names the files, so the same files never launch two runs."""
    by_month: dict[str, list[NewFile]] = {}
    for nf in new:
        by_month.setdefault(nf.month, []).append(nf)
    requests = []
    for month in sorted(by_month):
        files = by_month[month]
        keys = sorted(
            {asset_key(nf.file.source, nf.file.entity) for nf in files},
            key=lambda k: k.to_user_string(),
        )
        digest = hashlib.sha256("\n".join(sorted(nf.token for nf in files)).encode()).hexdigest()
        requests.append(
            dg.RunRequest(
                run_key=f"ingest-{month}-{digest[:16]}",
                job_name=ingest_job.name,
                partition_key=month,
                asset_selection=keys,
                tags={"geitonia/trigger": "landing_sensor", "geitonia/files": str(len(files))},
            )
        )
    return requests


@dg.sensor(
    name="landing_sensor",
    jobs=[ingest_job, reference_job],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "New files in $GEITONIA_HOME/landing (by content, not yet in raw.load_log) -> one "
        "ingest run per month for the entities concerned; changed reference files -> a "
        "reference run."
    ),
)
def landing_sensor(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource
) -> dg.SensorResult | dg.SkipReason:
    landing = warehouse.paths().landing
    cursor = LandingCursor.parse(context.cursor)
    try:
        known = known_files(warehouse.query(_LOAD_LOG_SQL, timeout=0))
    except WarehouseBusy:
        return dg.SkipReason("the warehouse is being written to; looking again at the next tick")

    partitions = set(MONTHLY.get_partition_keys())
    awaited: set[str] = set()  # requested earlier, still in landing, not in the load log yet
    new: list[NewFile] = []
    for lf in scan(landing) if landing.is_dir() else []:
        if not is_ingest_file(lf):
            context.log.warning(f"{lf.relative}: not in the folder of any ingest asset, ignored")
            continue
        sha = sha256_of(lf.path)
        token = f"{sha}:{lf.relative}"
        if is_known(lf, sha, known):
            continue
        if token in cursor.pending:
            awaited.add(token)
            continue
        month = file_month(lf)
        if month not in partitions:
            context.log.warning(f"{lf.relative}: month {month} is outside the partitions, ignored")
            continue
        new.append(NewFile(lf, sha, month))

    requests = run_requests(new)
    still_pending = awaited | {nf.token for nf in new}

    reference = reference_digest(landing) if landing.is_dir() else None
    if reference is not None and reference != cursor.reference:
        requests.append(
            dg.RunRequest(
                run_key=f"reference-{reference[:16]}",
                job_name=reference_job.name,
                tags={"geitonia/trigger": "landing_sensor"},
            )
        )
    next_cursor = LandingCursor(pending=still_pending, reference=reference or cursor.reference)
    if not requests:
        return dg.SensorResult(skip_reason="no new files in landing", cursor=next_cursor.dump())
    context.log.info(f"{len(new)} new file(s): {len(requests)} run(s) requested")
    return dg.SensorResult(run_requests=requests, cursor=next_cursor.dump())
