"""Social grocery: household applications with points and capacity, monthly distributions."""

from __future__ import annotations

import heapq
from datetime import date
from typing import Any

import numpy as np
import polars as pl

from synthetic.model import SG_DISTRIBUTIONS_SCHEMA, SG_HOUSEHOLDS_SCHEMA
from synthetic.services_common import (
    NEVER,
    Ctx,
    add_months,
    date_series,
    day_number,
    demand_weights,
    orthodox_easter,
    sample_in_windows,
    str_series,
    weighted_sample_without_replacement,
    window_exposure,
    years_to_days,
)

_DECIDE, _APPLY = 0, 1


def simulate_social_grocery(ctx: Ctx) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(sg_households, sg_distributions)."""
    r = ctx.rates["social_grocery"]
    applicant = _applicants(ctx)
    points = household_points(ctx, r)
    apps = _initial_applications(ctx, r, applicant)
    rows = _decide(ctx, r, apps, applicant, points)
    households = _households_frame(ctx, rows, applicant, points)
    distributions = _distributions(ctx, r, rows, applicant)
    return households, distributions


def _applicants(ctx: Ctx) -> np.ndarray:
    """For each household, the person row of its applicant (a random adult), or -1."""
    P, cal, rng = ctx.people, ctx.cal, ctx.rng
    adult = (P.birth + years_to_days(18) <= cal.start) & (P.death > cal.start)
    key = rng.random(P.n) + np.where(adult, 0.0, 10.0)
    order = np.lexsort((key, P.hh))  # by household, adults first in random order
    first = np.ones(len(order), bool)
    first[1:] = P.hh[order][1:] != P.hh[order][:-1]
    out = np.full(len(P.household_id), -1, dtype=np.int64)
    heads = order[first]
    heads = heads[adult[heads]]
    out[P.hh[heads]] = heads
    return out


def household_points(ctx: Ctx, r: dict[str, Any]) -> np.ndarray:
    """Eligibility points of every household (the grocery's scoring rule, see rates)."""
    P = ctx.people
    pr = r["points"]
    size, minors = P.hh_size, P.hh_minors
    adults = np.maximum(size - minors, 1)
    eq = 1.0 + 0.5 * (adults - 1) + 0.3 * minors  # OECD modified scale
    inc_eq = P.hh_income / eq
    pts = np.zeros(len(size), dtype=np.int64)
    assigned = np.zeros(len(size), bool)
    for upper, p in pr["income_bands"]:
        sel = ~assigned & (inc_eq <= float(upper))
        pts[sel] = int(p)
        assigned |= sel
    pts += int(pr["per_member"]) * np.minimum(size, int(pr["max_members_counted"]))
    pts += int(pr["per_minor"]) * minors
    pts += int(pr["per_disabled"]) * P.hh_disabled
    unemp = np.zeros(len(size), bool)
    ltu = np.zeros(len(size), bool)
    np.logical_or.at(unemp, P.hh, P.employment == "unemployed")
    np.logical_or.at(ltu, P.hh, P.employment == "long_term_unemployed")
    pts += np.where(ltu, int(pr["long_term_unemployed"]), np.where(unemp, int(pr["unemployed"]), 0))
    pts += np.where(P.hh_single_parent, int(pr["single_parent"]), 0)
    return pts


def _peaks(ctx: Ctx, r: dict[str, Any]) -> np.ndarray:
    cal = ctx.cal
    f = np.ones(len(cal.days))
    ep = r["easter_peak"]
    cp = r["christmas_peak"]
    for y in np.unique(cal.year):
        e = day_number(orthodox_easter(int(y)))
        sel = (cal.days >= e - int(ep["days_before"])) & (cal.days <= e)
        f[sel] *= float(ep["factor"])
        lo = day_number(date(int(y), int(cp["from"][:2]), int(cp["from"][3:])))
        hi = day_number(date(int(y), int(cp["to"][:2]), int(cp["to"][3:])))
        f[(cal.days >= lo) & (cal.days <= hi)] *= float(cp["factor"])
    return f


def _initial_applications(
    ctx: Ctx, r: dict[str, Any], applicant: np.ndarray
) -> list[tuple[int, int]]:
    """(day, household row) of spontaneous applications and of the opening call."""
    P, cal, rng = ctx.people, ctx.cal, ctx.rng
    rr = r["rate_ratio"]
    unemp = np.zeros(len(P.household_id), bool)
    np.logical_or.at(unemp, P.hh, np.isin(P.employment, ["unemployed", "long_term_unemployed"]))
    w = np.ones(len(P.household_id))
    w *= np.where(P.hh_poor, rr["poor"], 1.0)
    w *= np.where(P.hh_minors > 0, rr["minors"], 1.0)
    w *= np.where(P.hh_disabled > 0, rr["disabled"], 1.0)
    w *= np.where(P.hh_single_parent, rr["single_parent"], 1.0)
    w *= np.where(unemp, rr["unemployed"], 1.0)
    w *= float(r["deprivation_per_sd"]) ** P.deprivation[P.hh_nb]
    w[applicant < 0] = 0.0
    # intensity w_h × day weight while the applicant lives; scaled to the target
    dw = demand_weights(cal, r["seasonality"], r["crisis"], peaks=_peaks(ctx, r))
    lo = np.full(len(w), cal.start, dtype=np.int64)
    hi = np.where(applicant >= 0, np.minimum(P.death[applicant] - 1, cal.end), cal.start - 1)
    expo = w * window_exposure(dw, cal, lo, hi)
    expected = float(r["applications_per_year"]) * ctx.factor * dw.sum()
    lam = expected * expo / max(expo.sum(), 1e-12)
    who = np.flatnonzero(rng.random(len(w)) < -np.expm1(-lam))
    day = sample_in_windows(dw, cal, lo[who], hi[who], rng)
    # the opening call fills the register when the period opens
    k = int(round(float(r["opening_call"]) * ctx.capacity["sg_main"]))
    call = weighted_sample_without_replacement(w, k, rng)
    window = cal.days[(cal.days < cal.start + int(r["opening_call_days"])) & cal.working]
    call_day = rng.choice(window, size=len(call))
    days = np.concatenate([call_day, day])
    hhs = np.concatenate([call, who])
    return list(zip(days.tolist(), hhs.tolist(), strict=True))


def _decide(
    ctx: Ctx,
    r: dict[str, Any],
    apps: list[tuple[int, int]],
    applicant: np.ndarray,
    points: np.ndarray,
) -> dict[str, np.ndarray]:
    """Process applications and decisions in time order under the capacity limit."""
    P, cal, rng = ctx.people, ctx.cal, ctx.rng
    cap = ctx.capacity["sg_main"]
    thr = int(r["points"]["threshold"])
    lo, hi = (int(x) for x in r["decision_days"])
    months = [int(m) for m in r["membership_months"]]
    month_p = np.asarray(list(r["membership_months"].values()), dtype=float)
    month_p /= month_p.sum()
    ra_lo, ra_hi = (int(x) for x in r["reapply_lag_days"])
    rp_lo, rp_hi = (int(x) for x in r["reapply_pending_lag_days"])
    death = P.death

    heap: list[tuple[int, int, int, int]] = []
    seq = 0
    for d, h in apps:
        heap.append((d, _APPLY, seq, h))
        seq += 1
    heapq.heapify(heap)
    in_process = np.zeros(len(P.household_id), bool)
    member_until = np.full(len(P.household_id), -1, dtype=np.int64)
    member_row = np.full(len(P.household_id), -1, dtype=np.int64)
    renewal = int(r["renewal_window_days"])
    active_ends: list[int] = []
    rec_h: list[int] = []
    rec_applied: list[int] = []
    rec_decision: list[str] = []
    rec_decided: list[int] = []
    rec_end: list[int] = []
    rec_until: list[int] = []  # when goods stop: end, applicant's death, or a renewal
    while heap:
        d, kind, _, x = heapq.heappop(heap)
        if kind == _APPLY:
            h = x
            # a member may apply for renewal in the last weeks of the membership
            if d > cal.end or in_process[h] or member_until[h] > d + renewal:
                continue
            a = int(applicant[h])
            dec = int(cal.next_working(d + int(rng.integers(lo, hi + 1))))
            if death[a] <= min(dec, cal.end):
                continue
            rec_h.append(h)
            rec_applied.append(d)
            rec_decision.append("pending")
            rec_decided.append(int(NEVER))
            rec_end.append(int(NEVER))
            rec_until.append(int(NEVER))
            in_process[h] = True
            heapq.heappush(heap, (dec, _DECIDE, seq, len(rec_h) - 1))
            seq += 1
            continue
        i = x
        h = rec_h[i]
        in_process[h] = False
        if d > cal.end:
            continue  # undecided within the period: pending, without a decision date
        rec_decided[i] = d
        if points[h] < thr:
            rec_decision[i] = "rejected"
            continue
        while active_ends and active_ends[0] <= d:
            heapq.heappop(active_ends)
        renewing = member_until[h] > d  # its own place passes to the renewed membership
        if len(active_ends) - int(renewing) < cap:
            rec_decision[i] = "approved"
            end_on = add_months(d, months[int(rng.choice(len(months), p=month_p))])
            rec_end[i] = end_on
            until = min(end_on, int(death[applicant[h]]))
            heapq.heappush(active_ends, until)
            if renewing:
                rec_until[member_row[h]] = d
            rec_until[i] = until
            member_until[h] = until
            member_row[h] = i
            if rng.random() < float(r["reapply_after_expiry"]):
                heapq.heappush(heap, (end_on + int(rng.integers(ra_lo, ra_hi + 1)), _APPLY, seq, h))
                seq += 1
        else:
            rec_decision[i] = "pending"  # waiting list
            if rng.random() < float(r["reapply_after_pending"]):
                heapq.heappush(heap, (d + int(rng.integers(rp_lo, rp_hi + 1)), _APPLY, seq, h))
                seq += 1
    return {
        "hh": np.asarray(rec_h, dtype=np.int64),
        "applied": np.asarray(rec_applied, dtype=np.int64),
        "decision": np.asarray(rec_decision, dtype=object),
        "decided": np.asarray(rec_decided, dtype=np.int64),
        "end": np.asarray(rec_end, dtype=np.int64),
        "until": np.asarray(rec_until, dtype=np.int64),
    }


def _registry_numbers(ctx: Ctx, rows: dict[str, np.ndarray]) -> np.ndarray:
    """A household keeps the register number given at its first application: "ΚΠ-00042"."""
    order = np.lexsort((rows["hh"], rows["applied"]))
    first_seen: dict[int, int] = {}
    for i in order:
        first_seen.setdefault(int(rows["hh"][i]), len(first_seen) + 1)
    return np.array([f"ΚΠ-{first_seen[int(h)]:05d}" for h in rows["hh"]], dtype=object)


def _households_frame(
    ctx: Ctx, rows: dict[str, np.ndarray], applicant: np.ndarray, points: np.ndarray
) -> pl.DataFrame:
    P = ctx.people
    h = rows["hh"]
    rows["registry_no"] = _registry_numbers(ctx, rows)
    df = pl.DataFrame(
        {
            "registry_no": str_series(rows["registry_no"]),
            "person_id": pl.Series(P.person_id[applicant[h]], dtype=pl.Int64),
            "household_id": pl.Series(P.household_id[h], dtype=pl.Int64),
            "applied_on": date_series("applied_on", rows["applied"]),
            "members": pl.Series(P.hh_size[h], dtype=pl.Int64),
            "minors": pl.Series(P.hh_minors[h], dtype=pl.Int64),
            "disabled_members": pl.Series(P.hh_disabled[h], dtype=pl.Int64),
            "annual_income_eur": pl.Series(np.round(P.hh_income[h], 2), dtype=pl.Float64),
            "points": pl.Series(points[h], dtype=pl.Int64),
            "decision": str_series(rows["decision"]),
            "decision_on": date_series("decision_on", rows["decided"]),
            "membership_end_on": date_series("membership_end_on", rows["end"]),
        }
    )
    return df.sort(["applied_on", "registry_no"], maintain_order=True).select(
        list(SG_HOUSEHOLDS_SCHEMA)
    )


def _youngest_two(ctx: Ctx) -> tuple[np.ndarray, np.ndarray]:
    """Birth days of the youngest and second-youngest member of each household."""
    P = ctx.people
    order = np.lexsort((-P.birth, P.hh))
    hh_sorted = P.hh[order]
    start = np.searchsorted(hh_sorted, np.arange(len(P.household_id)))
    end = np.searchsorted(hh_sorted, np.arange(len(P.household_id)), side="right")
    b1 = np.full(len(P.household_id), -int(NEVER), dtype=np.int64)
    b2 = b1.copy()
    has1 = end > start
    b1[has1] = P.birth[order[start[has1]]]
    has2 = end > start + 1
    b2[has2] = P.birth[order[start[has2] + 1]]
    return b1, b2


def _distributions(
    ctx: Ctx, r: dict[str, Any], rows: dict[str, np.ndarray], applicant: np.ndarray
) -> pl.DataFrame:
    P, cal, rng = ctx.people, ctx.cal, ctx.rng
    appr = np.flatnonzero(rows["decision"] == "approved")
    h = rows["hh"][appr]
    reg_no = rows["registry_no"][appr]
    start = rows["decided"][appr]
    stop = np.minimum(rows["until"][appr], cal.end + 1)
    # two distribution days a month; each household collects on one of them
    slot_days = np.stack(
        [cal.next_working(cal.month_starts + int(dd) - 1) for dd in r["distribution_days"]],
        axis=1,
    )
    slot = np.array([int(x[3:]) % slot_days.shape[1] for x in reg_no], dtype=np.int64)
    m0 = cal.month_of(start)
    m1 = cal.month_of(np.maximum(stop - 1, start))
    n_m = m1 - m0 + 1
    k = np.repeat(np.arange(len(appr)), n_m)
    offset = np.arange(len(k)) - np.repeat(np.cumsum(n_m) - n_m, n_m)
    m = m0[k] + offset
    day = slot_days[m, slot[k]]
    ok = (day >= start[k]) & (day < stop[k]) & (day <= cal.end)
    k, day, offset = k[ok], day[ok], offset[ok]
    size = P.hh_size[h][k]

    parts: list[dict[str, np.ndarray]] = []
    food = r["food"]
    kg = (
        np.round(
            (
                float(food["kg_base"])
                + float(food["kg_per_member"]) * np.minimum(size, 6)
                + rng.normal(0.0, float(food["kg_sd"]), len(k))
            )
            * 2
        )
        / 2
    )
    kg = np.maximum(kg, 3.0)
    value = np.clip(kg * rng.uniform(*food["eur_per_kg"], len(k)), *food["value_range"])
    parts.append(_part(k, day, "food", kg, "kg", value))

    hyg = r["hygiene"]
    sel = offset % int(hyg["every_months"]) == 0
    pieces = np.maximum(
        rng.poisson(float(hyg["pieces_base"]) + float(hyg["pieces_per_member"]) * size[sel]), 2
    ).astype(float)
    parts.append(
        _part(
            k[sel],
            day[sel],
            "hygiene",
            pieces,
            "pieces",
            pieces * rng.uniform(*hyg["eur_per_piece"], int(sel.sum())),
        )
    )

    baby = r["baby"]
    b1, b2 = _youngest_two(ctx)
    lim = years_to_days(float(baby["max_age_years"]))
    hk = h[k]

    def infant(b: np.ndarray) -> np.ndarray:
        return (b[hk] <= day) & (day - b[hk] < lim)

    sel = infant(b1) | infant(b2)
    boxes = rng.integers(int(baby["boxes"][0]), int(baby["boxes"][1]) + 1, int(sel.sum()))
    parts.append(
        _part(
            k[sel],
            day[sel],
            "baby",
            boxes.astype(float),
            "boxes",
            boxes * rng.uniform(*baby["eur_per_box"], int(sel.sum())),
        )
    )

    # festive food at Easter and Christmas for households active on the day
    fest = r["festive"]
    fdays = []
    for y in np.unique(cal.year):
        e = day_number(orthodox_easter(int(y)))
        fdays.append(int(cal.next_working(e - int(fest["days_before_easter"]))))
        md = fest["christmas_day"]
        fdays.append(int(cal.prev_working(day_number(date(int(y), int(md[:2]), int(md[3:]))))))
    for fd in fdays:
        if not cal.start <= fd <= cal.end:
            continue
        on = np.flatnonzero((start <= fd) & (stop > fd))
        fkg = rng.integers(int(fest["kg"][0]), int(fest["kg"][1]) + 1, len(on)).astype(float)
        parts.append(
            _part(
                on,
                np.full(len(on), fd),
                "food",
                fkg,
                "kg",
                fkg * rng.uniform(*fest["eur_per_kg"], len(on)),
            )
        )

    kk = np.concatenate([p["k"] for p in parts])
    df = pl.DataFrame(
        {
            "registry_no": str_series(reg_no[kk]),
            "household_id": pl.Series(P.household_id[h[kk]], dtype=pl.Int64),
            "distributed_on": date_series(
                "distributed_on", np.concatenate([p["day"] for p in parts])
            ),
            "category": str_series(np.concatenate([p["cat"] for p in parts])),
            "quantity": pl.Series(np.concatenate([p["q"] for p in parts]), dtype=pl.Float64),
            "unit": str_series(np.concatenate([p["unit"] for p in parts])),
            "value_eur": pl.Series(
                np.round(np.concatenate([p["v"] for p in parts]), 2), dtype=pl.Float64
            ),
        }
    )
    return df.sort(["distributed_on", "registry_no", "category"], maintain_order=True).select(
        list(SG_DISTRIBUTIONS_SCHEMA)
    )


def _part(
    k: np.ndarray, day: np.ndarray, cat: str, q: np.ndarray, unit: str, v: np.ndarray
) -> dict[str, np.ndarray]:
    n = len(k)
    return {
        "k": np.asarray(k, dtype=np.int64),
        "day": np.asarray(day, dtype=np.int64),
        "cat": np.full(n, cat, dtype=object),
        "q": np.asarray(q, dtype=float),
        "unit": np.full(n, unit, dtype=object),
        "v": np.asarray(v, dtype=float),
    }


__all__ = ["simulate_social_grocery", "household_points"]
