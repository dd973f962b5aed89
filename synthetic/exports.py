"""Write the World's events as the monthly export files a municipality sends, with their quirks.

`write_exports(world, cfg, out_dir, rng)` writes

    out_dir/exports/<municipality_code>/<source>/<entity>/<file>   one file per entity and month
    out_dir/truth/records.parquet, faults.csv, files.csv            (synthetic/truth.py)

Steps: (1) one frame per entity with every row to export, in file order, its identity columns
(names, ΑΜΚΑ, ΑΦΜ, phone, address) and values rendered as the Greek spellings of
config/headers.yaml; (2) per municipality and entity, a format drawn from config/faults.yaml, varied
per file; (3) file faults planned (truncations first, since they lose rows), row faults assigned
(synthetic/faults.py), re-sends, empty files and wrong-folder copies chosen; (4) every file
rendered (synthetic/exports_write.py) and the truth recorded. All randomness comes from `rng`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from synthetic import faults as F
from synthetic.config import GeneratorConfig
from synthetic.exports_write import (
    INSTRUCTIONS,
    MONTHS_EL,
    FileFormat,
    Layout,
    Sheet,
    csv_body,
    csv_prefix,
    encode,
    header_name,
    render_table,
    truncate_body,
    write_xlsx,
)
from synthetic.model import World
from synthetic.truth import (
    FAULTS_SCHEMA,
    FILES_SCHEMA,
    RECORDS_SCHEMA,
    ExportResult,
    write_truth,
)

# --- entities -----------------------------------------------------------------------------------
# Column types: str (text as is), addr (address part), code:<valueset>, bool:<valueset>,
# list:<valueset> (headers.yaml values), date, datetime, int, money (2 decimals), qty.
_ADDR = {"street": "addr", "street_number": "addr", "postcode": "addr", "area": "addr"}


@dataclass(frozen=True)
class EntitySpec:
    key: str
    world_table: str
    types: dict[str, str]
    groups: list[tuple[str, str, str]]  # (label, first column, last column) of the group row

    @property
    def source(self) -> str:
        return self.key.split(".")[0]

    @property
    def name(self) -> str:
        return self.key.split(".")[1]


ENTITIES: dict[str, EntitySpec] = {
    s.key: s
    for s in [
        EntitySpec(
            "community_centre.beneficiaries",
            "cc_beneficiaries",
            {
                "beneficiary_code": "str",
                "amka": "str",
                "afm": "str",
                "surname": "str",
                "first_name": "str",
                "father_name": "str",
                "sex": "code:sex",
                "birth_date": "date",
                "citizenship": "code:citizenship",
                "phone": "str",
                **_ADDR,
                "household_size": "int",
                "household_minors": "int",
                "employment_status": "code:employment_status",
                "education": "code:education",
                "vulnerable_groups": "list:vulnerable_groups",
                "kea_recipient": "bool:yes_no",
                "registered_on": "date",
                "structure": "code:cc_structure",
            },  # fmt: skip
            [
                ("Στοιχεία Ωφελούμενου", "beneficiary_code", "phone"),
                ("Διεύθυνση", "street", "area"),
                ("Νοικοκυριό", "household_size", "household_minors"),
                ("Κοινωνικά Χαρακτηριστικά", "employment_status", "kea_recipient"),
                ("Εγγραφή", "registered_on", "structure"),
            ],
        ),
        EntitySpec(
            "community_centre.services",
            "cc_services",
            {
                "beneficiary_code": "str",
                "service_on": "date",
                "service_category": "code:service_category",
                "service": "str",
                "referral_body": "code:referral_body",
                "referral_status": "code:referral_status",
                "outcome_on": "date",
            },  # fmt: skip
            [
                ("Ωφελούμενος", "beneficiary_code", "beneficiary_code"),
                ("Υπηρεσία", "service_on", "service"),
                ("Παραπομπή", "referral_body", "outcome_on"),
            ],
        ),
        EntitySpec(
            "community_centre.intake",
            "cc_intake",
            {
                "visit_on": "date",
                "visit_time": "str",
                "structure": "code:cc_structure",
                "is_new": "bool:intake_is_new",
                "reason": "code:intake_reason",
            },  # fmt: skip
            [("Προσέλευση", "visit_on", "structure"), ("Περιστατικό", "is_new", "reason")],
        ),
        EntitySpec(
            "social_grocery.households",
            "sg_households",
            {
                "registry_no": "str",
                "applicant_amka": "str",
                "applicant_name": "str",
                "phone": "str",
                **_ADDR,
                "members": "int",
                "minors": "int",
                "disabled_members": "int",
                "annual_income_eur": "money",
                "points": "int",
                "applied_on": "date",
                "decision": "code:grocery_decision",
                "decision_on": "date",
                "membership_end_on": "date",
            },  # fmt: skip
            [
                ("Στοιχεία Αιτούντος", "registry_no", "phone"),
                ("Διεύθυνση", "street", "area"),
                ("Σύνθεση Νοικοκυριού", "members", "disabled_members"),
                ("Οικονομικά Στοιχεία", "annual_income_eur", "points"),
                ("Αίτηση και Απόφαση", "applied_on", "membership_end_on"),
            ],
        ),
        EntitySpec(
            "social_grocery.distributions",
            "sg_distributions",
            {
                "registry_no": "str",
                "distributed_on": "date",
                "category": "code:grocery_category",
                "quantity": "qty",
                "unit": "code:grocery_unit",
                "value_eur": "money",
            },  # fmt: skip
            [
                ("Ωφελούμενος", "registry_no", "registry_no"),
                ("Διανομή", "distributed_on", "value_eur"),
            ],
        ),
        EntitySpec(
            "home_help.clients",
            "hh_clients",
            {
                "amka": "str",
                "surname": "str",
                "first_name": "str",
                "birth_date": "date",
                "sex": "code:sex",
                "phone": "str",
                **_ADDR,
                "lives_alone": "bool:yes_no",
                "disability_pct": "int",
                "monthly_income_eur": "money",
                "enrolled_on": "date",
                "exited_on": "date",
                "exit_reason": "code:exit_reason",
            },  # fmt: skip
            [
                ("Στοιχεία Ωφελούμενου", "amka", "phone"),
                ("Διεύθυνση", "street", "area"),
                ("Κατάσταση", "lives_alone", "monthly_income_eur"),
                ("Ένταξη", "enrolled_on", "exit_reason"),
            ],
        ),
        EntitySpec(
            "home_help.visits",
            "hh_visits",
            {
                "amka": "str",
                "visit_on": "date",
                "staff_role": "code:staff_role",
                "service_type": "code:hh_service_type",
                "duration_minutes": "int",
            },  # fmt: skip
            [("Ωφελούμενος", "amka", "amka"), ("Επίσκεψη", "visit_on", "duration_minutes")],
        ),
        EntitySpec(
            "home_help.requests",
            "hh_requests",
            {
                "request_no": "str",
                "requested_at": "datetime",
                "channel": "code:request_channel",
                "amka": "str",
                "phone": "str",
                **_ADDR,
                "need_type": "code:need_type",
                "status": "code:request_status",
                "fulfilled_on": "date",
            },  # fmt: skip
            [
                ("Αίτημα", "request_no", "channel"),
                ("Στοιχεία Αιτούντος", "amka", "area"),
                ("Εξέλιξη", "need_type", "fulfilled_on"),
            ],
        ),
    ]
}

# Greek names of the referral bodies of rates_services.yaml, used when synthetic.services does not
# provide REFERRAL_BODIES with names [assumption: the bodies' usual names].
_REFERRAL_BODY_NAMES = {
    "dypa": "ΔΥΠΑ (πρώην ΟΑΕΔ)",
    "social_grocery": "Κοινωνικό Παντοπωλείο",
    "social_pharmacy": "Κοινωνικό Φαρμακείο",
    "home_help": "Βοήθεια στο Σπίτι",
    "kep": "ΚΕΠ",
    "homeless_shelter": "Υπνωτήριο Αστέγων",
    "kedif": "ΚΔΑΠ ΜΕΑ",
    "kifi": "ΚΗΦΗ",
    "mental_health_centre": "Κέντρο Ψυχικής Υγείας",
    "pagni": "ΠΑΓΝΗ - Κοινωνική Υπηρεσία",
    "womens_shelter": "Ξενώνας Φιλοξενίας Γυναικών",
    "efka": "e-ΕΦΚΑ",
}

_META = [
    "_month", "period", "export_date", "world_table", "world_row", "person_id", "household_id",
    "true_neighbourhood_id",
]  # fmt: skip
_ADDR_HELPERS = ["street_name", "street_type", "street_number_suffix", "nbhd_name"]


def _referral_body_spellings() -> dict[str, list[str]]:
    """What clerks type for each referral body (first = usual): synthetic.services.REFERRAL_BODIES
    when it is there, else the names above."""
    out = {k: [v] for k, v in _REFERRAL_BODY_NAMES.items()}
    try:
        from synthetic import services  # (written by another part)

        bodies = getattr(services, "REFERRAL_BODIES", None)
    except Exception:  # pragma: no cover - depends on the other part's state
        bodies = None
    for b in bodies or ():
        bid, name = getattr(b, "id", None), getattr(b, "name_el", None)
        if bid is None:
            continue
        spellings = [str(x) for x in (getattr(b, "spellings", None) or ()) if x]
        out[str(bid)] = spellings or ([str(name)] if name else out.get(str(bid), [str(bid)]))
    return out


# --- building the entity frames -----------------------------------------------------------------


def _month_index(e: pl.Expr, start: date) -> pl.Expr:
    return (e.dt.year() - start.year) * 12 + e.dt.month().cast(pl.Int32) - start.month


def _addresses(world: World) -> pl.DataFrame:
    """One row per household: its address as a clerk would write it (parts) and its neighbourhood."""
    hh = world.population.households.select(
        "household_id",
        pl.col("neighbourhood_id").alias("hh_nbhd"),
        "street_id",
        "street_number",
        "street_number_suffix",
        pl.col("postcode").alias("hh_postcode"),
    )
    gaz = world.geography.gazetteer.with_row_index("_seg")
    m = hh.filter(pl.col("street_id").is_not_null()).join(gaz, on="street_id", how="inner")
    inr = (
        m.filter(pl.col("street_number").is_between(pl.col("number_from"), pl.col("number_to")))
        .sort("household_id", "_seg")
        .unique("household_id", keep="first", maintain_order=True)
    )
    rest = (
        m.filter(~pl.col("household_id").is_in(inr["household_id"].implode()))
        .sort("household_id", "_seg")
        .unique("household_id", keep="first", maintain_order=True)
    )
    seg = pl.concat([inr, rest]).select(
        "household_id",
        "street_name",
        "street_type",
        "settlement_name",
        pl.col("postcode").alias("seg_pc"),
    )
    areas = world.geography.areas.select(
        pl.col("neighbourhood_id").alias("hh_nbhd"),
        pl.col("neighbourhood_name_el").alias("nbhd_name"),
    )
    out = hh.join(seg, on="household_id", how="left").join(areas, on="hh_nbhd", how="left")
    has = pl.col("street_name").is_not_null()
    return out.select(
        "household_id",
        pl.when(has).then(pl.col("street_name")).alias("street_name"),
        pl.when(has).then(pl.col("street_type")).alias("street_type"),
        pl.when(has).then(pl.col("street_number")).alias("a_number"),
        pl.when(has)
        .then(pl.col("street_number_suffix").fill_null(""))
        .alias("street_number_suffix"),
        pl.when(has).then(pl.coalesce("hh_postcode", "seg_pc")).alias("a_postcode"),
        pl.when(has).then(pl.col("settlement_name")).alias("a_area"),
        pl.when(has).then(pl.col("nbhd_name")).alias("nbhd_name"),
        pl.when(has).then(pl.col("hh_nbhd")).alias("true_neighbourhood_id"),
    )


_ADDR_COLS = ["street_name", "street_type", "a_number", "street_number_suffix", "a_postcode", "a_area", "nbhd_name", "true_neighbourhood_id"]  # fmt: skip


@dataclass
class _Ctx:
    world: World
    start: date
    end: date
    n_months: int
    lag: int
    as_of: set[str]
    request_new_days: int
    people: pl.DataFrame  # persons + their household's address
    addresses: pl.DataFrame


def _finish(df: pl.DataFrame, ctx: _Ctx, event: str, sort: str) -> pl.DataFrame:
    """Add period/export date from the event date, keep the simulated months, sort in file order."""
    ev = pl.col(event).cast(pl.Date) if df.schema[event] != pl.Date else pl.col(event)
    if "_month" not in df.columns:
        df = df.with_columns(_month=_month_index(ev, ctx.start))
    df = df.filter(pl.col("_month").is_between(0, ctx.n_months - 1))
    return df.with_columns(_sort=pl.col(sort)).sort("_month", "_sort", "world_row", nulls_last=True)


def _with_period(df: pl.DataFrame, ctx: _Ctx) -> pl.DataFrame:
    y0, m0 = ctx.start.year, ctx.start.month
    first = pl.date(y0 + (pl.col("_month") + m0 - 1) // 12, (pl.col("_month") + m0 - 1) % 12 + 1, 1)
    return df.with_columns(
        period=first.dt.strftime("%Y-%m"),
        export_date=first.dt.month_end().dt.offset_by(f"{ctx.lag}d"),
    )


def _persons(ctx: _Ctx, table: pl.DataFrame, on: str = "person_id") -> pl.DataFrame:
    return table.join(
        ctx.people, left_on=on, right_on="person_id", how="left", maintain_order="left"
    )


def _b_beneficiaries(ctx: _Ctx) -> pl.DataFrame:
    t = ctx.world.services.cc_beneficiaries.with_row_index("world_row").with_columns(
        pl.col("world_row").cast(pl.Int64)
    )
    df = _persons(ctx, t)
    df = _finish(df, ctx, "registered_on", "registered_on")
    return _with_period(df, ctx)


def _b_services(ctx: _Ctx) -> pl.DataFrame:
    t = ctx.world.services.cc_services.with_row_index("world_row").with_columns(
        pl.col("world_row").cast(pl.Int64)
    )
    df = t.join(
        ctx.world.population.persons.select("person_id", "household_id"),
        on="person_id",
        how="left",
        maintain_order="left",
    )
    df = _with_period(_finish(df, ctx, "service_on", "service_on"), ctx)
    is_ref = pl.col("referral_body_id").is_not_null()
    final = (
        pl.col("referral_status").is_in(["completed", "rejected"])
        & pl.col("outcome_on").is_not_null()
    )
    if "community_centre.services" in ctx.as_of:
        final = final & (pl.col("outcome_on") <= pl.col("export_date"))
    return df.with_columns(
        referral_body=pl.col("referral_body_id"),
        referral_status=pl.when(is_ref).then(
            pl.when(final).then(pl.col("referral_status")).otherwise(pl.lit("in_progress"))
        ),
        outcome_on=pl.when(is_ref & final).then(pl.col("outcome_on")),
        true_neighbourhood_id=pl.lit(None, pl.String),
    )


def _b_intake(ctx: _Ctx) -> pl.DataFrame:
    t = ctx.world.services.cc_intake.with_row_index("world_row").with_columns(
        pl.col("world_row").cast(pl.Int64),
        person_id=pl.lit(None, pl.Int64),
        household_id=pl.lit(None, pl.Int64),
        true_neighbourhood_id=pl.lit(None, pl.String),
        _ts=pl.col("visit_on").dt.combine(pl.col("visit_time").str.to_time("%H:%M", strict=False)),
    )
    return _with_period(_finish(t, ctx, "visit_on", "_ts"), ctx)


def _b_sg_households(ctx: _Ctx) -> pl.DataFrame:
    t = ctx.world.services.sg_households.with_row_index("world_row").with_columns(
        pl.col("world_row").cast(pl.Int64)
    )
    p = ctx.world.population.persons.select(
        "person_id", pl.col("amka").alias("applicant_amka"), "phone",
        pl.concat_str("surname", "first_name", separator=" ").alias("applicant_name"),
    )  # fmt: skip
    df = t.join(p, on="person_id", how="left", maintain_order="left").join(
        ctx.addresses, on="household_id", how="left", maintain_order="left"
    )
    df = _with_period(_finish(df, ctx, "applied_on", "applied_on"), ctx)
    known = pl.col("decision").is_in(["approved", "rejected"]) & pl.col("decision_on").is_not_null()
    if "social_grocery.households" in ctx.as_of:
        known = known & (pl.col("decision_on") <= pl.col("export_date"))
    return df.with_columns(
        decision=pl.when(known).then(pl.col("decision")).otherwise(pl.lit("pending")),
        decision_on=pl.when(known).then(pl.col("decision_on")),
        membership_end_on=pl.when(known & (pl.col("decision") == "approved")).then(
            pl.col("membership_end_on")
        ),
    )


def _b_sg_distributions(ctx: _Ctx) -> pl.DataFrame:
    t = ctx.world.services.sg_distributions.with_row_index("world_row").with_columns(
        pl.col("world_row").cast(pl.Int64)
    )
    reg = (
        ctx.world.services.sg_households.sort("applied_on")
        .unique("registry_no", keep="first", maintain_order=True)
        .select("registry_no", "person_id")
    )
    df = t.join(reg, on="registry_no", how="left", maintain_order="left").with_columns(
        true_neighbourhood_id=pl.lit(None, pl.String)
    )
    return _with_period(_finish(df, ctx, "distributed_on", "distributed_on"), ctx)


def _b_hh_clients(ctx: _Ctx) -> pl.DataFrame:
    t = ctx.world.services.hh_clients.with_row_index("world_row").with_columns(
        pl.col("world_row").cast(pl.Int64)
    )
    first = pl.max_horizontal(_month_index(pl.col("enrolled_on"), ctx.start), pl.lit(0))
    last = pl.min_horizontal(
        _month_index(pl.col("exited_on"), ctx.start).fill_null(ctx.n_months - 1),
        pl.lit(ctx.n_months - 1),
    )
    t = (
        t.with_columns(_first=first, _last=last)
        .filter(pl.col("_first") <= pl.col("_last"))
        .with_columns(_month=pl.int_ranges(pl.col("_first"), pl.col("_last") + 1))
        .explode("_month")
        .with_columns(pl.col("_month").cast(pl.Int32))
        .drop("_first", "_last")
    )
    df = _persons(ctx, t)
    df = _with_period(_finish(df, ctx, "enrolled_on", "world_row"), ctx)
    shown = pl.col("exited_on").is_not_null()
    if "home_help.clients" in ctx.as_of:
        shown = shown & (pl.col("exited_on") <= pl.col("export_date"))
    return df.with_columns(
        exited_on=pl.when(shown).then(pl.col("exited_on")),
        exit_reason=pl.when(shown).then(pl.col("exit_reason")),
    )


def _b_hh_visits(ctx: _Ctx) -> pl.DataFrame:
    t = ctx.world.services.hh_visits.with_row_index("world_row").with_columns(
        pl.col("world_row").cast(pl.Int64)
    )
    df = t.join(
        ctx.world.population.persons.select("person_id", "household_id", "amka"),
        on="person_id",
        how="left",
        maintain_order="left",
    ).with_columns(true_neighbourhood_id=pl.lit(None, pl.String))
    return _with_period(_finish(df, ctx, "visit_on", "visit_on"), ctx)


def _b_hh_requests(ctx: _Ctx) -> pl.DataFrame:
    t = ctx.world.services.hh_requests.with_row_index("world_row").with_columns(
        pl.col("world_row").cast(pl.Int64)
    )
    df = _persons(ctx, t)
    df = _with_period(_finish(df, ctx, "requested_at", "requested_at"), ctx)
    closed = pl.col("closed_on").is_not_null() & pl.col("status").is_in(["fulfilled", "rejected"])
    if "home_help.requests" in ctx.as_of:
        closed = closed & (pl.col("closed_on") <= pl.col("export_date"))
    age = (pl.col("export_date") - pl.col("requested_at").dt.date()).dt.total_days()
    status = (
        pl.when(closed)
        .then(pl.col("status"))
        .when(pl.col("status") == "new")
        .then(pl.lit("new"))
        .when(age < ctx.request_new_days)
        .then(pl.lit("new"))
        .otherwise(pl.lit("in_progress"))
    )
    return df.with_columns(
        amka=pl.when(pl.col("amka_given")).then(pl.col("amka")),
        status=status,
        fulfilled_on=pl.when(closed & (pl.col("status") == "fulfilled")).then(
            pl.coalesce("fulfilled_on", "closed_on")
        ),
    )


_BUILDERS = {
    "community_centre.beneficiaries": _b_beneficiaries,
    "community_centre.services": _b_services,
    "community_centre.intake": _b_intake,
    "social_grocery.households": _b_sg_households,
    "social_grocery.distributions": _b_sg_distributions,
    "home_help.clients": _b_hh_clients,
    "home_help.visits": _b_hh_visits,
    "home_help.requests": _b_hh_requests,
}


# --- rendering values (format independent) -------------------------------------------------------


def _spellings(values: dict, valueset: str) -> dict[Any, list[str]]:
    vs = values.get(valueset)
    if vs is None:
        return {}
    return {k: list(v) for k, v in vs.items()}


def _spell(
    codes: pl.Series, table: dict[Any, list[str]], rate: float, rng: np.random.Generator
) -> pl.Series:
    """Greek spelling per code; `rate` of the present values (exact count) use a non-first variant."""
    n = len(codes)
    # codes the table does not know are written as they are
    keys = list(table)
    unknown = [
        v for v in codes.unique(maintain_order=True).drop_nulls().to_list() if v not in table
    ]
    flat: list[str] = []
    offset, nvar = [], []
    for k in keys:
        offset.append(len(flat))
        nvar.append(len(table[k]))
        flat.extend(table[k])
    for v in unknown:
        offset.append(len(flat))
        nvar.append(1)
        flat.append(str(v))
    index = {k: i for i, k in enumerate(keys + unknown)}
    if codes.dtype == pl.Boolean:
        idx = np.array([-1 if v is None else index[v] for v in codes.to_list()], dtype=np.int64)
    else:
        idx = (
            codes.cast(pl.String)
            .replace_strict(
                {str(k): i for k, i in index.items()}, default=-1, return_dtype=pl.Int64
            )
            .fill_null(-1)
            .to_numpy()
        )
    present = idx >= 0
    chosen = F.choose_exact(rng, np.flatnonzero(present), F.exact_count(rate, int(present.sum())))
    vidx = np.zeros(n, dtype=np.int64)
    off, nv = np.array(offset, dtype=np.int64), np.array(nvar, dtype=np.int64)
    if len(chosen):
        k = nv[idx[chosen]]
        u = rng.random(len(chosen))
        vidx[chosen] = np.where(k > 1, 1 + np.floor(u * (k - 1)).astype(np.int64), 0)
    flat_arr = np.array(flat + [None], dtype=object)
    pos = np.where(present, off[np.maximum(idx, 0)] + vidx, len(flat))
    return pl.Series(codes.name, flat_arr[pos].tolist(), dtype=pl.String)


def _prepare(
    df: pl.DataFrame,
    spec: EntitySpec,
    cfg: GeneratorConfig,
    kind_cfg: dict,
    rng: np.random.Generator,
) -> tuple[pl.DataFrame, dict[str, str]]:
    """Entity frame → meta + `s_<col>` strings (text columns) + `v_<col>` typed values."""
    values = dict(cfg.headers["values"], referral_body=_referral_body_spellings())
    rate = float(kind_cfg.get("value_variant_rate", 0.0))
    body_rate = float(cfg.faults.get("referral_body_variant_rate", 0.3))
    share = cfg.faults.get("street_type_word_share", {})
    out: dict[str, pl.Series] = {}
    colmap: dict[str, str] = {}
    for c, t in spec.types.items():
        base = t.split(":")[0]
        if base == "addr":
            continue
        if base == "str":
            out[f"s_{c}"] = df[c].cast(pl.String).str.replace_all(r"[\r\n]+", " ")
        elif base in ("code", "bool"):
            table = _spellings(values, t.split(":")[1])
            r = body_rate if c == "referral_body" else rate
            out[f"s_{c}"] = _spell(df[c], table, r, rng)
        elif base == "list":
            table = _spellings(values, t.split(":")[1])
            first = {k: v[0] for k, v in table.items()}
            alt = {k: v[1] if len(v) > 1 else v[0] for k, v in table.items()}
            lists = df[c].to_list()
            present = np.flatnonzero([bool(x) for x in lists])
            use_alt = set(F.choose_exact(rng, present, F.exact_count(rate, len(present))).tolist())
            out[f"s_{c}"] = pl.Series(
                f"s_{c}",
                [
                    None
                    if not x
                    else ";".join((alt if i in use_alt else first).get(g, g) for g in x)
                    for i, x in enumerate(lists)
                ],
                dtype=pl.String,
            )
        else:
            out[f"v_{c}"] = df[c]
        colmap[c] = f"s_{c}" if base in ("str", "code", "bool", "list") else f"v_{c}"
    if "street" in spec.types:
        st = df["street_type"].to_list()
        p = np.array([float(share.get(x, share.get("default", 0.3))) if x else 0.0 for x in st])
        word = rng.random(len(st)) < p
        out["s_street"] = df.select(
            pl.when(pl.Series(word) & pl.col("street_name").is_not_null())
            .then(pl.concat_str("street_type", "street_name", separator=" "))
            .otherwise(pl.col("street_name"))
        ).to_series()
        out["s_street_number"] = df.select(
            pl.concat_str(
                pl.col("a_number").cast(pl.String), pl.col("street_number_suffix").fill_null("")
            )
        ).to_series()
        out["s_postcode"] = df["a_postcode"]
        out["s_area"] = df["a_area"]
        for c in _ADDR:
            colmap[c] = f"s_{c}"
    meta = df.select(_META + [c for c in _ADDR_HELPERS if c in df.columns])
    frame = meta.with_columns(**{k: v.alias(k) for k, v in out.items()})
    return frame, colmap


# --- formats --------------------------------------------------------------------------------------


def _draw(rng: np.random.Generator, weights: dict, exclude: Any = "__none__") -> Any:
    keys = [k for k in weights if k != exclude]
    if not keys:
        return exclude
    w = np.array([float(weights[k]) for k in keys])
    return keys[int(rng.choice(len(keys), p=w / w.sum()))]


_CSV_ATTRS = ["encoding", "delimiter", "decimal_comma", "date_format", "title_rows", "merged_header", "line_terminator"]  # fmt: skip
_XLSX_ATTRS = ["date_format", "title_rows", "merged_header", "extra_sheet", "sheet_name"]


def _fmt_from(container: str, attrs: dict, profile: str) -> FileFormat:
    if container == "xlsx":
        return FileFormat(
            "xlsx", None, None, False, str(attrs["date_format"]), int(attrs["title_rows"]),
            bool(attrs["merged_header"]), None, str(attrs["extra_sheet"]), str(attrs["sheet_name"]),
            profile,
        )  # fmt: skip
    return FileFormat(
        "csv", str(attrs["encoding"]), str(attrs["delimiter"]), bool(attrs["decimal_comma"]),
        str(attrs["date_format"]), int(attrs["title_rows"]), bool(attrs["merged_header"]),
        str(attrs["line_terminator"]), "none", "", profile,
    )  # fmt: skip


def _plan_formats(
    kind: dict, n_files: int, variation: float, profiles: list[str], rng: np.random.Generator
) -> list[FileFormat]:
    """A municipality's format for one entity, with `variation` of its files differing in one
    attribute. `profiles` gives each file's header profile."""
    base_container = _draw(rng, kind["container"])
    base: dict[str, dict] = {}
    for cont, attrs in (("csv", _CSV_ATTRS), ("xlsx", _XLSX_ATTRS)):
        if cont in kind:
            base[cont] = {a: _draw(rng, kind[cont][a]) for a in attrs}
    out = [_fmt_from(base_container, base[base_container], profiles[i]) for i in range(n_files)]
    varied = F.choose_exact(rng, np.arange(n_files), F.exact_count(variation, n_files))
    for i in varied:
        options = [("container", None)] if len(kind["container"]) > 1 else []
        attrs = _CSV_ATTRS if base_container == "csv" else _XLSX_ATTRS
        options += [(a, base_container) for a in attrs if len(kind[base_container][a]) > 1]
        if not options:
            continue
        what, cont = options[int(rng.integers(len(options)))]
        if what == "container":
            other = _draw(rng, kind["container"], exclude=base_container)
            out[i] = _fmt_from(other, base[other], profiles[i])
        else:
            a = dict(base[cont])
            a[what] = _draw(rng, kind[cont][what], exclude=a[what])
            out[i] = _fmt_from(cont, a, profiles[i])
    return out


# --- file plans -----------------------------------------------------------------------------------


@dataclass
class _File:
    entity: str
    month: int
    period: str
    rows: np.ndarray  # frame rows in file order
    fmt: FileFormat
    rel: str  # path relative to exports/
    exported_at: datetime
    totals: bool = False
    cut: int | None = None  # position of the cut row (truncated CSV)
    cut_frac: float = 0.0
    resend: _File | None = None  # the re-send of this file
    corrected: set[int] = field(default_factory=set)  # frame rows a re-send corrects
    resend_of: str | None = None
    empty: bool = False
    wrong_folder_to: str | None = None  # entity key of the folder a copy is dropped into


@dataclass
class _Entity:
    spec: EntitySpec
    frame: pl.DataFrame
    colmap: dict[str, str]
    bounds: np.ndarray  # frame row range of each month: rows bounds[m]..bounds[m+1]
    kind: dict
    stem: str
    period_style: str
    files: list[_File] = field(default_factory=list)
    faults: dict[int, F.RowFault] = field(default_factory=dict)
    pre: dict[int, tuple[str, str, str]] = field(
        default_factory=dict
    )  # row -> (fault, col, detail)


def _file_name(stem: str, style: str, y: int, m: int, ext: str, suffix: str = "") -> str:
    return f"{stem}_{style.format(yyyy=f'{y:04d}', mm=f'{m:02d}')}{suffix}.{ext}"


def _months(start: date, end: date) -> list[tuple[int, int]]:
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _layout(
    spec: EntitySpec,
    cfg: GeneratorConfig,
    fmt: FileFormat,
    title: str,
    muni: str,
    ym: tuple[int, int],
) -> Layout:
    cols = list(spec.types)
    variants = cfg.headers["entities"][spec.key]["columns"]
    headers = [header_name(variants[c], fmt.header_profile) for c in cols]
    groups = [(cols.index(a), cols.index(b), label) for label, a, b in spec.groups]
    month = f"{MONTHS_EL[ym[1] - 1]} {ym[0]}"
    titles = {0: [], 1: [f"{title} - {month}"], 2: [muni, f"{title} - {month}"]}[fmt.title_rows]
    return Layout(headers=headers, groups=groups, titles=titles)


# --- the main entry point -------------------------------------------------------------------------


def write_exports(
    world: World,
    cfg: GeneratorConfig,
    out_dir: Path,
    rng: np.random.Generator,
    *,
    truth_dir: Path | None = None,
) -> ExportResult:
    """Write every export file of `world` under out_dir/exports and the truth under `truth_dir`
    (default out_dir/truth; a national run writes one part per municipality and joins them)."""
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    fc = cfg.faults
    r_val, r_fmt, r_trunc, r_faults, r_files = rng.spawn(5)
    months = _months(world.start, world.end)
    mcode = world.geography.municipality_code
    muni_name = world.geography.municipality_name_el
    muni = F.caps_no_accents(muni_name.upper())
    muni = muni if muni.startswith("ΔΗΜΟΣ") else f"ΔΗΜΟΣ {muni}"

    addresses = _addresses(world)
    people = world.population.persons.select(
        "person_id", "household_id", "sex", "birth_date", "citizenship", "surname", "first_name",
        "father_name", "amka", "afm", "phone",
    ).join(addresses, on="household_id", how="left")  # fmt: skip
    ctx = _Ctx(
        world=world,
        start=world.start,
        end=world.end,
        n_months=len(months),
        lag=int(fc.get("export_lag_days", 20)),
        as_of=set(fc.get("as_of_export", [])),
        request_new_days=int(fc.get("request_new_days", 25)),
        people=people,
        addresses=addresses,
    )

    # (1) entity frames
    ents: dict[str, _Entity] = {}
    for key, spec in ENTITIES.items():
        ecfg = fc["entities"][key]
        kind = fc["kinds"][ecfg["kind"]]
        raw = _BUILDERS[key](ctx).with_columns(world_table=pl.lit(spec.world_table))
        for c in _ADDR_COLS:
            if c not in raw.columns:
                raw = raw.with_columns(pl.lit(None).alias(c))
        frame, colmap = _prepare(raw, spec, cfg, kind, r_val)
        month_arr = frame["_month"].to_numpy()
        bounds = np.searchsorted(month_arr, np.arange(len(months) + 1), side="left")
        stem = ecfg["stems"][int(r_fmt.integers(len(ecfg["stems"])))]
        style = _draw(r_fmt, fc["period_styles"])
        ents[key] = _Entity(spec, frame, colmap, bounds, kind, stem, style)

    # (2) formats and primary files
    switch = fc.get("header_profile_switch") or {}
    switch_month = None
    if switch.get("on"):
        y, m = (int(x) for x in str(switch["on"]).split("-"))
        if (y, m) in months and (y, m) != months[0]:
            switch_month = months.index((y, m))
    keys = list(ENTITIES)
    switching = set()
    if switch_month is not None:
        idx = F.choose_exact(
            r_fmt, np.arange(len(keys)), F.exact_count(float(switch.get("share", 0)), len(keys))
        )
        switching = {keys[i] for i in idx}
    for key, ent in ents.items():
        hp = ent.kind["header_profile"]
        base_profile = _draw(r_fmt, hp)
        later = _draw(r_fmt, hp, exclude=base_profile) if key in switching else base_profile
        profiles = [
            later if switch_month is not None and i >= switch_month else base_profile
            for i in range(len(months))
        ]
        fmts = _plan_formats(
            ent.kind, len(months), float(fc.get("file_variation_rate", 0)), profiles, r_fmt
        )
        for i, (y, m) in enumerate(months):
            fmt = fmts[i]
            ext = "xlsx" if fmt.container == "xlsx" else "csv"
            name = _file_name(ent.stem, ent.period_style, y, m, ext)
            export_date = date(y, m, 1) + timedelta(days=32)
            export_date = date(export_date.year, export_date.month, 1) - timedelta(days=1)
            export_at = datetime.combine(export_date + timedelta(days=ctx.lag), datetime.min.time())
            export_at += timedelta(hours=9, minutes=7 * keys.index(key))
            ent.files.append(
                _File(
                    entity=key,
                    month=i,
                    period=f"{y:04d}-{m:02d}",
                    rows=np.arange(ent.bounds[i], ent.bounds[i + 1]),
                    fmt=fmt,
                    rel=f"{mcode}/{ent.spec.source}/{ent.spec.name}/{name}",
                    exported_at=export_at,
                )  # fmt: skip
            )
    primaries = [f for e in ents.values() for f in e.files]

    # (3a) faults the world already holds: a second registration, an ΑΜΚΑ the person lacks
    amka_missing_entities = set(fc["row_faults"].get("amka_missing", {}).get("entities", []))
    for key, ent in ents.items():
        fr = ent.frame
        if key == "community_centre.beneficiaries":
            dup = (~fr["person_id"].is_first_distinct()) & fr["person_id"].is_not_null()
            for r in np.flatnonzero(dup.to_numpy()):
                ent.pre[int(r)] = (
                    "duplicate_registration",
                    "beneficiary_code",
                    "second registration",
                )
        acol = F.AMKA_COL.get(key)
        if acol and key in amka_missing_entities:
            miss = fr[ent.colmap[acol]].is_null().to_numpy()
            for r in np.flatnonzero(miss):
                ent.pre.setdefault(int(r), ("amka_missing", acol, "not in world"))

    # (3b) truncations (they lose rows, so they come before the row faults)
    tr_rate = float(fc["file_faults"]["truncated_file"]["rate"])
    tr_cands = [f for f in primaries if f.fmt.container == "csv" and len(f.rows) >= 3]
    for j in F.choose_exact(
        r_trunc, np.arange(len(tr_cands)), F.exact_count(tr_rate, len(tr_cands))
    ):
        f = tr_cands[j]
        ent = ents[f.entity]
        n = len(f.rows)
        ok = [p for p in range(n // 2, n) if int(f.rows[p]) not in ent.pre]
        if not ok:
            continue
        f.cut = int(ok[int(r_trunc.integers(len(ok)))])
        f.cut_frac = float(r_trunc.random())

    # (3c) row faults
    stats: list[F.FaultStat] = []
    for key, ent in ents.items():
        avail = np.ones(ent.frame.height, dtype=bool)
        for f in ent.files:
            if f.cut is not None:
                avail[f.rows[f.cut :]] = False
        for r in ent.pre:
            avail[r] = False
        # rows lost by a truncation also lose their pre-existing fault
        for f in ent.files:
            if f.cut is not None:
                for r in f.rows[f.cut :]:
                    ent.pre.pop(int(r), None)
        row_faults, st = F.assign_row_faults(key, ent.frame, avail, ent.colmap, fc, r_faults)
        ent.faults = {rf.row: rf for rf in row_faults}
        stats.extend(st)

    # (3d) re-sends, totals rows, empty files, wrong-folder copies
    ff = fc["file_faults"]
    rs_cfg = fc.get("resend", {})
    correctable = set(rs_cfg.get("correctable", []))
    fixable_rows = {
        k: np.array(
            sorted(r for r, rf in e.faults.items() if rf.fault in correctable), dtype=np.int64
        )
        for k, e in ents.items()
    }
    rs_cands = []
    for f in primaries:
        if f.cut is not None or len(f.rows) == 0:
            continue
        fr = fixable_rows[f.entity]
        lo, hi = np.searchsorted(fr, f.rows[0]), np.searchsorted(fr, f.rows[-1], side="right")
        if hi > lo:
            rs_cands.append((f, fr[lo:hi].tolist()))
    n_rs = F.exact_count(float(ff["resent_month"]["rate"]), len(rs_cands))
    for j in F.choose_exact(r_files, np.arange(len(rs_cands)), n_rs):
        f, fixable = rs_cands[j]
        k = max(1, F.exact_count(float(rs_cfg.get("corrected_share", 0.8)), len(fixable)))
        fixed = F.choose_exact(r_files, np.array(fixable), k)
        suffixes = rs_cfg.get("suffixes", ["_v2"])
        suffix = suffixes[int(r_files.integers(len(suffixes)))]
        lo, hi = rs_cfg.get("days_after", [20, 60])
        at = f.exported_at + timedelta(days=int(r_files.integers(lo, hi + 1)))
        p = Path(f.rel)
        rel = str(p.with_name(p.stem + suffix + p.suffix))
        f.corrected = {int(r) for r in fixed}
        f.resend = replace(
            f, rel=rel, exported_at=at, resend=None, resend_of=f.rel, corrected=set(f.corrected)
        )

    xl = [f for f in primaries if f.fmt.container == "xlsx"]
    for j in F.choose_exact(
        r_files, np.arange(len(xl)), F.exact_count(float(ff["totals_row"]["rate"]), len(xl))
    ):
        xl[j].totals = True
        if xl[j].resend is not None:
            xl[j].resend.totals = True

    empties = F.choose_exact(
        r_files,
        np.arange(len(primaries)),
        F.exact_count(float(ff["empty_file"]["rate"]), len(primaries)),
    )
    wf_cands = [f for f in primaries if f.cut is None]
    wrong = F.choose_exact(
        r_files,
        np.arange(len(wf_cands)),
        F.exact_count(float(ff["wrong_folder"]["rate"]), len(wf_cands)),
    )
    for j in wrong:
        f = wf_cands[j]
        others = [k for k in keys if k.split(".")[0] != f.entity.split(".")[0]]
        f.wrong_folder_to = others[int(r_files.integers(len(others)))]

    # (4) write
    exp_root = out_dir / "exports"
    if exp_root.exists():
        shutil.rmtree(exp_root / mcode, ignore_errors=True)
    rec_parts: dict[str, list[pl.DataFrame]] = {k: [] for k in keys}
    fault_rows: list[dict] = []
    file_rows: list[dict] = []
    t_write = time.perf_counter()

    fault_index = {
        k: np.array(sorted(set(e.faults) | set(e.pre)), dtype=np.int64) for k, e in ents.items()
    }

    def hits(ent: _Entity, rows: np.ndarray) -> np.ndarray:
        """Positions in `rows` (a contiguous range of frame rows) of rows that carry a fault."""
        if len(rows) == 0:
            return np.empty(0, dtype=np.int64)
        fi = fault_index[ent.spec.key]
        lo, hi = np.searchsorted(fi, rows[0]), np.searchsorted(fi, rows[-1], side="right")
        return fi[lo:hi] - rows[0]

    def overrides_for(ent: _Entity, rows: np.ndarray, skip: set[int]) -> dict[int, dict]:
        out = {}
        for pos in hits(ent, rows):
            r = int(rows[pos])
            rf = ent.faults.get(r)
            if rf is not None and rf.overrides and r not in skip:
                out[int(pos)] = rf.overrides
        return out

    def record(
        ent: _Entity,
        rows: np.ndarray,
        rel: str,
        sheet: str | None,
        first_row: int,
        faults_: list,
        current: bool,
    ) -> None:
        rec_parts[ent.spec.key].append(
            pl.DataFrame(
                {
                    "_row": pl.Series(rows, dtype=pl.Int64),
                    "file": pl.Series([rel] * len(rows), dtype=pl.String),
                    "sheet": pl.Series([sheet] * len(rows), dtype=pl.String),
                    "source_row": pl.Series(
                        np.arange(first_row, first_row + len(rows)), dtype=pl.Int64
                    ),
                    "fault": pl.Series(faults_, dtype=pl.String),
                    "is_current": pl.Series([current] * len(rows), dtype=pl.Boolean),
                }
            )
        )

    def add_fault(
        fault: str,
        rel: str,
        sheet: str | None,
        source_row: int | None,
        column: str | None,
        detail: str = "",
    ) -> None:
        action, reason = F.FAULT_ACTIONS[fault]
        fault_rows.append(
            {"fault": fault, "file": rel, "sheet": sheet, "source_row": source_row, "column": column,
             "expected_action": action, "expected_reason": reason, "detail": detail}
        )  # fmt: skip

    def write_file(f: _File, *, is_resend: bool) -> dict:
        ent = ents[f.entity]
        spec, fmt = ent.spec, f.fmt
        path = exp_root / f.rel
        path.parent.mkdir(parents=True, exist_ok=True)
        y, m = months[f.month]
        title = fc["entities"][f.entity]["title"]
        lay = _layout(spec, cfg, fmt, title, muni, (y, m))
        skip = f.corrected if is_resend else set()
        cols = list(spec.types)
        sub = ent.frame[f.rows]
        table = render_table(sub, cols, spec.types, fmt, overrides_for(ent, f.rows, skip))
        first = fmt.header_row + 1
        n_rows, lost, sheets, data_sheet = len(f.rows), 0, [], None
        sheet_name = None
        prev_rows = None
        if fmt.container == "csv":
            body = csv_body(table, fmt)
            if f.cut is not None:
                body = truncate_body(body, fmt, f.cut, len(cols), f.cut_frac)
                lost = n_rows - f.cut - 1
                n_rows = f.cut + 1
            data = encode(csv_prefix(lay, fmt) + body, fmt.encoding or "utf-8")
            path.write_bytes(data)
        else:
            sheet_name = {"month": f"{MONTHS_EL[m - 1]} {y}"}.get(fmt.sheet_name, fmt.sheet_name)
            sh = [Sheet(sheet_name, lay, table, totals=f.totals, merged=fmt.merged_header)]
            if fmt.extra_sheet == "instructions":
                sh.append(Sheet("Οδηγίες", None, text_lines=INSTRUCTIONS))
            elif fmt.extra_sheet == "previous_month" and f.month > 0:
                pm = f.month - 1
                py, pmm = months[pm]
                prev_rows = np.arange(ent.bounds[pm], ent.bounds[pm + 1])
                ptab = render_table(
                    ent.frame[prev_rows],
                    cols,
                    spec.types,
                    fmt,
                    overrides_for(ent, prev_rows, set()),
                )
                play = _layout(spec, cfg, fmt, title, muni, (py, pmm))
                pname = f"{MONTHS_EL[pmm - 1]} {py}"
                if pname == sheet_name:
                    pname += " (2)"
                sh.append(Sheet(pname, play, ptab, merged=fmt.merged_header))
            totals_at = write_xlsx(path, sh, f.exported_at)
            sheets = [s.name for s in sh]
            data_sheet = sheet_name
            if f.totals:
                add_fault("totals_row", f.rel, sheet_name, totals_at[sheet_name], None)
            data = path.read_bytes()
        ts = f.exported_at.timestamp()
        os.utime(path, (ts, ts))

        # truth: records and row faults
        faults_: list[str | None] = [None] * n_rows
        positions = set(hits(ent, f.rows[:n_rows]).tolist())
        if f.cut is not None:
            positions.add(f.cut)
        for pos in sorted(positions):
            r = int(f.rows[pos])
            src_row = first + pos
            rf = ent.faults.get(r)
            if f.cut is not None and pos == f.cut:
                faults_[pos] = "truncated_file"
                add_fault("truncated_file", f.rel, sheet_name, src_row, None, f"rows_lost={lost}")
            elif rf is not None and r not in skip:
                faults_[pos] = rf.fault
                add_fault(rf.fault, f.rel, sheet_name, src_row, rf.column, rf.detail)
            elif r in ent.pre:
                fault, col, detail = ent.pre[r]
                faults_[pos] = fault
                add_fault(fault, f.rel, sheet_name, src_row, col, detail)
        current = is_resend or f.resend is None
        record(ent, f.rows[:n_rows], f.rel, sheet_name, first, faults_, current)
        if prev_rows is not None:
            record(ent, prev_rows, f.rel, sh[1].name, first, [None] * len(prev_rows), False)
        if is_resend:
            add_fault("resent_month", f.rel, None, None, None, f"replaces {f.resend_of}")
        row = _file_row(f, ent, data, n_rows, lost, sheets, data_sheet)
        row["is_resend"] = is_resend
        row["resend_of"] = f.resend_of
        file_rows.append(row)
        return row

    for f in primaries:
        write_file(f, is_resend=False)
        if f.resend is not None:
            write_file(f.resend, is_resend=True)
    for j in empties:
        f = primaries[j]
        p = Path(f.rel)
        rel = str(p.with_name(f"{p.stem} (1){p.suffix}"))
        path = exp_root / rel
        path.write_bytes(b"")
        ts = (f.exported_at - timedelta(minutes=3)).timestamp()
        os.utime(path, (ts, ts))
        add_fault("empty_file", rel, None, None, None)
        row = _file_row(replace(f, rel=rel), ents[f.entity], b"", 0, 0, [], None)
        row.update(format=p.suffix[1:], encoding=None, delimiter=None, decimal_comma=False,
                   title_rows=0, merged_header=False, header_row=None, totals_row=False,
                   sheets=None, data_sheet=None, line_terminator=None, is_empty=True,
                   is_truncated=False, n_rows_lost=0)  # fmt: skip
        file_rows.append(row)
    for j in wrong:
        f = wf_cands[j]
        src, dst = exp_root / f.rel, f.wrong_folder_to
        rel = f"{mcode}/{dst.replace('.', '/')}/{Path(f.rel).name}"
        (exp_root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, exp_root / rel)
        ts = f.exported_at.timestamp()
        os.utime(exp_root / rel, (ts, ts))
        add_fault("wrong_folder", rel, None, None, None, f"holds {f.entity}")
        orig = next(r for r in file_rows if r["path"] == f.rel)
        row = dict(
            orig,
            path=rel,
            source=dst.split(".")[0],
            entity=dst.split(".")[1],
            wrong_folder_of=f.entity,
        )
        file_rows.append(row)
        for part in [p for p in rec_parts[f.entity] if p.height and p["file"][0] == f.rel]:
            rec_parts[f.entity].append(
                part.with_columns(
                    file=pl.lit(rel), fault=pl.lit("wrong_folder"), is_current=pl.lit(False)
                )
            )
    t_truth = time.perf_counter()

    # (5) truth tables
    rec_frames = []
    for key, ent in ents.items():
        parts = [p for p in rec_parts[key] if p.height]
        if not parts:
            continue
        recs = pl.concat(parts)
        meta = ent.frame.select(
            "period",
            "world_table",
            "world_row",
            "person_id",
            "household_id",
            "true_neighbourhood_id",
        )[recs["_row"].to_numpy()]
        rec_frames.append(
            pl.concat([recs, meta], how="horizontal").with_columns(
                source=pl.lit(ent.spec.source), entity=pl.lit(ent.spec.name)
            )
        )
    records = (
        pl.concat(rec_frames, how="diagonal_relaxed").with_columns(
            is_fault_row=pl.col("fault").is_not_null()
        )
        if rec_frames
        else pl.DataFrame(schema=RECORDS_SCHEMA)
    )
    records = records.select([pl.col(c).cast(t) for c, t in RECORDS_SCHEMA.items()]).sort(
        "file", "sheet", "source_row", nulls_last=False
    )
    faults_df = pl.DataFrame(
        fault_rows, schema={k: v for k, v in FAULTS_SCHEMA.items() if k != "fault_id"}
    )
    faults_df = faults_df.sort("file", "source_row", "fault", nulls_last=False).with_row_index(
        "fault_id", offset=1
    )
    faults_df = faults_df.select(
        [pl.col(c).cast(t) for c, t in FAULTS_SCHEMA.items()]
    ).with_columns(pl.col("expected_reason", "detail").replace("", None))
    files_df = pl.DataFrame(file_rows, schema=FILES_SCHEMA).sort("path")
    stats_df = pl.DataFrame(
        [vars(s) for s in stats],
        schema={
            "fault": pl.String,
            "entity": pl.String,
            "eligible": pl.Int64,
            "rate": pl.Float64,
            "target": pl.Int64,
            "realised": pl.Int64,
        },
    )
    result = ExportResult(
        out_dir=out_dir,
        records=records,
        faults=faults_df,
        files=files_df,
        fault_stats=stats_df,
    )
    write_truth(result, truth_dir if truth_dir is not None else out_dir / "truth")
    t_end = time.perf_counter()
    result.seconds = {
        "plan": round(t_write - t0, 3),
        "write": round(t_truth - t_write, 3),
        "truth": round(t_end - t_truth, 3),
    }
    return result


def _file_row(
    f: _File,
    ent: _Entity,
    data: bytes,
    n_rows: int,
    lost: int,
    sheets: list[str],
    data_sheet: str | None,
) -> dict:
    fmt = f.fmt
    return {
        "path": f.rel,
        "source": ent.spec.source,
        "entity": ent.spec.name,
        "period": f.period,
        "format": fmt.container,
        "encoding": fmt.encoding,
        "delimiter": fmt.delimiter,
        "decimal_comma": fmt.decimal_comma,
        "date_format": fmt.date_format,
        "title_rows": fmt.title_rows,
        "merged_header": fmt.merged_header,
        "header_row": fmt.header_row,
        "totals_row": f.totals,
        "sheets": "|".join(sheets) if sheets else None,
        "data_sheet": data_sheet,
        "header_profile": fmt.header_profile,
        "line_terminator": fmt.line_terminator,
        "n_data_rows": n_rows,
        "n_rows_lost": lost,
        "sha256": hashlib.sha256(data).hexdigest(),
        "size_bytes": len(data),
        "is_resend": False,
        "resend_of": None,
        "is_empty": len(data) == 0,
        "is_truncated": f.cut is not None,
        "wrong_folder_of": None,
        "exported_at": f.exported_at,
    }
