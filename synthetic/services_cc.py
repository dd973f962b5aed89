"""Community centre: registrations, services and referrals, daily walk-in intake."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from synthetic.model import (
    CC_BENEFICIARIES_SCHEMA,
    CC_INTAKE_SCHEMA,
    CC_SERVICES_SCHEMA,
)
from synthetic.services_common import (
    NEVER,
    Ctx,
    choose,
    choose_rows,
    date_series,
    demand_weights,
    rule_weights,
    sample_in_windows,
    str_series,
    uniform_int,
    weekday,
    window_exposure,
    years_to_days,
)

CC_STRUCTURES = ("main", "roma_branch", "mobile_unit")
CC_STRUCTURE_IDS = ("cc_main", "cc_roma", "cc_mobile")

# Free-text descriptions a clerk writes under "Υπηρεσία" for each category.
SERVICE_TEXT: dict[str, tuple[str, ...]] = {
    "information": (
        "Ενημέρωση για προγράμματα πρόνοιας",
        "Πληροφόρηση για επιδόματα",
        "Ενημέρωση για κοινωνικές υπηρεσίες του Δήμου",
        "Ενημέρωση για επίδομα στέγασης",
    ),
    "kea_support": (
        "Υποστήριξη αίτησης ΚΕΑ",
        "Ηλεκτρονική αίτηση Ελάχιστου Εγγυημένου Εισοδήματος",
        "Επανυποβολή αίτησης ΚΕΑ",
    ),
    "psychosocial": (
        "Ατομική συνεδρία ψυχοκοινωνικής στήριξης",
        "Συμβουλευτική οικογένειας",
        "Ψυχολογική υποστήριξη",
    ),
    "learning_support": ("Μαθησιακή στήριξη παιδιού", "Ενισχυτική διδασκαλία"),
    "job_counselling": (
        "Συμβουλευτική απασχόλησης",
        "Σύνταξη βιογραφικού σημειώματος",
        "Ενημέρωση για προγράμματα απασχόλησης",
    ),
    "legal_information": (
        "Νομική ενημέρωση για άδεια διαμονής",
        "Ενημέρωση για δικαιώματα και διαδικασίες",
    ),
    "goods_distribution": ("Διανομή τροφίμων", "Διανομή ειδών πρώτης ανάγκης"),
}

VULNERABLE_ORDER = (
    "roma",
    "migrant",
    "refugee",
    "disability",
    "homeless",
    "single_parent",
    "large_family",
)


def simulate_community_centre(
    ctx: Ctx, referral_bodies: list[tuple[str, str]]
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(cc_beneficiaries, cc_services, cc_intake). `referral_bodies`: (id, name_el) pairs."""
    r = ctx.rates["community_centre"]
    reg = _registrations(ctx, r)
    beneficiaries, reg = _beneficiaries_frame(ctx, r, reg)
    services = _services(ctx, r, reg, dict(referral_bodies))
    intake = _intake(ctx, r)
    return beneficiaries, services, intake


def _registrations(ctx: Ctx, r: dict[str, Any]) -> dict[str, np.ndarray]:
    """Who registers when and where: person row, day, structure (0 main, 1 roma, 2 mobile)."""
    P, cal, rng = ctx.people, ctx.cal, ctx.rng
    rr = r["rate_ratio"]
    hh = P.hh
    adult_from = P.birth + years_to_days(r["min_age"])
    eligible = (adult_from <= cal.end) & (P.death > cal.start)
    w = np.ones(P.n)
    w *= np.where(P.hh_poor[hh], rr["poor"], 1.0)
    w *= np.where(P.employment == "unemployed", rr["unemployed"], 1.0)
    w *= np.where(P.employment == "long_term_unemployed", rr["long_term_unemployed"], 1.0)
    w *= np.where(P.refugee, rr["refugee"], np.where(P.migrant, rr["migrant"], 1.0))
    w *= np.where(P.roma, rr["roma"], 1.0)
    w *= np.where(P.disability > 0, rr["disability"], 1.0)
    w *= np.where(P.hh_single_parent[hh], rr["single_parent"], 1.0)
    w *= np.where(P.homeless, rr["homeless"], 1.0)
    w *= float(r["deprivation_per_sd"]) ** P.deprivation[P.nb]
    w[~eligible] = 0.0
    # intensity w_i × day weight while the person is an adult and alive; scaled to the target
    dw = demand_weights(cal, r["seasonality"], r["crisis"])
    lo, hi = np.maximum(adult_from, cal.start), np.minimum(P.death - 1, cal.end)
    expo = w * window_exposure(dw, cal, lo, hi)
    expected = float(r["registrations_per_year"]) * ctx.factor * dw.sum()
    lam = expected * expo / max(expo.sum(), 1e-12)
    who = np.flatnonzero(rng.random(P.n) < -np.expm1(-lam))
    day = sample_in_windows(dw, cal, lo[who], hi[who], rng)
    struct = np.where(P.roma[who], 1, np.where(P.village[P.nb[who]], 2, 0))

    # monthly capacity per structure: whoever does not fit waits for the next month (FIFO)
    reg_day = np.full(len(who), NEVER, dtype=np.int64)
    for s, sid in enumerate(CC_STRUCTURE_IDS):
        idx = np.flatnonzero(struct == s)
        order = idx[np.argsort(day[idx], kind="stable")]
        d = day[order]
        # fractional capacities (small scales) are honoured on average: floor of the running sum
        cap, done = ctx.capacity_exact[sid], 0
        for m in range(cal.n_months):
            arrived = int(np.searchsorted(d, cal.month_ends[m], side="right"))
            k = min(int(np.floor((m + 1) * cap)) - int(np.floor(m * cap)), arrived - done)
            if k <= 0:
                continue
            sel = order[done : done + k]
            late = day[sel] < cal.month_starts[m]
            reg_day[sel] = day[sel]
            if late.any():
                in_month = (cal.month_index == m) & cal.working
                first_days = cal.days[in_month][:10]
                reg_day[sel[late]] = rng.choice(first_days, size=int(late.sum()))
            done += k
    ok = (reg_day < NEVER) & (reg_day < P.death[who])
    return {"row": who[ok], "day": reg_day[ok], "struct": struct[ok]}


def _beneficiaries_frame(
    ctx: Ctx, r: dict[str, Any], reg: dict[str, np.ndarray]
) -> tuple[pl.DataFrame, dict[str, np.ndarray]]:
    P, cal, rng = ctx.people, ctx.cal, ctx.rng
    row, day, struct = reg["row"], reg["day"], reg["struct"]
    n = len(row)
    hh = P.hh[row]
    kea_p = np.where(
        P.hh_poor[hh], r["kea_recipient_share"]["poor"], r["kea_recipient_share"]["not_poor"]
    )
    kea = rng.random(n) < kea_p
    # the duplicate-registration quirk: a second beneficiary code for the same person
    dup = np.flatnonzero(rng.random(n) < float(r["duplicate_share"]))
    dup_day = cal.next_working(day[dup] + uniform_int(r["duplicate_lag_days"], len(dup), rng))
    keep = (dup_day <= cal.end) & (dup_day < P.death[row[dup]])
    dup, dup_day = dup[keep], dup_day[keep]
    row = np.concatenate([row, row[dup]])
    day = np.concatenate([day, dup_day])
    struct = np.concatenate([struct, struct[dup]])
    kea = np.concatenate([kea, kea[dup]])
    is_dup = np.concatenate([np.zeros(n, bool), np.ones(len(dup), bool)])
    order = np.lexsort((P.person_id[row], day))
    row, day, struct, kea, is_dup = (a[order] for a in (row, day, struct, kea, is_dup))
    hh = P.hh[row]

    src = P.persons[row]
    groups = pl.concat_list(
        [
            pl.when(pl.col("is_roma")).then(pl.lit("roma")),
            pl.when(pl.col("is_migrant") & ~pl.col("is_refugee")).then(pl.lit("migrant")),
            pl.when(pl.col("is_refugee")).then(pl.lit("refugee")),
            pl.when(pl.col("disability_pct") > 0).then(pl.lit("disability")),
            pl.when(pl.col("is_homeless")).then(pl.lit("homeless")),
            pl.when(pl.col("_sp")).then(pl.lit("single_parent")),
            pl.when(pl.col("_lf")).then(pl.lit("large_family")),
        ]
    ).list.drop_nulls()
    n_all = len(row)
    df = (
        src.with_columns(
            pl.Series("_sp", P.hh_single_parent[hh]),
            pl.Series("_lf", P.hh_large_family[hh]),
        )
        .select(
            pl.format("ΚΚ-{}", pl.int_range(1, n_all + 1).cast(pl.String).str.zfill(6)).alias(
                "beneficiary_code"
            ),
            pl.col("person_id"),
            date_series("registered_on", day),
            str_series(np.array(CC_STRUCTURES)[struct]).alias("structure"),
            pl.Series("household_size", P.hh_size[hh], dtype=pl.Int64),
            pl.Series("household_minors", P.hh_minors[hh], dtype=pl.Int64),
            pl.col("employment_status"),
            pl.col("education"),
            groups.cast(pl.List(pl.String)).alias("vulnerable_groups"),
            pl.Series("kea_recipient", kea, dtype=pl.Boolean),
        )
        .select(list(CC_BENEFICIARIES_SCHEMA))
    )
    reg_out = {
        "row": row,
        "day": day,
        "kea": kea,
        "code": df["beneficiary_code"].to_numpy(),
        "is_dup": is_dup,
    }
    return df, reg_out


def _services(
    ctx: Ctx, r: dict[str, Any], reg: dict[str, np.ndarray], bodies: dict[str, str]
) -> pl.DataFrame:
    P, cal, rng = ctx.people, ctx.cal, ctx.rng
    s = r["services"]
    n_reg = len(reg["row"])
    count = 1 + rng.poisson(float(s["extra_services_mean"]), size=n_reg)
    j = np.repeat(np.arange(n_reg), count)
    first = np.zeros(len(j), bool)
    first[np.cumsum(count) - count] = True
    gap = np.ceil(rng.exponential(float(s["follow_up_mean_days"]), size=len(j))).astype(np.int64)
    gap = np.minimum(gap, int(s["follow_up_max_days"]))
    gap[first] = 0
    day = cal.next_working(reg["day"][j] + gap)
    row = reg["row"][j]
    ok = (day <= cal.end) & (day < P.death[row])
    j, day, row = j[ok], day[ok], row[ok]
    n = len(j)
    hh = P.hh[row]

    crisis = cal.period_factor(r["crisis"])[day - cal.start] > 1.0
    age = (day - P.birth[row]) / 365.2425
    unemployed = np.isin(P.employment[row], ["unemployed", "long_term_unemployed"])
    single_parent = P.hh_single_parent[hh]
    flags = {
        "poor": P.hh_poor[hh],
        "kea": reg["kea"][j],
        "unemployed": unemployed,
        "minors": P.hh_minors[hh] > 0,
        "migrant": P.migrant[row] | P.refugee[row],
        "disability": P.disability[row] > 0,
        "homeless": P.homeless[row],
        "single_parent": single_parent,
        "roma": P.roma[row],
        "elderly": age >= 65,
        "female": P.female[row],
        "female_single_parent": P.female[row] & single_parent,
        "retired": P.employment[row] == "retired",
        "crisis": crisis,
    }
    flags = {k: v.astype(float) for k, v in flags.items()}
    cat_names, cat_w = rule_weights(s["categories"], flags, n)
    category = np.array(cat_names, dtype=object)[choose_rows(cat_w, rng)]
    is_ref = rng.random(n) < float(s["referral_share"])
    body_names, body_w = rule_weights(s["referral_bodies"], flags, n)
    body = np.array(body_names, dtype=object)[choose_rows(body_w, rng)]
    body[~is_ref] = None
    category[is_ref] = "referral"

    # free-text description
    text = np.empty(n, dtype=object)
    pick = rng.random(n)
    for cat, options in SERVICE_TEXT.items():
        sel = category == cat
        text[sel] = np.array(options, dtype=object)[(pick[sel] * len(options)).astype(int)]
    for bid, name in bodies.items():
        text[is_ref & (body == bid)] = f"Παραπομπή σε {name}"

    # referral outcome
    st_names = list(s["referral_status"])
    status = np.array(st_names, dtype=object)[choose(s["referral_status"], n, rng)]
    outcome = cal.next_working(day + uniform_int(s["outcome_days"], n, rng))
    resolved = is_ref & (status != "in_progress")
    unseen = resolved & ((outcome > cal.end) | (outcome >= P.death[row]))
    status[unseen] = "in_progress"  # not resolved within the simulated world
    resolved &= ~unseen
    status[~is_ref] = None

    df = pl.DataFrame(
        {
            "beneficiary_code": str_series(reg["code"][j]),
            "person_id": pl.Series(P.person_id[row], dtype=pl.Int64),
            "service_on": date_series("service_on", day),
            "service_category": str_series(category),
            "service": str_series(text),
            "referral_body_id": str_series(body),
            "referral_status": str_series(status),
            "outcome_on": date_series("outcome_on", outcome, resolved),
        }
    ).sort(["service_on", "beneficiary_code"], maintain_order=True)
    df = df.with_columns(pl.int_range(1, len(df) + 1, dtype=pl.Int64).alias("service_id"))
    return df.select(list(CC_SERVICES_SCHEMA))


def _intake(ctx: Ctx, r: dict[str, Any]) -> pl.DataFrame:
    cal, rng = ctx.cal, ctx.rng
    it = r["intake"]
    season = np.asarray(r["seasonality"], dtype=float)
    season = season / season.mean()
    lock = cal.period_factor(ctx.rates["calendar"]["lockdowns"], key="walk_in_factor")
    base = (
        float(it["visits_per_working_day"])
        * ctx.factor
        * season[cal.month_of_year - 1]
        * cal.period_factor(r["crisis"])
        * lock
        * cal.working
    )
    wd = weekday(cal.days)
    mobile_days = np.isin(wd, it["mobile_unit_weekdays"])
    frames_day, frames_struct = [], []
    for s, code in enumerate(CC_STRUCTURES):
        lam = base * float(it["structure_share"][code])
        if code == "mobile_unit":
            lam = lam * mobile_days * (5.0 / max(len(it["mobile_unit_weekdays"]), 1))
        k = rng.poisson(lam)
        frames_day.append(np.repeat(cal.days, k))
        frames_struct.append(np.full(int(k.sum()), s))
    day = np.concatenate(frames_day)
    struct = np.concatenate(frames_struct)
    n = len(day)

    def minutes(hhmm: str) -> int:
        h, m = hhmm.split(":")
        return int(h) * 60 + int(m)

    open_, close = (minutes(t) for t in it["opening"])
    peak = minutes(it["peak_time"])
    t = np.floor(rng.triangular(open_, peak, close, size=n)).astype(np.int64)
    t = np.clip(t, open_, close - 1)
    is_new = rng.random(n) < float(it["is_new_share"])
    reasons = list(it["reasons"])
    w = np.tile(np.asarray(list(it["reasons"].values()), dtype=float), (n, 1))
    crisis = cal.period_factor(r["crisis"])[day - cal.start] > 1.0
    for reason, f in (it.get("crisis_reason_factor") or {}).items():
        w[crisis, reasons.index(reason)] *= float(f)
    reason = np.array(reasons, dtype=object)[choose_rows(w, rng)]
    df = pl.DataFrame(
        {
            "visit_on": date_series("visit_on", day),
            "_t": pl.Series(t, dtype=pl.Int64),
            "structure": str_series(np.array(CC_STRUCTURES)[struct]),
            "is_new": pl.Series(is_new, dtype=pl.Boolean),
            "reason": str_series(reason),
        }
    )
    df = df.sort(["visit_on", "_t"], maintain_order=True).with_columns(
        pl.format(
            "{}:{}",
            (pl.col("_t") // 60).cast(pl.String).str.zfill(2),
            (pl.col("_t") % 60).cast(pl.String).str.zfill(2),
        ).alias("visit_time")
    )
    return df.select(list(CC_INTAKE_SCHEMA))
