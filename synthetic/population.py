"""People and households of the synthetic municipality.

`build_population(geo, cfg, rng) -> Population` (HOUSEHOLDS_SCHEMA, PERSONS_SCHEMA of
synthetic.model). Every rate comes from `cfg.rates["population"]` (synthetic/config/rates.yaml,
each with its source); every draw from `rng`. Everything is vectorised with numpy (loops only over
household types, name groups and simulated years), so Heraklion's 174,000 residents build in a
couple of seconds.

How the world is made
1. Residents per neighbourhood = floor(population_2011 × scale.population_factor + 0.5)
   (`POPULATION_FIGURE`, `residents_per_neighbourhood`): the count of persons per neighbourhood
   is exactly that.
2. A few of them are homeless (119 counted in Heraklion, 2018): one-person households with no
   address (street_id null), more in deprived neighbourhoods.
3. The rest live in households of a group (Greek, Roma, migrant — the group shares are the
   neighbourhood's roma_share and migrant_share, counted in persons) and a type (one person
   elderly, one person adult, couple without / with children, single parent, extended), whose
   weights are tilted by the neighbourhood's latent_ageing and latent_deprivation. Households are
   drawn until the neighbourhood is full; the last one is cut to fit.
4. Ages come from the age × sex table (`synthetic/data/age_structure.csv`, a documented stand-in),
   restricted to the range each role allows (a mother is 17-45 years older than her children, a
   grandparent 18+ years older than the parents, …), by inverse-CDF sampling with per-person
   bounds. Because the roles' ranges overlap unevenly, a few trial draws on a side stream first
   rescale the table's weights by band × sex so that the whole population reproduces the table
   (total variation distance ≈ 0.03 at Heraklion's size).
5. Citizenship, refugee status, disability, education, employment, poverty (a household score
   ranked to the AROPE share), income (lognormal, poor households below the poverty line of the
   OECD-modified scale), care need, death during the simulation, names, ΑΜΚΑ / ΑΦΜ / phone, and
   the address (a gazetteer segment of the neighbourhood, a number in its range, the postcode).

The age table is a stand-in: no official Heraklion table by five-year band was reachable. A
municipality replaces `synthetic/data/age_structure.csv` (columns age_band, sex, persons; the 19
bands of `AGE_BANDS`, sexes M/F) with ELSTAT's census table A01 for its area, or points
`population.age_structure` in rates.yaml at its own file (a path relative to synthetic/data/ or
absolute).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from scipy.special import expit, ndtr, ndtri

from synthetic import identifiers, names
from synthetic.config import GeneratorConfig
from synthetic.model import (
    HOUSEHOLDS_SCHEMA,
    PERSONS_SCHEMA,
    Geography,
    Population,
    check_schema,
)

DATA_DIR = Path(__file__).parent / "data"

# The areas column that sets how many residents each neighbourhood has (× population_factor).
POPULATION_FIGURE = "population_2011"

AGE_BANDS: tuple[str, ...] = tuple(f"{a}-{a + 4}" for a in range(0, 90, 5)) + ("90+",)
MAX_AGE = 104  # ages 90+ are spread over 90..104

HOUSEHOLD_TYPES: tuple[str, ...] = (
    "one_person_elderly",
    "one_person_adult",
    "couple_no_children",
    "couple_with_children",
    "single_parent",
    "extended",
)
GROUPS: tuple[str, ...] = ("greek", "roma", "migrant")
T_OPE, T_OPA, T_CNC, T_CWC, T_SP, T_EXT, T_HOMELESS = range(7)
R_SINGLE, R_HUSBAND, R_WIFE, R_LONE_PARENT, R_CHILD, R_GRAND, R_HOMELESS = range(7)

EDUCATION: tuple[str, ...] = ("none", "primary", "lower_secondary", "upper_secondary", "tertiary")
EU_CODES = frozenset({"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "HR",
                      "HU", "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE",
                      "SI", "SK"})  # fmt: skip


# --- public helpers ------------------------------------------------------------------------------


def residents_per_neighbourhood(areas: pl.DataFrame, population_factor: float) -> np.ndarray:
    """Simulated residents per neighbourhood (areas order): floor(pop_2011 × factor + 0.5)."""
    pop = areas[POPULATION_FIGURE].to_numpy().astype(np.float64)
    return np.floor(pop * population_factor + 0.5).astype(np.int64)


def load_age_structure(path: Path | str | None = None) -> pl.DataFrame:
    """The age × sex table: age_band (AGE_BANDS), sex (M/F), persons."""
    p = Path(path) if path is not None else Path("age_structure.csv")
    if not p.is_absolute():
        p = DATA_DIR / p
    df = pl.read_csv(p, schema_overrides={"persons": pl.Float64})
    got = set(zip(df["age_band"].to_list(), df["sex"].to_list(), strict=True))
    want = {(b, s) for b in AGE_BANDS for s in ("M", "F")}
    if got != want or df.height != len(want):
        raise ValueError(f"{p}: need one row per age band {AGE_BANDS} and sex M/F")
    return df.select("age_band", "sex", "persons")


def single_year_weights(table: pl.DataFrame) -> np.ndarray:
    """(2, MAX_AGE+1) persons by single year of age, row 0 men, row 1 women.

    Each five-year band is spread evenly over its years; 90+ over 90..MAX_AGE with a geometric
    decline (ratio 0.72 a year).
    """
    tail = 0.72 ** np.arange(MAX_AGE - 90 + 1)
    tail /= tail.sum()
    out = np.zeros((2, MAX_AGE + 1))
    lookup = {
        (b, s): v for b, s, v in zip(table["age_band"], table["sex"], table["persons"], strict=True)
    }
    for si, s in enumerate(("M", "F")):
        for bi, b in enumerate(AGE_BANDS):
            v = lookup[(b, s)]
            if b == "90+":
                out[si, 90:] = v * tail
            else:
                out[si, 5 * bi : 5 * bi + 5] = v / 5.0
    return out


def band_index(age: np.ndarray) -> np.ndarray:
    """Index into AGE_BANDS of each age (years)."""
    return np.minimum(np.asarray(age) // 5, len(AGE_BANDS) - 1)


# --- sampling helpers ----------------------------------------------------------------------------


class _AgeSampler:
    """Ages (and sexes) from the single-year table, restricted to per-person [lo, hi]."""

    def __init__(self, weights: np.ndarray) -> None:
        self.w = weights
        self.cum = np.cumsum(weights, axis=1)  # persons up to and including each age
        self.cum0 = np.concatenate([np.zeros((2, 1)), self.cum], axis=1)  # up to age-1

    def _mass(self, sex: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        return self.cum0[sex, hi + 1] - self.cum0[sex, lo]

    def age(
        self, is_female: np.ndarray, lo: np.ndarray, hi: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        sex = np.asarray(is_female, dtype=np.int64)
        lo = np.clip(np.asarray(lo, dtype=np.int64), 0, MAX_AGE)
        hi = np.clip(np.maximum(np.asarray(hi, dtype=np.int64), lo), 0, MAX_AGE)
        a, b = self.cum0[sex, lo], self.cum0[sex, hi + 1]
        u = a + rng.random(sex.size) * (b - a)
        out = np.empty(sex.size, dtype=np.int64)
        for s in (0, 1):
            m = sex == s
            out[m] = np.searchsorted(self.cum[s], u[m], side="right")
        return np.clip(out, lo, hi)

    def sex_and_age(
        self, lo: np.ndarray, hi: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Sex (True = female) in proportion to the table's mass in [lo, hi], then the age."""
        lo = np.clip(np.asarray(lo, dtype=np.int64), 0, MAX_AGE)
        hi = np.clip(np.maximum(np.asarray(hi, dtype=np.int64), lo), 0, MAX_AGE)
        m_mass = self._mass(np.zeros(lo.size, np.int64), lo, hi)
        f_mass = self._mass(np.ones(lo.size, np.int64), lo, hi)
        female = rng.random(lo.size) * (m_mass + f_mass) >= m_mass
        return female, self.age(female, lo, hi, rng)


def _categorical(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One draw per row of a (n, k) probability matrix (rows need not be normalised)."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(probs.shape[0]) * cum[:, -1]
    return np.minimum((cum <= u[:, None]).sum(axis=1), probs.shape[1] - 1)


def _calibrate_intercept(
    linear: np.ndarray, target: float, weights: np.ndarray | None = None
) -> float:
    """a such that the (weighted) mean of expit(a + linear) equals target (bisection)."""
    if linear.size == 0:
        return 0.0
    lo, hi = -30.0, 30.0
    w = np.ones_like(linear) if weights is None else weights
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if np.average(expit(mid + linear), weights=w) < target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _step_lookup(table: list[list[Any]], age: np.ndarray) -> np.ndarray:
    """Row index of a [[age_from, value], …] table for each age (ages below the first → 0)."""
    starts = np.array([row[0] for row in table])
    return np.clip(np.searchsorted(starts, age, side="right") - 1, 0, len(table) - 1)


def _years_before(start: date, years: int) -> date:
    try:
        return start.replace(year=start.year - years)
    except ValueError:  # 29 February
        return start.replace(year=start.year - years, day=28)


def _epoch_days(d: date) -> int:
    return (d - date(1970, 1, 1)).days


# --- households ----------------------------------------------------------------------------------


def _children_probs(spec: list[float]) -> np.ndarray:
    p = np.asarray(spec, dtype=float)
    return p / p.sum()


def _type_probs(hr: dict[str, Any], ageing: np.ndarray, dep: np.ndarray) -> np.ndarray:
    """(groups, neighbourhoods, types) household-type probabilities."""
    at = np.array([hr["ageing_tilt"][t] for t in HOUSEHOLD_TYPES])
    dt = np.array([hr["deprivation_tilt"][t] for t in HOUSEHOLD_TYPES])
    tilt = np.exp(ageing[:, None] * at[None, :] + dep[:, None] * dt[None, :])  # (K, T)
    out = []
    for g in GROUPS:
        base = np.array([hr["type_weights"][g][t] for t in HOUSEHOLD_TYPES])
        w = base[None, :] * tilt
        out.append(w / w.sum(axis=1, keepdims=True))
    return np.stack(out)


def _expected_sizes(hr: dict[str, Any]) -> np.ndarray:
    """(groups, types) expected household size."""
    p2 = hr["extended_two_grandparents"]
    out = np.zeros((len(GROUPS), len(HOUSEHOLD_TYPES)))
    for gi, g in enumerate(GROUPS):
        ch = hr["children"][g]
        e = {k: float(np.dot(np.arange(1, len(v) + 1), _children_probs(v))) for k, v in ch.items()}
        out[gi] = [1, 1, 2, 2 + e["couple_with_children"], 1 + e["single_parent"],
                   2 + e["extended"] + 1 + p2]  # fmt: skip
    return out


def _draw_candidates(
    counts: np.ndarray,
    group_p: np.ndarray,
    type_p: np.ndarray,
    hr: dict[str, Any],
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """counts[k] candidate households in neighbourhood k (sorted by neighbourhood)."""
    nb = np.repeat(np.arange(counts.size), counts)
    n = nb.size
    group = _categorical(rng, group_p[nb])
    htype = _categorical(rng, type_p[group, nb])
    n_child = np.zeros(n, dtype=np.int64)
    for gi, g in enumerate(GROUPS):
        for t_code, t_name in ((T_CWC, "couple_with_children"), (T_SP, "single_parent"),
                               (T_EXT, "extended")):  # fmt: skip
            m = (group == gi) & (htype == t_code)
            p = _children_probs(hr["children"][g][t_name])
            n_child[m] = 1 + rng.choice(p.size, size=int(m.sum()), p=p)
    n_grand = np.where(
        htype == T_EXT, 1 + (rng.random(n) < hr["extended_two_grandparents"]), 0
    ).astype(np.int64)
    # adults listed before the children: 1 for one-person and single-parent households, else 2
    n_front = np.where((htype <= T_OPA) | (htype == T_SP), 1, 2).astype(np.int64)
    size = n_front + n_child + n_grand
    return {"nb": nb, "group": group, "type": htype, "n_child": n_child, "n_grand": n_grand,
            "n_front": n_front, "size": size}  # fmt: skip


def _fill_neighbourhoods(
    n_reg: np.ndarray,
    group_p: np.ndarray,
    type_p: np.ndarray,
    mean_size: np.ndarray,
    hr: dict[str, Any],
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Draw households until each neighbourhood holds exactly n_reg[k] people (last one cut)."""
    parts: list[dict[str, np.ndarray]] = []
    have = np.zeros(n_reg.size, dtype=np.int64)
    for _ in range(100):
        deficit = np.maximum(n_reg - have, 0)
        if not deficit.any():
            break
        counts = np.where(deficit > 0, np.ceil(deficit / mean_size * 1.1).astype(np.int64) + 8, 0)
        c = _draw_candidates(counts, group_p, type_p, hr, rng)
        parts.append(c)
        have += np.bincount(c["nb"], weights=c["size"], minlength=n_reg.size).astype(np.int64)
    else:  # pragma: no cover
        raise RuntimeError("could not fill the neighbourhoods")
    cand = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    order = np.argsort(cand["nb"], kind="stable")
    cand = {k: v[order] for k, v in cand.items()}
    nb, size = cand["nb"], cand["size"]
    csum = np.cumsum(size)
    first = np.searchsorted(nb, np.arange(n_reg.size), side="left")
    base = np.r_[0, csum][first]  # people before each neighbourhood's first candidate
    before = csum - size - base[nb]
    keep = before < n_reg[nb]
    cand = {k: v[keep] for k, v in cand.items()}
    before = before[keep]
    new_size = np.minimum(cand["size"], n_reg[cand["nb"]] - before)
    # cut from the end: grandparents, then children, then the partner
    front = np.minimum(cand["n_front"], new_size)
    child = np.clip(new_size - front, 0, cand["n_child"])
    grand = np.clip(new_size - front - child, 0, cand["n_grand"])
    htype = cand["type"].copy()
    htype[(new_size == 1) & (htype > T_OPA)] = T_OPA
    htype[(htype == T_EXT) & (grand == 0)] = T_CWC
    htype[(htype == T_CWC) & (child == 0)] = T_CNC
    cand.update(size=new_size, n_front=front, n_child=child, n_grand=grand, type=htype)
    return cand


@dataclass(frozen=True)
class _AgeContext:
    hh: dict[str, np.ndarray]
    hidx: np.ndarray
    slot: np.ndarray
    role: np.ndarray
    ageing: np.ndarray
    hr: dict[str, Any]
    hl: dict[str, Any]


def _assign_ages(
    ctx: _AgeContext, sampler: _AgeSampler, child_sampler: _AgeSampler, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Age (years on the start date) and sex (True = female) of every person, by role."""
    hh, hidx, slot, role, ageing, hr, hl = (ctx.hh, ctx.hidx, ctx.slot, ctx.role, ctx.ageing,
                                            ctx.hr, ctx.hl)  # fmt: skip
    htype = hh["type"]
    H, N = htype.size, hidx.size
    is_hl_h = htype == T_HOMELESS
    front, nchild = hh["n_front"][hidx], hh["n_child"][hidx]
    h_age = np.zeros(H, np.int64)  # head (husband / single / lone parent / homeless)
    h_fem = np.zeros(H, bool)
    w_age = np.full(H, -1, np.int64)  # wife
    ha = hr["husband_minus_wife_age"]

    m = htype == T_OPE
    h_fem[m] = rng.random(m.sum()) < hr["one_person_elderly_female"]
    h_age[m] = sampler.age(h_fem[m], np.full(m.sum(), 65), np.full(m.sum(), MAX_AGE), rng)
    m = htype == T_OPA
    h_fem[m] = rng.random(m.sum()) >= hr["one_person_adult_male"]
    h_age[m] = sampler.age(h_fem[m], np.full(m.sum(), 18), np.full(m.sum(), 64), rng)
    m = is_hl_h
    lo_hl, hi_hl = hl["age_range"]
    h_fem[m] = rng.random(m.sum()) >= hl["male_share"]
    h_age[m] = sampler.age(h_fem[m], np.full(m.sum(), lo_hl), np.full(m.sum(), hi_hl), rng)
    # childless couples: the husband first, elderly or not
    m = htype == T_CNC
    k = int(m.sum())
    old = rng.random(k) < expit(
        hr["childless_couple_elderly_logit"]
        + hr["childless_couple_elderly_ageing_tilt"] * ageing[hh["nb"][m]]
    )
    h_age[m] = sampler.age(np.zeros(k, bool), np.where(old, 65, 25), np.where(old, MAX_AGE, 64),
                           rng)  # fmt: skip
    w_age[m] = sampler.age(np.ones(k, bool), np.maximum(h_age[m] - ha[1], 18),
                           h_age[m] - ha[0], rng)  # fmt: skip
    # couples with children and extended households: the mother first
    m = (htype == T_CWC) | (htype == T_EXT)
    k = int(m.sum())
    w_age[m] = sampler.age(np.ones(k, bool), np.full(k, 24), np.full(k, 64), rng)
    h_age[m] = sampler.age(np.zeros(k, bool), np.maximum(w_age[m] + ha[0], 20),
                           np.minimum(w_age[m] + ha[1], 79), rng)  # fmt: skip
    m = htype == T_SP
    k = int(m.sum())
    h_fem[m] = rng.random(k) < hr["single_parent_female"]
    h_age[m] = sampler.age(h_fem[m], np.full(k, 22), np.full(k, 64), rng)
    parent_age = np.where(w_age >= 0, w_age, h_age)  # whose age bounds the children's
    lo_birth, hi_birth = hr["mother_age_at_birth"]

    age = np.zeros(N, np.int64)
    female = np.zeros(N, bool)
    is_head = slot == 0
    age[is_head] = h_age[hidx[is_head]]
    female[is_head] = h_fem[hidx[is_head]]
    m = role == R_WIFE
    age[m] = w_age[hidx[m]]
    female[m] = True
    m = role == R_CHILD
    pa = parent_age[hidx[m]]
    female[m], age[m] = child_sampler.sex_and_age(
        np.maximum(pa - hi_birth, 0), np.minimum(pa - lo_birth, hr["max_child_age"]), rng
    )
    m = role == R_GRAND
    oldest_parent = np.maximum(h_age, w_age)[hidx[m]]
    two = hh["n_grand"][hidx[m]] == 2
    first_grand = slot[m] == (front + nchild)[m]
    g_fem = np.where(two, ~first_grand, rng.random(m.sum()) < hr["lone_grandparent_female"])
    female[m] = g_fem
    age[m] = sampler.age(g_fem, np.maximum(60, oldest_parent + lo_birth + 1),
                         np.full(m.sum(), MAX_AGE), rng)  # fmt: skip
    return age, female


# --- the build -----------------------------------------------------------------------------------


def build_population(
    geo: Geography,
    cfg: GeneratorConfig,
    rng: np.random.Generator,
    *,
    amka_partition: tuple[int, int] = (0, 1),
    afm_exclude: np.ndarray | None = None,
) -> Population:
    """Households and persons of the municipality (see the module docstring).

    `amka_partition=(k, K)` and `afm_exclude` (ΑΦΜ already in use, as ints) keep identifiers
    unique across the municipalities of a national run (synthetic/national.py); the defaults
    give the single-municipality output."""
    r = cfg.rates["population"]
    if r.get("population_figure", POPULATION_FIGURE) != POPULATION_FIGURE:
        raise ValueError(f"population_figure must be {POPULATION_FIGURE!r}")
    areas = geo.areas
    nb_ids = areas["neighbourhood_id"].to_numpy().astype(object)
    n_res = residents_per_neighbourhood(areas, cfg.scale.population_factor)
    dep = areas["latent_deprivation"].to_numpy().astype(float)
    ageing = areas["latent_ageing"].to_numpy().astype(float)
    roma_s = np.clip(areas["roma_share"].to_numpy().astype(float), 0, 1)
    mig_s = np.clip(areas["migrant_share"].to_numpy().astype(float), 0, 1)
    hr = r["households"]

    # 1. homeless people per neighbourhood
    hl = r["homeless"]
    w = np.exp(hl["deprivation_tilt"] * dep)
    p_hl = hl["share_of_residents"] * w * n_res.sum() / max(float((w * n_res).sum()), 1e-12)
    n_hl = rng.binomial(n_res, np.clip(p_hl, 0.0, 0.05))
    n_reg = n_res - n_hl

    # 2. households: group shares in persons → household probabilities
    type_p = _type_probs(hr, ageing, dep)  # (G, K, T)
    esize = np.einsum("gkt,gt->gk", type_p, _expected_sizes(hr))  # (G, K)
    share = np.stack([np.clip(1 - roma_s - mig_s, 0, 1), roma_s, mig_s])  # (G, K)
    q = share / esize
    q = q / np.maximum(q.sum(axis=0, keepdims=True), 1e-12)
    mean_size = np.maximum((q * esize).sum(axis=0), 1.0)
    hh = _fill_neighbourhoods(n_reg, q.T, type_p, mean_size, hr, rng)

    # homeless "households" appended, then everything ordered by neighbourhood
    nb_h = np.repeat(np.arange(n_hl.size), n_hl)
    ones = np.ones(nb_h.size, dtype=np.int64)
    zeros = np.zeros(nb_h.size, dtype=np.int64)
    homeless_part = {"nb": nb_h, "group": zeros, "type": np.full(nb_h.size, T_HOMELESS),
                     "n_child": zeros, "n_grand": zeros, "n_front": ones, "size": ones}  # fmt: skip
    hh = {k: np.concatenate([hh[k], homeless_part[k]]) for k in hh}
    order = np.argsort(hh["nb"], kind="stable")
    hh = {k: v[order] for k, v in hh.items()}
    H = hh["nb"].size
    htype, hsize, hgroup = hh["type"], hh["size"], hh["group"]
    is_hl_h = htype == T_HOMELESS

    # 3. members and roles
    hidx = np.repeat(np.arange(H), hsize)
    N = hidx.size
    offsets = np.r_[0, np.cumsum(hsize)[:-1]]
    slot = np.arange(N) - offsets[hidx]
    ptype = htype[hidx]
    front, nchild = hh["n_front"][hidx], hh["n_child"][hidx]
    head_role = np.array([R_SINGLE, R_SINGLE, R_HUSBAND, R_HUSBAND, R_LONE_PARENT, R_HUSBAND,
                          R_HOMELESS])[ptype]  # fmt: skip
    role = np.where(
        slot == 0,
        head_role,
        np.where(slot < front, R_WIFE, np.where(slot < front + nchild, R_CHILD, R_GRAND)),
    )

    # 4. ages and sexes, household by household role; the table's weights are first rescaled
    #    (a few trial draws on a side stream) so that the mix of roles reproduces the table
    base_w = single_year_weights(load_age_structure(r.get("age_structure")))
    stay_tab = hr["child_at_home_by_age"]
    stay = np.array([row[1] for row in stay_tab])[_step_lookup(stay_tab, np.arange(MAX_AGE + 1))]
    stay = np.where(np.arange(MAX_AGE + 1) > hr["max_child_age"], 0.0, stay)
    ctx = _AgeContext(hh, hidx, slot, role, ageing, hr, hl)
    band_of_age = band_index(np.arange(MAX_AGE + 1))
    target = np.stack([np.bincount(band_of_age, weights=base_w[s], minlength=len(AGE_BANDS))
                       for s in (0, 1)])  # fmt: skip
    target = target / target.sum()
    corr = np.ones((2, len(AGE_BANDS)))
    n_iter = int(hr.get("age_calibration_iterations", 4)) if N >= 1000 else 0
    cal_rng = np.random.default_rng(rng.integers(0, 2**63 - 1))
    for _ in range(n_iter):
        w = base_w * corr[:, band_of_age]
        a_try, f_try = _assign_ages(ctx, _AgeSampler(w), _AgeSampler(w * stay), cal_rng)
        got = np.bincount(f_try * len(AGE_BANDS) + band_index(a_try),
                          minlength=2 * len(AGE_BANDS)).reshape(2, -1) / N  # fmt: skip
        corr *= np.clip(target / np.maximum(got, 1e-9), 0.5, 2.0)
    w = base_w * corr[:, band_of_age]
    age, female = _assign_ages(ctx, _AgeSampler(w), _AgeSampler(w * stay), rng)
    sex = np.where(female, "F", "M")

    # birth dates (age in completed years on cfg.scale.start)
    start, end = cfg.scale.start, cfg.scale.end
    ages_u = np.arange(MAX_AGE + 2)
    bound = np.array([_epoch_days(_years_before(start, int(a))) for a in ages_u])
    lo_day = bound[age + 1] + 1  # the day after the (age+1)-th birthday would fall on start
    hi_day = bound[age]
    birth = lo_day + (rng.random(N) * (hi_day - lo_day + 1)).astype(np.int64)

    # 5. citizenship, Roma, refugees (household level)
    cr = r["citizenship"]
    h_cit = np.full(H, "GR", dtype=object)
    noneu_codes = list(cr["non_eu"])
    noneu_p = np.array([cr["non_eu"][c] for c in noneu_codes], float)
    eu_codes = list(cr["eu"])
    eu_p = np.array([cr["eu"][c] for c in eu_codes], float)
    mig_h = hgroup == 2
    k = int(mig_h.sum())
    u = rng.random(k)
    kind = np.where(u < cr["stateless_unknown_share"], 2, np.where(
        u < cr["stateless_unknown_share"] + cr["eu_share"], 1, 0))  # fmt: skip
    c_noneu = np.array(noneu_codes, object)[
        rng.choice(len(noneu_codes), k, p=noneu_p / noneu_p.sum())
    ]
    c_eu = np.array(eu_codes, object)[rng.choice(len(eu_codes), k, p=eu_p / eu_p.sum())]
    h_cit[mig_h] = np.where(kind == 2, "XX", np.where(kind == 1, c_eu, c_noneu))
    k = int(is_hl_h.sum())
    hl_foreign = rng.random(k) >= hl["greek_share"]
    c_hl = np.array(noneu_codes, object)[rng.choice(len(noneu_codes), k, p=noneu_p / noneu_p.sum())]
    h_cit[is_hl_h] = np.where(hl_foreign, c_hl, "GR")
    ref_share = cr["refugee_share_by_citizenship"]
    h_ref = rng.random(H) < np.array([ref_share.get(c, 0.0) for c in h_cit])
    h_roma = hgroup == 1

    citizenship = h_cit[hidx]
    cit_group = np.where(
        citizenship == "GR",
        "greek",
        np.where(
            citizenship == "XX",
            "stateless_unknown",
            np.where(np.isin(citizenship, list(EU_CODES)), "eu", "non_eu"),
        ),
    ).astype(object)
    is_roma = h_roma[hidx]
    is_migrant = citizenship != "GR"
    is_refugee = h_ref[hidx]
    is_homeless = is_hl_h[hidx]
    non_eu = (cit_group == "non_eu") | (cit_group == "stateless_unknown")
    # unknown birth day recorded as 1 January for some
    jan1 = np.isin(citizenship, cr["jan1_birth_date_citizenships"]) & (
        rng.random(N) < cr["jan1_birth_date_share"]
    )
    # 1 January of the birth year, or of the next year, whichever keeps the age on the start date
    year_start = birth.astype("datetime64[D]").astype("datetime64[Y]")
    jan1_this = year_start.astype("datetime64[D]").astype(np.int64)
    jan1_next = (year_start + 1).astype("datetime64[D]").astype(np.int64)
    birth = np.where(
        jan1 & (jan1_this >= lo_day),
        jan1_this,
        np.where(jan1 & (jan1_next <= hi_day), jan1_next, birth),
    )

    # 6. disability
    dr = r["disability"]
    p_dis = np.array([row[1] for row in dr["by_age"]])[_step_lookup(dr["by_age"], age)]
    p_dis = np.where(is_roma, np.minimum(p_dis * dr["roma_ratio"], 1), p_dis)
    disabled = rng.random(N) < p_dis
    pct = 50 + np.round(50 * rng.beta(*dr["pct_beta"], size=N)).astype(np.int64)
    disability_pct = np.where(disabled, pct, 0)

    # 7. education (adults), ordered-probit with a household component
    er = r["education"]
    adult = age >= 18
    rho = er["household_correlation"]
    z = np.sqrt(rho) * rng.standard_normal(H)[hidx] + np.sqrt(1 - rho) * rng.standard_normal(N)
    z = z + er["deprivation_shift"] * dep[hh["nb"]][hidx] + er["roma_shift"] * is_roma
    z = z + er["non_eu_shift"] * non_eu
    probs = np.array([row[1] for row in er["by_age"]], float)
    probs = probs / probs.sum(axis=1, keepdims=True)
    thresholds = ndtri(np.clip(np.cumsum(probs, axis=1)[:, :-1], 1e-12, 1 - 1e-12))  # (A, 4)
    th = thresholds[_step_lookup(er["by_age"], age)]
    # category = number of thresholds below z (higher z → more schooling)
    edu_code = (th < z[:, None]).sum(axis=1)
    education = np.where(adult, np.array(EDUCATION, object)[edu_code], None)

    # 8. employment
    emp = r["employment"]
    status = np.full(N, None, dtype=object)
    in_lf = np.zeros(N, bool)
    u = rng.random(N)
    for band in emp["participation"]:
        m = (age >= band["from"]) & (age <= band["to"])
        p = np.where(female, band["F"], band["M"])
        p = np.where(female & is_roma, p * emp["roma_female_participation_ratio"], p)
        in_lf |= m & (u < p)
    severe = (disability_pct >= 67) & (age < 65)
    in_lf &= ~(severe & (rng.random(N) < emp["severe_disability_inactive"]))
    u = rng.random(N)
    old = age >= 65
    ret65 = np.where(female, emp["retired_share_65plus"]["F"], emp["retired_share_65plus"]["M"])
    status[adult & ~in_lf] = "inactive"
    status[old & (u < ret65)] = "retired"
    near = (age >= 55) & (age <= 64) & ~in_lf
    status[near & (u < emp["retired_share_55_64_outside_labour_force"])] = "retired"
    ul = emp["unemployment_logit"]
    low_edu = np.isin(education, ["none", "primary"])
    lin = (
        ul["deprivation"] * dep[hh["nb"]][hidx]
        + ul["age_18_24"] * (age <= 24)
        + ul["education_low"] * low_edu
        + ul["education_lower_secondary"] * (education == "lower_secondary")
        + ul["education_tertiary"] * (education == "tertiary")
        + ul["roma"] * is_roma
        + ul["non_eu"] * non_eu
        + ul["homeless"] * is_homeless
    )
    a = _calibrate_intercept(lin[in_lf], emp["unemployment_rate"])
    unemployed = in_lf & (rng.random(N) < expit(a + lin))
    long_term = rng.random(N) < emp["long_term_share"]
    status[in_lf] = "employed"
    status[unemployed] = np.where(long_term[unemployed], "long_term_unemployed", "unemployed")

    # 9. household features, poverty and income
    pr = r["poverty"]
    n_adults = np.bincount(hidx, weights=adult, minlength=H)
    n_unemp = np.bincount(hidx, weights=unemployed, minlength=H)
    minors = np.bincount(hidx, weights=age < 18, minlength=H).astype(np.int64)
    disabled_members = np.bincount(hidx, weights=disability_pct > 0, minlength=H).astype(np.int64)
    is_single_parent = (htype == T_SP) & (minors > 0)
    is_large_family = hh["n_child"] >= 3
    head_low_edu = low_edu[offsets]
    hh_non_eu = non_eu[offsets]
    sc = pr["score"]
    score = (
        sc["deprivation"] * dep[hh["nb"]]
        + sc["unemployed_adult_share"] * n_unemp / np.maximum(n_adults, 1)
        + sc["single_parent"] * is_single_parent
        + sc["non_eu"] * hh_non_eu
        + sc["roma"] * h_roma
        + sc["large_family"] * is_large_family
        + sc["one_person_elderly"] * (htype == T_OPE)
        + sc["head_low_education"] * head_low_edu
        + sc["disabled_member"] * (disabled_members > 0)
    )
    score = score + pr["noise_scale"] * rng.logistic(size=H)
    score = np.where(is_hl_h, np.inf, score)
    rank = np.argsort(-score, kind="stable")
    cum_before = np.cumsum(hsize[rank]) - hsize[rank]
    is_poor = np.zeros(H, bool)
    is_poor[rank[cum_before < pr["target_share"] * N]] = True

    eqr = pr["equivalence"]
    n14 = np.bincount(hidx, weights=age >= eqr["child_age"], minlength=H)
    n_young = hsize - n14
    eq_scale = (
        eqr["first_adult"]
        + eqr["other_14_plus"] * np.maximum(n14 - 1, 0)
        + eqr["child_under_14"] * n_young
    )
    line = pr["line_single_eur"] * eq_scale
    mu, sigma = np.log(pr["income_log_median_eur"]), pr["income_log_sigma"]
    f_line = float(ndtr((np.log(pr["line_single_eur"]) - mu) / sigma))
    u = rng.random(H)
    q_u = np.where(
        is_poor, f_line * (0.001 + 0.998 * u), f_line + (1 - f_line) * (0.001 + 0.998 * u)
    )
    eq_income = np.exp(mu + sigma * ndtri(q_u))
    eq_income = np.where(
        is_hl_h, pr["line_single_eur"] * pr["homeless_income_max_share_of_line"] * u, eq_income
    )
    income = np.round(eq_income * eq_scale, 2)
    income = np.where(
        is_poor, np.minimum(income, np.floor(line) - 1.0), np.maximum(income, np.ceil(line))
    )
    income = np.maximum(income, 0.0)

    # 10. lives alone, care need
    lives_alone = (hsize[hidx] == 1) & ~is_homeless
    cn = r["care_need"]
    cl = cn["logit"]
    old = age >= 65
    lin = (
        cl["per_year_over_65"] * (age - 65)
        + cl["disabled"] * (disability_pct > 0)
        + cl["lives_alone"] * lives_alone
        + cl["ageing"] * ageing[hh["nb"]][hidx]
        + cl["deprivation"] * dep[hh["nb"]][hidx]
    )
    a = _calibrate_intercept(lin[old], cn["target_65plus"])
    p_care = np.where(
        old,
        expit(a + lin),
        np.where(disability_pct >= 80, cn["under_65_severe_disability"], cn["under_65_other"]),
    )
    care_need = rng.random(N) < p_care

    # 11. deaths during the simulation
    death = _deaths(age, female, care_need, disability_pct > 0, start, end, r["mortality"], rng)

    # 12. names
    nl = names.load_names()
    h_group_name = names.name_group_of(h_cit, h_roma)
    h_sur = names.draw_surname_rows(nl, h_group_name, rng)
    own_sur = names.draw_surname_rows(nl, h_group_name[hidx], rng)
    keep_own = ((role == R_WIFE) & (rng.random(N) < hr["wife_keeps_own_surname"])) | (
        (role == R_GRAND) & (rng.random(N) < 0.5)
    )
    sur_row = np.where(keep_own, own_sur, h_sur[hidx])
    surname = names.surname_for(nl, sur_row, sex)
    p_group = h_group_name[hidx]
    first_group = np.where(
        (p_group == "albanian") & (rng.random(N) < cr["albanian_greek_first_name"]),
        "greek",
        p_group,
    )
    first_name = names.draw_first_names(nl, first_group, sex, rng)
    random_father = names.draw_first_names(nl, first_group, np.full(N, "M"), rng)
    head_name = first_name[offsets]  # the head's first name, per household
    head_is_father = (htype == T_CWC) | (htype == T_EXT) | ((htype == T_SP) & ~female[offsets])
    father_name = np.where(
        (role == R_CHILD) & head_is_father[hidx], head_name[hidx], random_father
    ).astype(object)

    # 13. identifiers
    ir = r["identifiers"]
    amka_all = identifiers.make_amka(
        birth.astype("datetime64[D]"), sex == "M", rng, partition=amka_partition
    )
    am = ir["amka_missing"]
    p_no_amka = np.full(N, am["other"])
    p_no_amka = np.where(non_eu, np.maximum(p_no_amka, am["non_eu"]), p_no_amka)
    p_no_amka = np.where(is_refugee, np.maximum(p_no_amka, am["refugee"]), p_no_amka)
    p_no_amka = np.where(is_roma, np.maximum(p_no_amka, am["roma"]), p_no_amka)
    p_no_amka = np.where(is_homeless, np.maximum(p_no_amka, hl["amka_missing"]), p_no_amka)
    u_h = rng.random(H)[hidx]  # shared within a household: papers are a family matter
    no_amka = u_h < p_no_amka
    amka = np.where(no_amka, None, amka_all.astype(object))

    afm_all = identifiers.make_afm(
        N, rng, leading_zero_share=ir["afm_leading_zero_share"], exclude=afm_exclude
    )
    fm = ir["afm_missing"]
    p_no_afm = np.full(N, fm["other"])
    p_no_afm = np.where((age >= 18) & (age <= 21), fm["age_18_21"], p_no_afm)
    p_no_afm = np.where(is_homeless, np.maximum(p_no_afm, hl["afm_missing"]), p_no_afm)
    p_no_afm = np.where(no_amka, np.maximum(p_no_afm, fm["without_amka"]), p_no_afm)
    has_afm = adult & (rng.random(N) >= p_no_afm)
    afm = np.where(has_afm, afm_all.astype(object), None)

    p_mob = np.array([row[1] for row in ir["mobile_by_age"]])[
        _step_lookup(ir["mobile_by_age"], age)
    ]
    p_mob = np.where(age < ir["mobile_by_age"][0][0], 0.0, p_mob)
    p_mob = np.where(is_homeless, hl["mobile_share"], p_mob)
    has_mobile = rng.random(N) < p_mob
    mobile = np.full(N, None, dtype=object)
    mobile[has_mobile] = identifiers.make_mobiles(int(has_mobile.sum()), rng).astype(object)
    any_old = np.bincount(hidx, weights=age >= 65, minlength=H) > 0
    lh = ir["landline_household"]
    has_land = (rng.random(H) < np.where(any_old, lh["elderly"], lh["other"])) & ~is_hl_h
    land = np.full(H, None, dtype=object)
    land[has_land] = identifiers.make_landlines(int(has_land.sum()), rng).astype(object)
    prefer_land = (age >= 65) & (rng.random(N) < ir["landline_preferred_65plus"])
    use_land = has_land[hidx] & (~has_mobile | prefer_land)
    phone = np.where(use_land, land[hidx], mobile)
    has_phone = use_land | has_mobile
    # children without their own phone: the household's contact number (head's mobile / landline)
    head_mobile = has_mobile[offsets]
    contact = np.where(head_mobile, mobile[offsets], land)
    child_gets = ~has_phone & (age < 18) & (head_mobile | has_land)[hidx]
    phone = np.where(child_gets, contact[hidx], phone)

    # 14. addresses
    street_id, number, suffix, postcode = _addresses(geo.gazetteer, nb_ids, hh["nb"], is_hl_h,
                                                     r["address"], rng)  # fmt: skip

    household_id = np.arange(1, H + 1, dtype=np.int64)
    households = pl.DataFrame(
        {
            "household_id": household_id,
            "neighbourhood_id": _str(nb_ids[hh["nb"]]),
            "street_id": _masked(street_id, ~is_hl_h),
            "street_number": _masked(number, ~is_hl_h),
            "street_number_suffix": _str(suffix),
            "postcode": _str(postcode),
            "size": hsize.astype(np.int64),
            "minors": minors,
            "disabled_members": disabled_members,
            "annual_income_eur": income.astype(np.float64),
            "is_single_parent": is_single_parent,
            "is_large_family": is_large_family,
            "is_poor": is_poor,
        }
    )
    persons = pl.DataFrame(
        {
            "person_id": np.arange(1, N + 1, dtype=np.int64),
            "household_id": household_id[hidx],
            "neighbourhood_id": _str(nb_ids[hh["nb"]][hidx]),
            "sex": _str(sex),
            "birth_date": pl.Series(birth.astype("datetime64[D]")).cast(pl.Date),
            "citizenship": _str(citizenship),
            "citizenship_group": _str(cit_group),
            "is_roma": is_roma,
            "is_migrant": is_migrant,
            "is_refugee": is_refugee,
            "is_homeless": is_homeless,
            "disability_pct": disability_pct.astype(np.int64),
            "employment_status": _str(status),
            "education": _str(education),
            "lives_alone": lives_alone,
            "care_need": care_need,
            "death_on": pl.Series(death).cast(pl.Date),
            "surname": _str(surname),
            "first_name": _str(first_name),
            "father_name": _str(father_name),
            "amka": _str(amka),
            "afm": _str(afm),
            "phone": _str(phone),
        }
    )
    households = households.select(list(HOUSEHOLDS_SCHEMA))
    persons = persons.select(list(PERSONS_SCHEMA))
    check_schema(households, HOUSEHOLDS_SCHEMA, "households")
    check_schema(persons, PERSONS_SCHEMA, "persons")
    return Population(households=households, persons=persons)


def _str(values: np.ndarray) -> pl.Series:
    """String series from a numpy array of str / None (object arrays are not always inferable)."""
    return pl.Series(values=np.asarray(values, dtype=object).tolist(), dtype=pl.String)


def _masked(values: np.ndarray, valid: np.ndarray) -> pl.Series:
    """Int64 series with nulls where not `valid`."""
    return pl.select(
        pl.when(pl.Series(valid)).then(pl.Series(values.astype(np.int64))).otherwise(None)
    ).to_series()


def _deaths(
    age: np.ndarray,
    female: np.ndarray,
    care_need: np.ndarray,
    disabled: np.ndarray,
    start: date,
    end: date,
    mr: dict[str, Any],
    rng: np.random.Generator,
) -> np.ndarray:
    """Date of death within start..end (datetime64[D], NaT if alive at the end)."""
    n = age.size
    death = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    alive = np.ones(n, bool)
    ratio = np.where(female, mr["female_ratio"], mr["male_ratio"])
    ratio = ratio * np.where(care_need, mr["care_need_ratio"], 1.0)
    ratio = ratio * np.where(disabled, mr["disability_ratio"], 1.0)
    y = 0
    end_day = _epoch_days(end) + 1  # exclusive
    while True:
        w0 = _epoch_days(_years_before(start, -y))
        if w0 >= end_day:
            break
        w1 = min(_epoch_days(_years_before(start, -(y + 1))), end_day)
        a = age + y
        q = mr["makeham"] + np.exp(mr["gompertz_a"] + mr["gompertz_b"] * a)
        q = np.where(a == 0, np.maximum(q, mr["infant"]), q)
        q = np.minimum(q * ratio, 0.6)
        frac = (w1 - w0) / 365.25
        q_eff = 1 - (1 - q) ** frac
        dies = alive & (rng.random(n) < q_eff)
        day = w0 + (rng.random(n) * (w1 - w0)).astype(np.int64)
        death[dies] = day[dies].astype("datetime64[D]")
        alive &= ~dies
        y += 1
    return death


def _addresses(
    gaz: pl.DataFrame,
    nb_ids: np.ndarray,
    h_nb: np.ndarray,
    homeless: np.ndarray,
    ar: dict[str, Any],
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A gazetteer segment of the household's neighbourhood (weighted by its number range), a
    number in the range, an occasional suffix, and the segment's postcode; nulls for homeless."""
    H = h_nb.size
    code = {nid: i for i, nid in enumerate(nb_ids)}
    g = (
        gaz.with_columns(
            pl.col("neighbourhood_id")
            .replace_strict(code, default=-1, return_dtype=pl.Int64)
            .alias("k")
        )
        .filter(pl.col("k") >= 0)
        .sort(["k", "street_id", "number_from"])
    )
    k = g["k"].to_numpy()
    lo = g["number_from"].to_numpy()
    hi = np.maximum(g["number_to"].to_numpy(), lo)
    cum = np.cumsum((hi - lo + 1).astype(float))
    first = np.searchsorted(k, np.arange(nb_ids.size), side="left")
    last = np.searchsorted(k, np.arange(nb_ids.size), side="right")
    housed = ~homeless
    need = np.unique(h_nb[housed])
    empty = need[first[need] == last[need]]
    if empty.size:
        raise ValueError(f"no gazetteer segments for neighbourhoods {list(nb_ids[empty][:5])}")
    u_seg, u_num, u_sfx = rng.random(H), rng.random(H), rng.random(H)

    street_id = np.zeros(H, dtype=np.int64)
    number = np.zeros(H, dtype=np.int64)
    postcode = np.full(H, None, dtype=object)
    hn = h_nb[housed]
    if hn.size:
        cum0 = np.r_[0.0, cum]
        base, total = cum0[first[hn]], cum0[last[hn]] - cum0[first[hn]]
        seg = np.searchsorted(cum, base + u_seg[housed] * total, side="right")
        seg = np.clip(seg, first[hn], last[hn] - 1)
        street_id[housed] = g["street_id"].to_numpy()[seg]
        number[housed] = lo[seg] + (u_num[housed] * (hi[seg] - lo[seg] + 1)).astype(np.int64)
        postcode[housed] = g["postcode"].to_numpy()[seg]
    sfx_codes = [str(c) for c in ar["suffix"]]
    cum_s = np.cumsum([ar["suffix"][c] for c in ar["suffix"]])
    idx = np.searchsorted(cum_s, u_sfx, side="right")
    suffix = np.array([*sfx_codes, ""], dtype=object)[np.minimum(idx, len(sfx_codes))]
    suffix = np.where(housed, suffix, "").astype(object)
    return street_id, number, suffix, postcode


__all__ = [
    "AGE_BANDS",
    "EDUCATION",
    "HOUSEHOLD_TYPES",
    "MAX_AGE",
    "POPULATION_FIGURE",
    "band_index",
    "build_population",
    "load_age_structure",
    "residents_per_neighbourhood",
    "single_year_weights",
]
