"""Shared pieces of the service-use simulation: calendar, people as arrays, sampling helpers.

Days are int64 day numbers since 1970-01-01 throughout; `NEVER` stands for "no date" (a person
who does not die in the simulation, a client who does not exit).
"""

from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl

from synthetic.model import Geography, Population

EPOCH = date(1970, 1, 1)
NEVER = np.int64(10**7)  # a day far beyond any simulated date (year ~29,000)
DAYS_PER_YEAR = 365.2425


def day_number(d: date) -> int:
    return (d - EPOCH).days


def to_date(n: int) -> date:
    return EPOCH + timedelta(days=int(n))


def parse_day(s: str) -> int:
    return day_number(date.fromisoformat(str(s)))


def years_to_days(years: float | np.ndarray) -> np.ndarray:
    return np.round(np.asarray(years) * DAYS_PER_YEAR).astype(np.int64)


def weekday(days: np.ndarray) -> np.ndarray:
    """0 = Monday (1970-01-01 was a Thursday)."""
    return (np.asarray(days, dtype=np.int64) + 3) % 7


def add_months(day: int, months: int) -> int:
    """The same day of the month `months` later (clipped to the month's length)."""
    d = to_date(day)
    m0 = d.month - 1 + months
    y, m = d.year + m0 // 12, m0 % 12 + 1
    return day_number(date(y, m, min(d.day, _calendar.monthrange(y, m)[1])))


def orthodox_easter(year: int) -> date:
    """Orthodox Easter Sunday (Meeus' Julian algorithm, converted to Gregorian; 1900-2099)."""
    a, b, c = year % 4, year % 7, year % 19
    d = (19 * c + 15) % 30
    e = (2 * a + 4 * b - d + 34) % 7
    month = (d + e + 114) // 31
    day = (d + e + 114) % 31 + 1
    return date(year, month, day) + timedelta(days=13)


def greek_holidays(years: range, fixed: list[str], easter_offsets: list[int]) -> np.ndarray:
    """Public holidays (datetime64[D]) of the given years."""
    out: list[date] = []
    for y in years:
        out += [date(y, int(md[:2]), int(md[3:])) for md in fixed]
        easter = orthodox_easter(y)
        out += [easter + timedelta(days=int(o)) for o in easter_offsets]
    return np.array(sorted(set(out)), dtype="datetime64[D]")


@dataclass(frozen=True)
class Calendar:
    """The simulated period, day by day."""

    start: int
    end: int  # inclusive
    busdaycal: np.busdaycalendar
    days: np.ndarray  # start..end
    working: np.ndarray  # bool: Monday-Friday and not a public holiday
    month_of_year: np.ndarray  # 1..12
    year: np.ndarray
    month_index: np.ndarray  # 0..n_months-1
    month_starts: np.ndarray  # first day of each month
    month_ends: np.ndarray  # last day of each month

    @property
    def n_months(self) -> int:
        return len(self.month_starts)

    def next_working(self, d: np.ndarray | int) -> np.ndarray:
        """The first working day on or after each day."""
        dd = np.asarray(d, dtype=np.int64).astype("datetime64[D]")
        return np.busday_offset(dd, 0, roll="forward", busdaycal=self.busdaycal).astype(np.int64)

    def prev_working(self, d: np.ndarray | int) -> np.ndarray:
        dd = np.asarray(d, dtype=np.int64).astype("datetime64[D]")
        return np.busday_offset(dd, 0, roll="backward", busdaycal=self.busdaycal).astype(np.int64)

    def is_working(self, d: np.ndarray) -> np.ndarray:
        dd = np.asarray(d, dtype=np.int64).astype("datetime64[D]")
        return np.is_busday(dd, busdaycal=self.busdaycal)

    def month_of(self, d: np.ndarray) -> np.ndarray:
        """Month index of days inside the period."""
        return self.month_index[np.asarray(d, dtype=np.int64) - self.start]

    def period_factor(self, periods: list[dict[str, Any]], key: str = "factor") -> np.ndarray:
        """Product of the factors of the periods ({from, to, key}) covering each day."""
        f = np.ones(len(self.days))
        for p in periods or []:
            inside = (self.days >= parse_day(p["from"])) & (self.days <= parse_day(p["to"]))
            f[inside] *= float(p[key])
        return f


def build_calendar(start: date, end: date, cal_rates: dict[str, Any]) -> Calendar:
    years = range(start.year - 20, end.year + 3)
    hol = greek_holidays(years, cal_rates["fixed_holidays"], cal_rates["easter_offsets"])
    bdc = np.busdaycalendar(weekmask="1111100", holidays=hol)
    s, e = day_number(start), day_number(end)
    days = np.arange(s, e + 1, dtype=np.int64)
    dt = days.astype("datetime64[D]")
    months = dt.astype("datetime64[M]")
    moy = (months.astype(np.int64) % 12 + 1).astype(np.int64)
    year = (months.astype(np.int64) // 12 + 1970).astype(np.int64)
    midx = (months.astype(np.int64) - months[0].astype(np.int64)).astype(np.int64)
    um = np.unique(months)
    m_starts = np.maximum(um.astype("datetime64[D]").astype(np.int64), s)
    m_ends = np.minimum((um + 1).astype("datetime64[D]").astype(np.int64) - 1, e)
    return Calendar(
        start=s,
        end=e,
        busdaycal=bdc,
        days=days,
        working=np.is_busday(dt, busdaycal=bdc),
        month_of_year=moy,
        year=year,
        month_index=midx,
        month_starts=m_starts,
        month_ends=m_ends,
    )


def demand_weights(
    cal: Calendar,
    seasonality: list[float],
    crisis: list[dict[str, Any]] | None = None,
    peaks: np.ndarray | None = None,
    working_only: bool = True,
) -> np.ndarray:
    """Day weights of a demand process: each calendar year sums to 1 before crisis factors.

    Seasonality (12 monthly factors) and peaks (a factor per day of the period) shape the year;
    crisis periods then multiply it, so that a crisis raises the volume.
    """
    season = np.asarray(seasonality, dtype=float)
    base = season[cal.month_of_year - 1]
    if working_only:
        base = base * cal.working
    if peaks is not None:
        base = base * peaks
    w = np.zeros(len(cal.days))
    for y in np.unique(cal.year):
        # normalise by the whole calendar year (also when the period covers only part of it)
        ys, ye = day_number(date(int(y), 1, 1)), day_number(date(int(y), 12, 31))
        full = np.arange(ys, ye + 1)
        fdt = full.astype("datetime64[D]")
        fmoy = fdt.astype("datetime64[M]").astype(np.int64) % 12
        fb = season[fmoy]
        if working_only:
            fb = fb * np.is_busday(fdt, busdaycal=cal.busdaycal)
        if peaks is not None:
            # the peaks outside the period are not known: use the in-period mean factor
            inside = (full >= cal.start) & (full <= cal.end)
            pk = np.full(len(full), float(peaks[cal.year == y].mean()))
            pk[inside] = peaks[full[inside] - cal.start]
            fb = fb * pk
        sel = cal.year == y
        w[sel] = base[sel] / fb.sum()
    return w * cal.period_factor(crisis or [])


def sample_days(weights: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of `n` days drawn with probability proportional to `weights`."""
    cdf = np.cumsum(weights)
    return np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right").clip(0, len(cdf) - 1)


def choose_rows(weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each row of an (n, k) weight matrix, a column index drawn proportionally."""
    cum = np.cumsum(weights, axis=1)
    u = rng.random(len(weights)) * cum[:, -1]
    return np.minimum((cum <= u[:, None]).sum(axis=1), weights.shape[1] - 1)


def choose(probs: dict[Any, float], n: int, rng: np.random.Generator) -> np.ndarray:
    """`n` indices into list(probs) drawn with the given (unnormalised) probabilities."""
    p = np.asarray(list(probs.values()), dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum())


def weighted_sample_without_replacement(
    weights: np.ndarray, k: int, rng: np.random.Generator
) -> np.ndarray:
    """k indices with positive weight, drawn without replacement (Efraimidis-Spirakis keys)."""
    pos = np.flatnonzero(weights > 0)
    k = min(k, len(pos))
    keys = np.log(rng.random(len(pos))) / weights[pos]
    return pos[np.argsort(-keys, kind="stable")[:k]]


def rule_weights(
    rules: dict[str, dict[str, Any]], flags: dict[str, np.ndarray], n: int
) -> tuple[list[str], np.ndarray]:
    """Weights (n, k) of k categories: base + sum of add[flag] over the flags that hold."""
    names = list(rules)
    w = np.zeros((n, len(names)))
    for j, name in enumerate(names):
        rule = rules[name] or {}
        w[:, j] = float(rule.get("base", 0.0))
        for flag, add in (rule.get("add") or {}).items():
            w[:, j] += float(add) * flags[flag]
    return names, w


def uniform_int(lo_hi: list[int], n: int, rng: np.random.Generator) -> np.ndarray:
    lo, hi = int(lo_hi[0]), int(lo_hi[1])
    return rng.integers(lo, hi + 1, size=n)


def date_series(name: str, days: np.ndarray, valid: np.ndarray | None = None) -> pl.Series:
    """A polars Date series from day numbers, null where `valid` is False or the day is NEVER."""
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    bad = np.asarray(days) >= NEVER
    if valid is not None:
        bad = bad | ~valid
    d = d.copy()
    d[bad] = np.datetime64("NaT")
    return pl.Series(name, d, dtype=pl.Date)


@dataclass(frozen=True)
class People:
    """Persons, households and neighbourhoods as aligned numpy arrays."""

    persons: pl.DataFrame  # the population's persons, in this order
    person_id: np.ndarray
    hh: np.ndarray  # row of the person's household in `households`
    nb: np.ndarray  # row of the person's neighbourhood in `areas`
    female: np.ndarray
    birth: np.ndarray  # day number
    death: np.ndarray  # day number, NEVER if alive at the end
    roma: np.ndarray
    migrant: np.ndarray
    refugee: np.ndarray
    homeless: np.ndarray
    disability: np.ndarray  # percent
    employment: np.ndarray  # str (None for children)
    lives_alone: np.ndarray
    care_need: np.ndarray
    has_amka: np.ndarray
    # households
    households: pl.DataFrame
    household_id: np.ndarray
    hh_nb: np.ndarray
    hh_size: np.ndarray
    hh_minors: np.ndarray
    hh_disabled: np.ndarray
    hh_income: np.ndarray
    hh_single_parent: np.ndarray
    hh_large_family: np.ndarray
    hh_poor: np.ndarray
    # neighbourhoods
    areas: pl.DataFrame
    deprivation: np.ndarray
    ageing: np.ndarray
    village: np.ndarray

    @property
    def n(self) -> int:
        return len(self.person_id)

    def monthly_income(self) -> np.ndarray:
        """A person's share of the household income a month (adults share it equally)."""
        adults = np.maximum(self.hh_size - self.hh_minors, 1)
        return self.hh_income[self.hh] / 12.0 / adults[self.hh]


def _days(s: pl.Series) -> np.ndarray:
    return s.cast(pl.Int64).fill_null(int(NEVER)).to_numpy().astype(np.int64)


def build_people(geo: Geography, pop: Population, village_max_population: int) -> People:
    areas = geo.areas.sort("neighbourhood_id")
    community_pop = areas.group_by("community_code").agg(
        pl.col("population_2011").sum().alias("_cpop")
    )
    areas = areas.join(community_pop, on="community_code", how="left").sort("neighbourhood_id")
    nb_index = {v: i for i, v in enumerate(areas["neighbourhood_id"].to_list())}
    households = pop.households.sort("household_id")
    persons = pop.persons.sort("person_id")
    hh_nb = households["neighbourhood_id"].replace_strict(nb_index, return_dtype=pl.Int64)
    hh_ids = households["household_id"].to_numpy()
    hh_row = np.searchsorted(hh_ids, persons["household_id"].to_numpy())
    if len(hh_ids) and not np.array_equal(hh_ids[hh_row], persons["household_id"].to_numpy()):
        raise ValueError("persons refer to households that do not exist")
    nb = persons["neighbourhood_id"].replace_strict(nb_index, return_dtype=pl.Int64).to_numpy()
    return People(
        persons=persons,
        person_id=persons["person_id"].to_numpy(),
        hh=hh_row,
        nb=nb,
        female=(persons["sex"] == "F").to_numpy(),
        birth=_days(persons["birth_date"]),
        death=_days(persons["death_on"]),
        roma=persons["is_roma"].fill_null(False).to_numpy(),
        migrant=persons["is_migrant"].fill_null(False).to_numpy(),
        refugee=persons["is_refugee"].fill_null(False).to_numpy(),
        homeless=persons["is_homeless"].fill_null(False).to_numpy(),
        disability=persons["disability_pct"].fill_null(0).to_numpy(),
        employment=persons["employment_status"].fill_null("").to_numpy().astype(str),
        lives_alone=persons["lives_alone"].fill_null(False).to_numpy(),
        care_need=persons["care_need"].fill_null(False).to_numpy(),
        has_amka=persons["amka"].is_not_null().to_numpy(),
        households=households,
        household_id=hh_ids,
        hh_nb=hh_nb.to_numpy(),
        hh_size=households["size"].to_numpy(),
        hh_minors=households["minors"].to_numpy(),
        hh_disabled=households["disabled_members"].to_numpy(),
        hh_income=households["annual_income_eur"].fill_null(0.0).to_numpy(),
        hh_single_parent=households["is_single_parent"].fill_null(False).to_numpy(),
        hh_large_family=households["is_large_family"].fill_null(False).to_numpy(),
        hh_poor=households["is_poor"].fill_null(False).to_numpy(),
        areas=areas,
        deprivation=areas["latent_deprivation"].fill_null(0.0).to_numpy(),
        ageing=areas["latent_ageing"].fill_null(0.0).to_numpy(),
        village=(areas["_cpop"].fill_null(0) < village_max_population).to_numpy(),
    )


@dataclass
class Ctx:
    """Everything a part of the simulation needs."""

    cal: Calendar
    people: People
    rates: dict[str, Any]
    factor: float  # cfg.scale.population_factor
    capacity: dict[str, int]  # structure id -> capacity at this scale (rounded, at least 1)
    capacity_exact: dict[str, float]  # structure id -> capacity × population_factor
    rng: np.random.Generator


def str_series(values: np.ndarray) -> pl.Series:
    """A polars String series from a numpy str/object array (None → null)."""
    return pl.Series(np.asarray(values, dtype=object).tolist(), dtype=pl.String)


def window_index(cal: Calendar, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Half-open day-index ranges [a, b) of the inclusive day windows [lo, hi] in the period."""
    n = len(cal.days)
    a = np.clip(np.asarray(lo, dtype=np.int64) - cal.start, 0, n)
    b = np.clip(np.asarray(hi, dtype=np.int64) - cal.start + 1, 0, n)
    return a, np.maximum(a, b)


def window_exposure(
    weights: np.ndarray, cal: Calendar, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """Sum of the day weights over each window [lo, hi] (0 for an empty window)."""
    cdf0 = np.concatenate([[0.0], np.cumsum(weights)])
    a, b = window_index(cal, lo, hi)
    return cdf0[b] - cdf0[a]


def sample_in_windows(
    weights: np.ndarray, cal: Calendar, lo: np.ndarray, hi: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """One day per window [lo, hi], drawn proportionally to the day weights inside it."""
    cdf = np.cumsum(weights)
    cdf0 = np.concatenate([[0.0], cdf])
    a, b = window_index(cal, lo, hi)
    u = cdf0[a] + rng.random(len(a)) * (cdf0[b] - cdf0[a])
    idx = np.searchsorted(cdf, u, side="right")
    return cal.days[np.clip(idx, a, np.maximum(b - 1, a)).clip(0, len(cal.days) - 1)]
