"""The municipality reference tables (raw.ref_neighbourhoods, raw.ref_gazetteer,
raw.ref_population, raw.ref_households): what each municipality supplies once, in
landing/<municipality>/reference/.

Materialising replaces each municipality's rows with its current reference files. The ingest
assets also reload the reference of the municipalities whose files they ingest, so geocoding
always uses the current gazetteer; this asset keeps the tables current when only the reference
files change (the landing sensor requests it then).
"""

import hashlib
from pathlib import Path

import dagster as dg

from ingest.landing import reference_folders, sha256_of
from ingest.pipeline import IngestContext, load_reference
from orchestration.partitions import WAREHOUSE_POOL, contracts
from orchestration.resources import WarehouseResource, raw_table

REFERENCE_TABLES: dict[str, tuple[str, str]] = {
    # raw table -> (what load_reference counts it as, description)
    "ref_neighbourhoods": (
        "neighbourhoods",
        "Neighbourhoods of each municipality: names, parent community and municipal unit, "
        "population estimates and polygons (reference/neighbourhoods.csv and .geojson).",
    ),
    "ref_gazetteer": (
        "gazetteer",
        "Street segments of each municipality with the neighbourhood each lies in: what "
        "addresses are geocoded against (reference/gazetteer.csv).",
    ),
    "ref_population": (
        "population",
        "Residents by neighbourhood, sex and 5-year age band (reference/population.csv).",
    ),
    "ref_households": (
        "households",
        "Households per neighbourhood, the denominator of per-household rates "
        "(reference/households.csv).",
    ),
}


def reference_digest(landing: Path) -> str | None:
    """One SHA-256 over every reference file in the landing folder (None when there is none):
    it changes when any municipality sends a new reference file."""
    files = sorted(p for folder in reference_folders(landing).values() for p in folder.iterdir())
    files = [p for p in files if p.is_file() and not p.name.startswith(".")]
    if not files:
        return None
    h = hashlib.sha256()
    for p in files:
        h.update(f"{p.relative_to(landing).as_posix()}\0{sha256_of(p)}\n".encode())
    return h.hexdigest()


@dg.multi_asset(
    name="municipality_reference",
    specs=[
        dg.AssetSpec(["raw", table], group_name="ingest", description=text, kinds={"duckdb"})
        for table, (_, text) in REFERENCE_TABLES.items()
    ],
    pool=WAREHOUSE_POOL,
)
def municipality_reference(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Load every municipality's reference files into the raw reference tables."""
    paths = warehouse.paths()
    folders = reference_folders(paths.landing)
    if not folders:
        context.log.warning(f"no <municipality>/reference/ folder under {paths.landing}")
    digest = reference_digest(paths.landing)
    counts: dict[str, dict[str, int]] = {}
    with warehouse.open_warehouse() as wh:
        ctx = IngestContext(
            warehouse=wh,
            pseudonymiser=warehouse.pseudonymiser(),
            archive_dir=paths.archive,
            run_id=context.run.run_id,
            contracts=dict(contracts()),
        )
        for municipality, folder in folders.items():
            counts[municipality] = load_reference(ctx, municipality, folder)
            context.log.info(f"reference of {municipality}: {counts[municipality]}")
        totals = {
            table: wh.con.execute(f"select count(*) from {raw_table(table)}").fetchone()[0]
            if wh.table_exists(table)
            else 0
            for table in REFERENCE_TABLES
        }
    for table, (label, _) in REFERENCE_TABLES.items():
        per_municipality = {m: c.get(label, 0) for m, c in counts.items()}
        yield dg.MaterializeResult(
            asset_key=dg.AssetKey(["raw", table]),
            metadata={
                "dagster/row_count": dg.MetadataValue.int(int(totals[table])),
                "rows_by_municipality": dg.MetadataValue.json(per_municipality),
                "reference_sha256": dg.MetadataValue.text(digest or ""),
            },
        )
