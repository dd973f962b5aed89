"""load_reference: a municipality's households.csv lands in raw.ref_households, typed, replaced
per municipality, and is optional."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ingest.pipeline import IngestContext, load_reference
from ingest.pseudonymise import Pseudonymiser
from ingest.warehouse import Warehouse

KEY = bytes(range(32))

NB_HEADER = (
    "neighbourhood_id,neighbourhood_name_el,neighbourhood_name_en,community_code,"
    "community_name_el,municipal_unit_code,municipal_unit_name_el,municipality_code,"
    "is_illustrative,population_2011,population_2021,population_2011_source,"
    "population_2021_source,centroid_lon,centroid_lat"
)
GAZ_HEADER = (
    "street_id,street_name,street_type,number_from,number_to,postcode,settlement_name,"
    "neighbourhood_id"
)


def _reference(folder: Path, code: str, households: dict[str, int] | None) -> Path:
    """A minimal reference folder: two neighbourhoods, one street each, and households.csv
    with the given counts (none when `households` is None)."""
    folder.mkdir(parents=True)
    ids = [f"{code}0101-01", f"{code}0101-02"]
    nb_rows = [
        f"{nb},Γειτονιά {i},Area {i},{code}0101,Κοινότητα,{code}01,Ενότητα,{code},true,"
        f"100,110,census,estimate,25.1,35.3"
        for i, nb in enumerate(ids, start=1)
    ]
    (folder / "neighbourhoods.csv").write_text(
        "\n".join([NB_HEADER, *nb_rows]) + "\n", encoding="utf-8"
    )
    gaz_rows = [
        f"{i},Οδός {i},Οδός,1,99,7120{i},Περιοχή {i},{nb}" for i, nb in enumerate(ids, start=1)
    ]
    (folder / "gazetteer.csv").write_text(
        "\n".join([GAZ_HEADER, *gaz_rows]) + "\n", encoding="utf-8"
    )
    if households is not None:
        rows = [f"{nb},{n}" for nb, n in households.items()]
        (folder / "households.csv").write_text(
            "\n".join(["neighbourhood_id,households", *rows]) + "\n", encoding="utf-8"
        )
    return folder


def _households(wh: Warehouse) -> list[tuple]:
    return wh.con.execute(
        "select municipality_code, neighbourhood_id, households from raw.ref_households "
        "order by municipality_code, neighbourhood_id"
    ).fetchall()


def test_households_load_into_ref_households(tmp_path: Path) -> None:
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        ctx = IngestContext(
            warehouse=wh, pseudonymiser=Pseudonymiser(KEY), archive_dir=tmp_path / "archive"
        )
        a = _reference(tmp_path / "a", "7101", {"71010101-01": 120, "71010101-02": 0})
        counts = load_reference(ctx, "7101", a)
        assert counts["households"] == 2
        assert "population" not in counts  # no population.csv in this folder
        assert _households(wh) == [("7101", "71010101-01", 120), ("7101", "71010101-02", 0)]
        types = dict(
            wh.con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = 'raw' and table_name = 'ref_households'"
            ).fetchall()
        )
        assert types == {
            "municipality_code": "VARCHAR",
            "neighbourhood_id": "VARCHAR",
            "households": "BIGINT",
        }

        # a second municipality adds its rows; a new file of the first replaces only its own
        b = _reference(tmp_path / "b", "9001", {"90010101-01": 7, "90010101-02": 9})
        load_reference(ctx, "9001", b)
        a2 = _reference(tmp_path / "a2", "7101", {"71010101-01": 121, "71010101-02": 3})
        load_reference(ctx, "7101", a2)
        assert _households(wh) == [
            ("7101", "71010101-01", 121),
            ("7101", "71010101-02", 3),
            ("9001", "90010101-01", 7),
            ("9001", "90010101-02", 9),
        ]
        sums = (
            pl.DataFrame(_households(wh), schema=["m", "nb", "n"], orient="row")
            .group_by("m")
            .agg(pl.col("n").sum())
        )
        assert dict(sums.iter_rows()) == {"7101": 124, "9001": 16}


def test_households_file_is_optional(tmp_path: Path) -> None:
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        ctx = IngestContext(
            warehouse=wh, pseudonymiser=Pseudonymiser(KEY), archive_dir=tmp_path / "archive"
        )
        counts = load_reference(ctx, "7101", _reference(tmp_path / "a", "7101", None))
        assert counts == {"neighbourhoods": 2, "gazetteer": 2}
        assert not wh.table_exists("ref_households")
        assert wh.table_exists("ref_neighbourhoods")
        assert "7101" in ctx.geocoders
