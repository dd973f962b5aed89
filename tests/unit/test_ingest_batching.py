"""Ingest's speed-ups leave results unchanged: stacked parsing, batched processing, the
warehouse's schema cache, and the skip rule under batching."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import luhn

from ingest.contracts import load_contract, load_contracts
from ingest.landing import LandingFile, sha256_of
from ingest.pipeline import IngestContext, ingest_files, process_file, process_files
from ingest.pseudonymise import Pseudonymiser
from ingest.readers import parse_column, parse_columns, parse_decimals
from ingest.warehouse import Warehouse, connect

TODAY = date(2024, 6, 15)
KEY = bytes(range(32))

# messy cells of every kind: valid and invalid dates, numbers, codes, lists, blanks
CELLS = [
    "",
    " ",
    None,
    "12/03/2020",
    "2020-01-05",
    "31/02/2020",
    "1/1/25",
    "43831",
    "10:30",
    "25:00",
    "1.234",
    "1,5",
    "1.234,56",
    "€ 12,00",
    "3,0",
    "-1",
    "x",
    "Ναι",
    "ΟΧΙ",
    "Άνδρας",
    "Γυναίκα",
    "Ρομά; Μετανάστες",
    "Ρομά;;άγνωστο",
    "01019912345",
]


def test_parse_columns_equals_parse_column_for_every_contract() -> None:
    # every column of every contract, parsed side by side, as it parses alone
    n = len(CELLS)
    for contract in load_contracts().values():
        raw = pl.DataFrame(
            {
                "source_row": pl.Series(range(2, n + 2), dtype=pl.Int64),
                **{
                    c.name: pl.Series([CELLS[(i + k) % n] for i in range(n)], dtype=pl.String)
                    for k, c in enumerate(contract.columns)
                },
            }
        )
        values, errors = parse_columns(raw, contract, today=TODAY)
        assert values.columns == ["source_row", *contract.column_names]
        assert errors.columns == ["source_row", *contract.column_names]
        for c in contract.columns:
            p = parse_column(raw[c.name], c, today=TODAY)
            assert values[c.name].equals(p.values.alias(c.name)), (contract.id, c.name)
            assert errors[c.name].equals(p.errors.alias(c.name)), (contract.id, c.name)


def test_stacked_files_take_the_decimal_mark_of_their_own_file() -> None:
    # "1.234" is ambiguous: file 0's other values use the point, file 1's the comma
    s = pl.Series("amount", ["1.234", "1.5", "2.25", "1.234", "1,5", "2,25"])
    group = pl.Series("_file", [0, 0, 0, 1, 1, 1])
    contract = load_contract("social_grocery.distributions")
    col = next(c for c in contract.columns if c.type == "decimal")
    raw = pl.DataFrame(
        {
            "source_row": range(6),
            **{c.name: pl.Series([None] * 6, dtype=pl.String) for c in contract.columns},
        }
    ).with_columns(s.alias(col.name), group)
    values, _ = parse_columns(raw, contract, today=TODAY, group="_file")
    assert values[col.name].to_list() == [1.234, 1.5, 2.25, 1234.0, 1.5, 2.25]
    # the same as each file alone
    for f in (0, 1):
        alone = parse_decimals(s.filter(group == f)).values.to_list()
        assert values[col.name].filter(group == f).to_list() == alone


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.sampled_from(["1.234", "1,5", "2.5", "1.000", "7", "x", ""]), max_size=8),
    st.lists(st.sampled_from(["1.234", "1,5", "2.5", "1.000", "7", "x", ""]), max_size=8),
)
def test_stacked_decimals_parse_as_each_file_alone(a: list[str], b: list[str]) -> None:
    contract = load_contract("social_grocery.distributions")
    col = next(c for c in contract.columns if c.type == "decimal")
    n = len(a) + len(b)
    raw = pl.DataFrame(
        {
            "source_row": range(n),
            **{c.name: pl.Series([None] * n, dtype=pl.String) for c in contract.columns},
        }
    ).with_columns(
        pl.Series(col.name, a + b, dtype=pl.String), pl.Series("_file", [0] * len(a) + [1] * len(b))
    )
    values, errors = parse_columns(raw, contract, today=TODAY, group="_file")
    for part, rows in ((a, slice(0, len(a))), (b, slice(len(a), n))):
        alone = parse_column(pl.Series(part, dtype=pl.String), col, today=TODAY)
        assert values[col.name][rows].to_list() == alone.values.to_list()
        assert errors[col.name][rows].to_list() == alone.errors.to_list()


# --- batched processing ----------------------------------------------------------------------

VISITS_HEADER = "ΑΜΚΑ;Ημερομηνία Επίσκεψης;Ειδικότητα;Υπηρεσία;Διάρκεια (λεπτά);Ώρα Έναρξης"
AMKA = "0101991234" + luhn.calc_check_digit("0101991234")


def _visits(folder: Path, name: str, lines: list[str], muni: str = "9101") -> LandingFile:
    d = folder / muni / "home_help" / "visits"
    d.mkdir(parents=True, exist_ok=True)
    p = d / name
    p.write_text("\n".join([VISITS_HEADER, *lines]) + "\n", encoding="utf-8")
    from ingest.landing import period_from_name

    return LandingFile(
        path=p,
        relative=str(p.relative_to(folder)),
        municipality_code=muni,
        source="home_help",
        entity="visits",
        period_from_name=period_from_name(name),
        size_bytes=p.stat().st_size,
    )


def _comparable(df: pl.DataFrame | None) -> pl.DataFrame:
    if df is None or df.width == 0:
        return pl.DataFrame()
    return df.drop([c for c in ("_load_id", "_loaded_at") if c in df.columns])


@pytest.fixture()
def ctx(tmp_path: Path) -> IngestContext:
    con = connect(tmp_path / "wh.duckdb")
    return IngestContext(
        warehouse=Warehouse(con), pseudonymiser=Pseudonymiser(KEY), archive_dir=tmp_path / "a"
    )


def _some_files(folder: Path) -> list[LandingFile]:
    contract = load_contract("home_help.visits")
    assert {c.name for c in contract.columns} >= {"amka", "visit_on", "duration_minutes"}
    return [
        _visits(
            folder,
            "visits_2021-03.csv",
            [
                f"{AMKA};03/03/2021;Κοινωνικός Λειτουργός;Νοσηλευτική φροντίδα;45;10:30",
                "12345;31/02/2021;Νοσηλευτής;Οικιακή βοήθεια;45;10:30",
                f"{AMKA[1:]};05/03/2021;Νοσηλευτής;Συνοδεία;1.000;25:00",
                ";06/03/2021;Νοσηλευτής;Συνοδεία;20;",
            ],
        ),
        _visits(folder, "visits_2021-04.csv", []),  # a month with nothing to report
        _visits(
            folder,
            "visits_2021-05.csv",
            [f"{AMKA};07/05/2021;Νοσηλευτής;Κάτι άλλο;1,5;9.05", "x;y"],
        ),
        _visits(folder, "visits_no_month.csv", [f"{AMKA};02/06/2021;Νοσηλευτής;Συνοδεία;30;08:00"]),
    ]


def test_process_files_gives_each_file_what_it_gets_alone(
    tmp_path: Path, ctx: IngestContext
) -> None:
    files = _some_files(tmp_path / "landing")
    together = process_files([(lf, sha256_of(lf.path)) for lf in files], ctx)
    for lf, rec in zip(files, together, strict=True):
        alone = process_file(lf, ctx)
        assert rec.status == alone.status, lf.name
        assert rec.period == alone.period
        for f in (
            "rows_read",
            "rows_loaded",
            "rows_rejected",
            "rows_repaired",
            "rows_skipped",
            "rows_unassigned",
            "rows_without_valid_amka",
            "reason_code",
        ):
            assert getattr(rec, f) == getattr(alone, f), (lf.name, f)
        assert _comparable(rec.rows).equals(_comparable(alone.rows)), lf.name
        assert _comparable(rec.rejects).equals(_comparable(alone.rejects)), lf.name
        if rec.rows is not None and rec.rows.height:
            assert rec.rows["_load_id"].unique().to_list() == [rec.load_id]
    loaded = {lf.name: rec for lf, rec in zip(files, together, strict=True)}
    assert loaded["visits_2021-04.csv"].rows_read == 0
    assert loaded["visits_2021-05.csv"].rows_rejected >= 1  # the cut row


def test_a_duplicate_in_the_same_run_is_skipped_and_order_is_kept(
    tmp_path: Path, ctx: IngestContext
) -> None:
    landing = tmp_path / "landing"
    files = _some_files(landing)
    # the same content again under another name of the same month: skipped, as file by file
    dup = _visits(landing, "visits_2021-03_copy.csv", [])
    dup.path.write_bytes(files[0].path.read_bytes())
    dup = LandingFile(**{**dup.__dict__, "size_bytes": dup.path.stat().st_size})
    order = [files[0], files[1], dup, files[2], files[3]]
    seen: list[tuple[str, bool]] = []
    records, skipped = ingest_files(
        order, ctx, on_file=lambda lf, rec: seen.append((lf.name, rec is None))
    )
    assert [name for name, _ in seen] == [lf.name for lf in order]
    assert skipped == [dup]
    assert [r.file_name for r in records] == [lf.name for lf in order if lf is not dup]
    # a second run skips every file whose name gives its month (a file without one is matched
    # by its slot, which needs the month, so it is read again: as file by file)
    dated = [lf for lf in order if lf.period_from_name]
    again, skipped_again = ingest_files(dated, ctx)
    assert again == [] and skipped_again == dated


# --- the warehouse's schema cache ------------------------------------------------------------


def test_schema_cache_follows_creates_new_columns_and_rollbacks(tmp_path: Path) -> None:
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        assert not wh.table_exists("t")
        wh.con.execute("begin transaction")
        wh._append("t", pl.DataFrame({"a": [1]}))
        assert wh.table_exists("t")
        wh.con.execute("rollback")
        wh._columns = None  # what commit_file / replace_reference do on rollback
        assert not wh.table_exists("t")

        wh._append("t", pl.DataFrame({"a": [1]}))
        wh._append("t", pl.DataFrame({"a": [2], "b": ["x"]}))  # a new column is added
        wh._append("t", pl.DataFrame({"b": ["y"]}))  # a missing one is null
        rows = wh.con.execute("select a, b from raw.t order by all").fetchall()
        assert rows == [(1, None), (2, "x"), (None, "y")]
        # a fresh object reads the same schema from the database
        assert Warehouse(wh.con)._schema()["t"] == {"a", "b"}


def test_replace_reference_rollback_drops_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        run = wh._run

        def failing_insert(sql: str, params: list | None = None) -> list[tuple]:
            if sql.startswith("insert"):
                raise RuntimeError("disk full")
            return run(sql, params)

        monkeypatch.setattr(wh, "_run", failing_insert)
        with pytest.raises(RuntimeError):
            wh.replace_reference("ref_x", "9101", pl.DataFrame({"municipality_code": ["9101"]}))
        monkeypatch.setattr(wh, "_run", run)
        # the table created inside the rolled-back transaction is gone, and known to be
        assert not wh.table_exists("ref_x")
        wh.replace_reference("ref_x", "9101", pl.DataFrame({"municipality_code": ["9101"]}))
        assert wh.table_exists("ref_x")
        assert wh.con.execute("select count(*) from raw.ref_x").fetchone() == (1,)
