"""Data-quality checks on the ingest assets, shown in the Dagster UI with each partition.

For each entity and month, from the load log's current loads (loaded, not replaced):
- `rejected_rows_share`: rows_rejected / rows_read at most REJECTED_SHARE_MAX;
- `unassigned_addresses_share` (entities with an address): rows_unassigned / rows_loaded at
  most UNASSIGNED_SHARE_MAX.
The share over all months is in the metadata too. A failed check is a warning (severity WARN):
the good rows are loaded and the rejected ones are in the reject table with their reasons;
someone should look at the municipality's export, nothing downstream is stopped.

The checks are evaluated by the ingest step itself, right after it commits the month, from the
same connection (a partitioned asset's own check specs: one result per materialised partition).
"""

import dagster as dg
import duckdb

from ingest.pipeline import ADDRESS
from orchestration.partitions import asset_key, contracts

REJECTED_SHARE_MAX = 0.05
UNASSIGNED_SHARE_MAX = 0.05
REJECTED = "rejected_rows_share"
UNASSIGNED = "unassigned_addresses_share"

_TOTALS_SQL = """
select
    coalesce(sum(case when period = ? then rows_read end), 0),
    coalesce(sum(case when period = ? then rows_rejected end), 0),
    coalesce(sum(case when period = ? then rows_loaded end), 0),
    coalesce(sum(case when period = ? then rows_unassigned end), 0),
    coalesce(sum(rows_read), 0),
    coalesce(sum(rows_rejected), 0),
    coalesce(sum(rows_loaded), 0),
    coalesce(sum(rows_unassigned), 0)
from raw.load_log
where source = ? and entity = ? and status = 'loaded' and superseded_by is null
"""


def has_address(source: str, entity: str) -> bool:
    return any(c.name in ADDRESS for c in contracts()[f"{source}.{entity}"].columns)


def check_specs(source: str, entity: str) -> list[dg.AssetCheckSpec]:
    """The checks of one ingest asset."""
    key = asset_key(source, entity)
    specs = [
        dg.AssetCheckSpec(
            REJECTED,
            asset=key,
            description=(
                f"Rows rejected by ingest are at most {REJECTED_SHARE_MAX:.0%} of the rows read "
                "(current loads of the month; a warning)."
            ),
        )
    ]
    if has_address(source, entity):
        specs.append(
            dg.AssetCheckSpec(
                UNASSIGNED,
                asset=key,
                description=(
                    "Loaded rows whose address could not be placed in a neighbourhood are at "
                    f"most {UNASSIGNED_SHARE_MAX:.0%} (current loads of the month; a warning)."
                ),
            )
        )
    return specs


def load_totals(
    con: duckdb.DuckDBPyConnection, source: str, entity: str, month: str
) -> dict[str, int]:
    """Row counts of an entity's current loads, for one month ('YYYY-MM') and all months."""
    row = con.execute(_TOTALS_SQL, [f"{month}-01"] * 4 + [source, entity]).fetchone()
    values = row if row else (0,) * 8
    names = ("read", "rejected", "loaded", "unassigned")
    out = {f"rows_{n}": int(v) for n, v in zip(names, values[:4], strict=True)}
    out |= {f"all_months_rows_{n}": int(v) for n, v in zip(names, values[4:], strict=True)}
    return out


def share_result(
    key: dg.AssetKey,
    check_name: str,
    part: int,
    whole: int,
    threshold: float,
    all_part: int,
    all_whole: int,
) -> dg.AssetCheckResult:
    """passed when part / whole <= threshold (also when there is nothing to count)."""
    share = part / whole if whole else 0.0
    overall = all_part / all_whole if all_whole else 0.0
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=check_name,
        passed=bool(share <= threshold),
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            f"{part} of {whole} rows ({share:.1%}; at most {threshold:.0%}) this month, "
            f"{overall:.1%} over all months"
        ),
        metadata={
            "share": dg.MetadataValue.float(round(share, 6)),
            "threshold": dg.MetadataValue.float(threshold),
            "rows": dg.MetadataValue.int(part),
            "of_rows": dg.MetadataValue.int(whole),
            "share_all_months": dg.MetadataValue.float(round(overall, 6)),
        },
    )


def check_results(
    con: duckdb.DuckDBPyConnection,
    source: str,
    entity: str,
    month: str,
    selected: set[dg.AssetCheckKey] | None = None,
) -> list[dg.AssetCheckResult]:
    """The results of an ingest asset's checks for one month (only the `selected` ones)."""
    key = asset_key(source, entity)
    t = load_totals(con, source, entity, month)
    results = []
    for spec in check_specs(source, entity):
        if selected is not None and spec.key not in selected:
            continue
        if spec.name == REJECTED:
            results.append(
                share_result(
                    key,
                    REJECTED,
                    t["rows_rejected"],
                    t["rows_read"],
                    REJECTED_SHARE_MAX,
                    t["all_months_rows_rejected"],
                    t["all_months_rows_read"],
                )
            )
        else:
            results.append(
                share_result(
                    key,
                    UNASSIGNED,
                    t["rows_unassigned"],
                    t["rows_loaded"],
                    UNASSIGNED_SHARE_MAX,
                    t["all_months_rows_unassigned"],
                    t["all_months_rows_loaded"],
                )
            )
    return results
