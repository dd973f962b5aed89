"""Help at Home: the client register under capacity, home visits, call-centre/web requests."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from synthetic.model import HH_CLIENTS_SCHEMA, HH_REQUESTS_SCHEMA, HH_VISITS_SCHEMA
from synthetic.services_common import (
    NEVER,
    Ctx,
    choose,
    choose_rows,
    date_series,
    str_series,
    uniform_int,
    weekday,
    weighted_sample_without_replacement,
    years_to_days,
)

ROLES = ("family_carer", "nurse", "social_worker")
EXIT_REASONS = ("death", "moved", "institution", "other")


def simulate_home_help(ctx: Ctx) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(hh_clients, hh_visits, hh_requests)."""
    r = ctx.rates["home_help"]
    cl = _clients(ctx, r)
    clients = _clients_frame(ctx, cl)
    visits = _visits(ctx, r, cl)
    requests = _requests(ctx, r, cl)
    return clients, visits, requests


def _propensity(ctx: Ctx, r: dict[str, Any], elig_day: np.ndarray) -> np.ndarray:
    P, cal = ctx.people, ctx.cal
    rr = r["rate_ratio"]
    age = (np.maximum(elig_day, cal.start) - P.birth) / 365.2425
    w = float(r["age_per_decade"]) ** (np.maximum(age - float(r["min_age"]), 0.0) / 10.0)
    w *= np.where(P.lives_alone, rr["lives_alone"], 1.0)
    w *= np.where(P.disability > 0, rr["disability"], 1.0)
    w *= np.where(P.monthly_income() < float(r["low_income_monthly_eur"]), rr["low_income"], 1.0)
    w *= float(r["ageing_per_sd"]) ** P.ageing[P.nb]
    return w


def _exits(
    ctx: Ctx, r: dict[str, Any], row: np.ndarray, t0: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Exit day (NEVER if none in the period) and reason index of clients active from t0."""
    P, cal, rng = ctx.people, ctx.cal, ctx.rng
    hz = r["exit_hazard_per_year"]
    total = float(sum(hz.values()))
    n = len(row)
    if total > 0:
        t = np.ceil(rng.exponential(1.0 / total, n) * 365.2425).astype(np.int64)
        other = cal.next_working(t0 + np.maximum(t, 1))
        reason = np.array([EXIT_REASONS.index(k) for k in hz])[choose(hz, n, rng)]
    else:
        other = np.full(n, NEVER, dtype=np.int64)
        reason = np.full(n, -1, dtype=np.int64)
    death = P.death[row]
    by_death = death <= other
    exit_day = np.where(by_death, death, other)
    reason = np.where(by_death, 0, reason)
    none = exit_day > cal.end
    exit_day[none] = NEVER
    reason[none] = -1
    return exit_day, reason


def _clients(ctx: Ctx, r: dict[str, Any]) -> dict[str, np.ndarray]:
    P, cal, rng = ctx.people, ctx.cal, ctx.rng
    cap = ctx.capacity["hh_units"]
    elig_day = np.where(
        P.disability > 0, P.birth + years_to_days(18), P.birth + years_to_days(r["min_age"])
    )
    cand = P.care_need & (elig_day <= cal.end) & (P.death > cal.start)
    w = np.where(cand, _propensity(ctx, r, elig_day), 0.0)

    # the register at the start: full, enrolled over the previous years
    pool = np.where(elig_day <= cal.start, w, 0.0)
    init = weighted_sample_without_replacement(
        pool, int(round(float(r["initial_fill"]) * cap)), rng
    )
    tenure = years_to_days(rng.uniform(*r["initial_tenure_years"], len(init)))
    enrolled0 = np.maximum(cal.start - tenure, elig_day[init])
    enrolled0 = np.minimum(cal.prev_working(enrolled0), cal.start - 1)
    exit0, reason0 = _exits(ctx, r, init, np.full(len(init), cal.start))

    # applications by the others, uniform over each one's eligible time in the period
    rest = w.copy()
    rest[init] = 0.0
    lo_all = np.maximum(cal.start, elig_day)
    hi_all = np.minimum(cal.end, P.death - 1)
    expo = rest * np.maximum(hi_all - lo_all + 1, 0)  # person-days eligible in the period
    expected = float(r["applications_per_year"]) * ctx.factor * (cal.end - cal.start + 1) / 365.2425
    lam = expected * expo / max(expo.sum(), 1e-12)
    who = np.flatnonzero(rng.random(P.n) < -np.expm1(-lam))
    lo, hi = lo_all[who], hi_all[who]
    applied = lo + np.floor(rng.random(len(who)) * (hi - lo + 1)).astype(np.int64)
    ready = applied + uniform_int(r["processing_days"], len(who), rng)
    order = np.argsort(ready, kind="stable")
    who, ready = who[order], ready[order]

    # month by month: places freed by exits go to the waiting list in order (FIFO)
    rows = [init]
    enrolled = [enrolled0]
    exits = [exit0]
    reasons = [reason0]
    all_enrolled = enrolled0.copy()
    all_exit = exit0.copy()
    waiting = np.ones(len(who), bool)
    for m in range(cal.n_months):
        ms, me = int(cal.month_starts[m]), int(cal.month_ends[m])
        waiting &= P.death[who] > np.maximum(ready, ms)  # died on the waiting list
        active = int(((all_enrolled <= ms) & (all_exit > ms)).sum())
        free = cap - active
        if free <= 0:
            continue
        idx = np.flatnonzero(waiting & (ready <= me))
        day = cal.next_working(np.maximum(ready[idx], ms))
        good = (day <= me) & (day < P.death[who[idx]])
        idx, day = idx[good][:free], day[good][:free]
        if len(idx) == 0:
            continue
        waiting[idx] = False
        ex, rs = _exits(ctx, r, who[idx], day)
        rows.append(who[idx])
        enrolled.append(day)
        exits.append(ex)
        reasons.append(rs)
        all_enrolled = np.concatenate([all_enrolled, day])
        all_exit = np.concatenate([all_exit, ex])
    return {
        "row": np.concatenate(rows),
        "enrolled": np.concatenate(enrolled),
        "exit": np.concatenate(exits),
        "reason": np.concatenate(reasons),
    }


def _clients_frame(ctx: Ctx, cl: dict[str, np.ndarray]) -> pl.DataFrame:
    P = ctx.people
    row = cl["row"]
    reason = np.array(EXIT_REASONS + (None,), dtype=object)[cl["reason"]]
    df = pl.DataFrame(
        {
            "person_id": pl.Series(P.person_id[row], dtype=pl.Int64),
            "enrolled_on": date_series("enrolled_on", cl["enrolled"]),
            "exited_on": date_series("exited_on", cl["exit"]),
            "exit_reason": str_series(reason),
            "lives_alone": pl.Series(P.lives_alone[row], dtype=pl.Boolean),
            "disability_pct": pl.Series(P.disability[row], dtype=pl.Int64),
            "monthly_income_eur": pl.Series(np.round(P.monthly_income()[row], 2), dtype=pl.Float64),
        }
    ).sort(["enrolled_on", "person_id"], maintain_order=True)
    df = df.with_columns(pl.int_range(1, len(df) + 1, dtype=pl.Int64).alias("client_id"))
    return df.select(list(HH_CLIENTS_SCHEMA))


def _visits(ctx: Ctx, r: dict[str, Any], cl: dict[str, np.ndarray]) -> pl.DataFrame:
    P, cal, rng = ctx.people, ctx.cal, ctx.rng
    v = r["visits"]
    a = np.maximum(cl["enrolled"], cal.start)
    b = np.minimum(cl["exit"], cal.end + 1)  # exit day (death day) is not a visit day
    keep = b > a
    row, a, b = cl["row"][keep], a[keep], b[keep]
    n = len(row)

    # family carer: fixed weekday(s) every week
    sess_keys = [int(k) for k in v["carer_weekly_sessions"]]
    sessions = np.array(sess_keys)[choose(v["carer_weekly_sessions"], n, rng)]
    wd1 = rng.integers(0, 5, n)
    c_idx = np.concatenate([np.arange(n), np.flatnonzero(sessions >= 2)])
    c_wd = np.concatenate([wd1, (wd1[sessions >= 2] + 2) % 5])
    if (sessions >= 3).any():
        c_idx = np.concatenate([c_idx, np.flatnonzero(sessions >= 3)])
        c_wd = np.concatenate([c_wd, (wd1[sessions >= 3] + 4) % 5])
    first = a[c_idx] + (c_wd - weekday(a[c_idx])) % 7
    cnt = np.maximum(0, -((first - b[c_idx]) // 7))  # ceil((b - first) / 7)
    ci = np.repeat(c_idx, cnt)
    step = np.arange(len(ci)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    c_day = np.repeat(first, cnt) + 7 * step
    ok = cal.is_working(c_day) & (rng.random(len(ci)) >= float(v["carer_miss_share"]))
    ci, c_day = ci[ok], c_day[ok]

    # nurse and social worker: a Poisson number a month, on a working day
    m0 = cal.month_of(a)
    m1 = cal.month_of(b - 1)
    n_m = m1 - m0 + 1
    k = np.repeat(np.arange(n), n_m)
    m = m0[k] + (np.arange(len(k)) - np.repeat(np.cumsum(n_m) - n_m, n_m))
    lo = np.maximum(cal.month_starts[m], a[k])
    hi = np.minimum(cal.month_ends[m], b[k] - 1)
    age = (cal.month_starts[m] - P.birth[row[k]]) / 365.2425
    high = (P.disability[row[k]] > 0) | (age >= 85)
    nr = v["nurse_per_month"]
    nurse_n = rng.poisson(np.where(high, float(nr["high_need"]), float(nr["base"])))
    sw_n = rng.poisson(float(v["social_worker_per_month"]), len(k))
    out_i, out_day, out_role = [ci], [c_day], [np.zeros(len(ci), np.int64)]
    for role, cnts in ((1, nurse_n), (2, sw_n)):
        kk = np.repeat(k, cnts)
        span = np.repeat(hi - lo + 1, cnts)
        d = np.repeat(lo, cnts) + np.floor(rng.random(len(kk)) * span).astype(np.int64)
        d = cal.next_working(d)
        good = d < b[kk]
        out_i.append(kk[good])
        out_day.append(d[good])
        out_role.append(np.full(int(good.sum()), role))
    vi = np.concatenate(out_i)
    day = np.concatenate(out_day)
    role = np.concatenate(out_role)
    nv = len(vi)

    # service type by role (supplies up in the crisis months), duration by role
    crisis_from = np.datetime64(v["crisis"]["from"]).astype(np.int64)
    crisis_to = np.datetime64(v["crisis"]["to"]).astype(np.int64)
    crisis = (day >= crisis_from) & (day <= crisis_to)
    types = np.empty(nv, dtype=object)
    minutes = np.empty(nv, dtype=np.int64)
    for j, name in enumerate(ROLES):
        sel = np.flatnonzero(role == j)
        st = v["service_types"][name]
        names = list(st)
        w = np.tile(np.asarray(list(st.values()), dtype=float), (len(sel), 1))
        if "supply_delivery" in names:
            w[crisis[sel], names.index("supply_delivery")] *= float(v["crisis_supply_factor"])
        types[sel] = np.array(names, dtype=object)[choose_rows(w, rng)]
        lo_m, mode, hi_m = (float(x) for x in v["duration_minutes"][name])
        dur = np.round(rng.triangular(lo_m, mode, hi_m, len(sel)) / 5.0) * 5
        minutes[sel] = np.clip(dur, 30, 180).astype(np.int64)
    df = pl.DataFrame(
        {
            "person_id": pl.Series(P.person_id[row[vi]], dtype=pl.Int64),
            "visit_on": date_series("visit_on", day),
            "staff_role": str_series(np.array(ROLES)[role]),
            "service_type": str_series(types),
            "duration_minutes": pl.Series(minutes, dtype=pl.Int64),
        }
    )
    return df.sort(["visit_on", "person_id", "staff_role"], maintain_order=True).select(
        list(HH_VISITS_SCHEMA)
    )


def _requests(ctx: Ctx, r: dict[str, Any], cl: dict[str, np.ndarray]) -> pl.DataFrame:
    P, cal, rng = ctx.people, ctx.cal, ctx.rng
    q = r["requests"]
    needs = list(q["need_types"])
    share = np.asarray(list(q["need_types"].values()), dtype=float)
    share /= share.sum()
    per_day = float(q["per_month"]) * 12.0 / 365.2425 * ctx.factor
    lam = np.tile(per_day * share, (len(cal.days), 1))
    for p in q.get("crisis") or []:
        inside = (cal.days >= np.datetime64(p["from"]).astype(np.int64)) & (
            cal.days <= np.datetime64(p["to"]).astype(np.int64)
        )
        for need, f in p["factor"].items():
            lam[inside, needs.index(need)] *= float(f)
    cnt = rng.poisson(lam)
    day = np.repeat(np.repeat(cal.days, len(needs)), cnt.ravel())
    need = np.repeat(np.tile(np.arange(len(needs)), len(cal.days)), cnt.ravel())
    channels = list(q["channels"])
    ch = choose(q["channels"], len(day), rng)
    office = np.array([c != "web" for c in channels])[ch]
    day = np.where(office, cal.next_working(day), day)  # phone and desk work on working days
    ok = day <= cal.end
    day, need, ch, office = day[ok], need[ok], ch[ok], office[ok]
    n = len(day)

    # who: the elderly, disabled people and clients mostly; alive in the month
    mid = (cal.start + cal.end) // 2
    pw = q["person_weight"]
    age = (mid - P.birth) / 365.2425
    client = np.zeros(P.n, bool)
    client[cl["row"]] = True
    w = (
        float(pw["age_65"]) * (age >= 65)
        + float(pw["disability"]) * (P.disability > 0)
        + float(pw["client"]) * client
    )
    w = np.where(w > 0, w, float(pw["other_adult"]) * (age >= 18))
    w = w * np.where(P.lives_alone, float(pw["lives_alone"]), 1.0)
    person = np.full(n, -1, dtype=np.int64)
    month = cal.month_of(day)
    for m in np.unique(month):
        sel = np.flatnonzero(month == m)
        alive = (P.death > cal.month_ends[m]) & (P.birth < cal.month_starts[m])
        pm = w * alive
        if pm.sum() <= 0:
            continue
        cdf = np.cumsum(pm)
        person[sel] = np.searchsorted(cdf, rng.random(len(sel)) * cdf[-1], side="right")
    ok = person >= 0
    day, need, ch, office, person = day[ok], need[ok], ch[ok], office[ok], person[ok]
    n = len(day)

    # time of day by channel
    ph_lo, ph_hi = (int(t[:2]) * 60 + int(t[3:]) for t in q["phone_hours"])
    minute = np.empty(n, dtype=np.int64)
    chn = np.array(channels)[ch]
    for name, (lo, mode, hi) in {
        "phone": (ph_lo, ph_lo + 120, ph_hi),
        "web": (0, 11 * 60, 24 * 60),
        "in_person": (8 * 60, 10 * 60, 15 * 60),
    }.items():
        sel = chn == name
        minute[sel] = np.floor(rng.triangular(lo, mode, hi, int(sel.sum()))).astype(np.int64)
    minute = np.clip(minute, 0, 24 * 60 - 1)
    seconds = rng.integers(0, 60, n)
    at_us = (day * 86400 + minute * 60 + seconds) * 1_000_000

    amka_p = np.array([float(q["amka_given"][c]) for c in channels])[ch]
    amka_given = (rng.random(n) < amka_p) & P.has_amka[person]

    statuses = list(q["status"])
    status = np.array(statuses, dtype=object)[choose(q["status"], n, rng)]
    fd = q["fulfil_days"]
    lag = np.round(rng.lognormal(np.log(float(fd["median"])), float(fd["sigma"]), n))
    lag = np.clip(lag, 0, int(fd["max"])).astype(np.int64)
    closed = np.where(
        status == "fulfilled",
        day + lag,
        np.where(status == "rejected", day + uniform_int(q["reject_days"], n, rng), NEVER),
    )
    late = (closed < NEVER) & ((closed > cal.end) | (closed >= P.death[person]))
    status[late] = "in_progress"  # not resolved within the simulated world
    closed[late] = NEVER
    fulfilled = status == "fulfilled"

    df = pl.DataFrame(
        {
            "requested_at": pl.Series(at_us.astype("datetime64[us]"), dtype=pl.Datetime("us")),
            "channel": str_series(chn),
            "person_id": pl.Series(P.person_id[person], dtype=pl.Int64),
            "amka_given": pl.Series(amka_given, dtype=pl.Boolean),
            "need_type": str_series(np.array(needs)[need]),
            "status": str_series(status),
            "fulfilled_on": date_series("fulfilled_on", closed, fulfilled),
            "closed_on": date_series("closed_on", closed),
        }
    ).sort(["requested_at", "person_id"], maintain_order=True)
    year = pl.col("requested_at").dt.year()
    df = df.with_columns(
        pl.format(
            "{}-{}",
            year.cast(pl.String),
            (pl.int_range(1, pl.len() + 1).over(year)).cast(pl.String).str.zfill(5),
        ).alias("request_no")
    )
    return df.select(list(HH_REQUESTS_SCHEMA))
