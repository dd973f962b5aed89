"""Reference seeds (dbt_project/seeds/standard, dbt_project/seeds/catalogue).

Checked against values and lists kept elsewhere: the ESP 2013 weights as published by Eurostat,
the canonical codes of the ingest contracts, the referral bodies and structures of the
generator, the ESF common output indicators seed, and the normaliser of ingest.text.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from ingest.contracts import load_contracts
from ingest.text import normalise_greek
from synthetic.population import AGE_BANDS
from synthetic.services import REFERRAL_BODIES, STRUCTURES

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "dbt_project" / "seeds"
STANDARD = SEEDS / "standard"
CATALOGUE = SEEDS / "catalogue"

# Eurostat KS-RA-13-028 (2013), Table: ESP 2013 by five-year band, 0-4 ... 85-89, 90+
# (0 = 1,000 and 1-4 = 4,000 merged; 90-94 = 800 and 95+ = 200 merged)
ESP2013_PUBLISHED = (
    5000, 5500, 5500, 5500, 6000, 6000, 6500, 7000, 7000, 7000,
    7000, 6500, 6000, 5500, 5000, 4000, 2500, 1500, 1000,
)  # fmt: skip

# (contract '<source>.<entity>', column) whose codes are services, goods, needs or reasons
SERVICE_COLUMNS = (
    ("community_centre.services", "service_category"),
    ("community_centre.intake", "reason"),
    ("social_grocery.distributions", "category"),
    ("home_help.visits", "service_type"),
    ("home_help.requests", "need_type"),
)


def read(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def yes(v: str) -> bool:
    assert v in ("true", "false"), v
    return v == "true"


@pytest.fixture(scope="module")
def esp() -> list[dict[str, str]]:
    return read(STANDARD / "esp2013.csv")


@pytest.fixture(scope="module")
def indicators() -> list[dict[str, str]]:
    return read(CATALOGUE / "indicator_catalogue.csv")


@pytest.fixture(scope="module")
def bodies() -> dict[str, dict[str, str]]:
    return {r["body_id"]: r for r in read(CATALOGUE / "bodies.csv")}


@pytest.fixture(scope="module")
def spellings() -> list[dict[str, str]]:
    return read(CATALOGUE / "body_spellings.csv")


# --- standard population ------------------------------------------------------------------------


def test_esp2013_has_19_bands_summing_to_100000(esp: list[dict[str, str]]) -> None:
    assert len(esp) == 19
    weights = [int(r["esp_weight"]) for r in esp]
    assert sum(weights) == 100_000
    assert tuple(weights) == ESP2013_PUBLISHED


def test_esp2013_bands_are_contiguous_and_match_the_population_table(
    esp: list[dict[str, str]],
) -> None:
    assert [r["age_band"] for r in esp] == list(AGE_BANDS)
    assert [int(r["sort_order"]) for r in esp] == list(range(1, 20))
    for prev, cur in zip(esp, esp[1:], strict=False):
        assert int(cur["age_from"]) == int(prev["age_to"]) + 1
    assert esp[0]["age_from"] == "0" and esp[-1]["age_from"] == "90" and esp[-1]["age_to"] == ""
    # the 65+ standard used by the age-standardised home-help rate
    assert sum(int(r["esp_weight"]) for r in esp if int(r["age_from"]) >= 65) == 19_500


def test_age_band_map_places_every_age_in_its_band(esp: list[dict[str, str]]) -> None:
    bands = {r["age_band"]: r for r in esp}
    rows = read(STANDARD / "age_band_map.csv")
    assert [int(r["age"]) for r in rows] == list(range(121))
    for r in rows:
        age, band = int(r["age"]), bands[r["age_band"]]
        assert int(band["age_from"]) <= age
        assert band["age_to"] == "" or age <= int(band["age_to"])
        assert r["sort_order"] == band["sort_order"]
        assert yes(r["is_age_0_17"]) == (age <= 17)
        assert yes(r["is_age_15_64"]) == (15 <= age <= 64)
        assert yes(r["is_age_65_plus"]) == (age >= 65)
        want = "age_0_17" if age < 18 else "age_18_64" if age < 65 else "age_65_plus"
        assert r["broad_age_group"] == want


# --- indicator catalogue ------------------------------------------------------------------------


def test_indicator_ids_are_unique_stable_snake_case(indicators: list[dict[str, str]]) -> None:
    ids = [r["indicator_id"] for r in indicators]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", i) for i in ids)
    orders = [int(r["display_order"]) for r in indicators]
    assert len(orders) == len(set(orders))


def test_needs_index_weights_are_positive_and_sum_to_one(
    indicators: list[dict[str, str]],
) -> None:
    domains = read(CATALOGUE / "needs_index_domains.csv")
    domain_weights = {d["needs_index_domain"]: float(d["domain_weight"]) for d in domains}
    assert set(domain_weights) == {"material_need", "care_need", "social_exclusion"}
    assert all(w > 0 for w in domain_weights.values())
    assert sum(domain_weights.values()) == pytest.approx(1.0)

    weights: dict[str, list[float]] = defaultdict(list)
    for r in indicators:
        in_index = yes(r["in_needs_index"])
        assert in_index == (r["needs_index_domain"] != ""), r["indicator_id"]
        assert in_index == (r["needs_index_weight"] != ""), r["indicator_id"]
        if in_index:
            weights[r["needs_index_domain"]].append(float(r["needs_index_weight"]))
            # an index indicator is a need measure computed for every neighbourhood
            assert r["domain"] == r["needs_index_domain"]
            assert r["area_levels"].split(";")[0] == "neighbourhood"
    assert set(weights) == set(domain_weights)
    for domain, ws in weights.items():
        assert all(w > 0 for w in ws), domain
        assert sum(ws) == pytest.approx(1.0), domain


def test_indicator_units_methods_and_denominators_agree(indicators: list[dict[str, str]]) -> None:
    multiplier = {"per_1000": 1000, "proportion": 100, "ratio": 1, "days": 1, "count": 1}
    methods = {
        "per_1000": {"rate_byar", "dsr_dobson"},
        "proportion": {"proportion_wilson"},
        "ratio": {"rate_byar"},
        "days": {"median"},
        "count": {"count"},
    }
    structures = {"community_centre", "social_grocery", "home_help"}
    for r in indicators:
        i = r["indicator_id"]
        assert int(r["multiplier"]) == multiplier[r["unit"]], i
        assert r["method"] in methods[r["unit"]], i
        assert yes(r["is_age_standardised"]) == (r["method"] == "dsr_dobson"), i
        assert (r["denominator_population"] == "none") == (r["method"] == "count"), i
        assert set(r["source_structures"].split(";")) <= structures, i
        assert int(r["min_count_for_publication"]) >= (0 if r["domain"] == "data_quality" else 10)
        if r["unit"] == "per_1000":
            assert r["denominator_population"] in {"total", "households", "age_0_17", "age_65_plus"}


def test_indicator_set_covers_the_first_version(indicators: list[dict[str, str]]) -> None:
    ids = {r["indicator_id"] for r in indicators}
    # one spot check per line of indicators.md "The indicator set (first version)"
    for want in (
        "sg_households_per_1000_households",
        "sg_persons_per_1000",
        "sg_children_per_1000_aged_0_17",
        "cc_kea_beneficiaries_per_1000",
        "cc_unemployed_share",
        "cc_long_term_unemployed_share",
        "hh_clients_per_1000_aged_65_plus",
        "hh_clients_per_1000_aged_65_plus_dsr",
        "hh_clients_living_alone_share",
        "hh_requests_per_1000_aged_65_plus",
        "hh_requests_fulfilled_within_7_days_share",
        "hh_request_days_to_fulfil_median",
        "hh_requests_open_at_period_end",
        "cc_contacts_per_1000",
        "cc_new_registrations",
        "cc_referrals_per_beneficiary",
        "cc_referrals_completed_share",
        "multi_service_users_per_1000",
    ):
        assert want in ids
    groups = ("roma", "migrant_refugee", "disability", "homeless", "single_parent")
    assert all(f"cc_{g}_beneficiaries_per_1000" in ids for g in groups)
    for measure in ("rejected_rows", "unassigned_addresses", "invalid_amka"):
        for source in ("community_centre", "social_grocery", "home_help"):
            assert f"dq_{measure}_share_{source}" in ids


_DIPHTHONGS = re.compile(r"αι|ει|οι|ου|υι|αυ|ευ|ηυ")
_VOWELS = re.compile(r"[αεηιουω]+")
_SYNIZESIS = frozenset({"για", "πια", "μια", "ποιο", "ποια"})  # monosyllables by synizesis


def _unaccented_polysyllables(text: str) -> list[str]:
    """Lower-case Greek words of two or more syllables written without an accent (the monotonic
    rule: every polysyllable carries a tonos). Upper-case words (acronyms) are not checked."""
    bad = []
    for word in re.findall(r"[\u0370-\u03ff\u1f00-\u1fff]+", text):
        if word != word.lower() or word in _SYNIZESIS:
            continue
        decomposed = unicodedata.normalize("NFD", word)
        if "\u0301" in decomposed:
            continue
        base = "".join(c for c in decomposed if not unicodedata.combining(c))
        if "\u0308" in decomposed:  # a dialytika splits a diphthong
            syllables = len(_VOWELS.findall(base)) + 1
        else:
            syllables = sum(
                len(_DIPHTHONGS.sub("a", g)) for g in _VOWELS.findall(_DIPHTHONGS.sub("α", base))
            )
        if syllables >= 2:
            bad.append(word)
    return bad


@pytest.mark.parametrize(
    "seed, columns",
    [
        ("indicator_catalogue", ["name_el", "definition_el", "numerator_el", "denominator_el"]),
        ("service_catalogue", ["name_el"]),
        ("bodies", ["name_el"]),
        ("programmes", ["name_el"]),
        ("needs_index_domains", ["name_el"]),
    ],
)
def test_greek_text_is_accented(seed: str, columns: list[str]) -> None:
    assert _unaccented_polysyllables("κεντρο της ημερας") == ["κεντρο", "ημερας"]
    for r in read(CATALOGUE / f"{seed}.csv"):
        for c in columns:
            assert re.search(r"[\u0370-\u03ff]", r[c]), (seed, c, r[c])
            assert _unaccented_polysyllables(r[c]) == [], (seed, c, r[c])


# --- service catalogue --------------------------------------------------------------------------


def test_every_contract_service_code_is_in_the_service_catalogue() -> None:
    catalogue = read(CATALOGUE / "service_catalogue.csv")
    got: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in catalogue:
        got[(r["source_entity"], r["source_column"])].add(r["code"])
        assert (
            r["service_id"] == f"{r['structure']}__{r['source_entity'].split('.')[1]}__{r['code']}"
        )
        assert r["source_entity"].startswith(r["structure"] + ".")
    contracts = load_contracts()
    assert set(got) == set(SERVICE_COLUMNS)
    for source_entity, column in SERVICE_COLUMNS:
        col = contracts[source_entity].column(column)
        assert col is not None and col.values, (source_entity, column)
        assert set(col.values) == got[(source_entity, column)], (source_entity, column)


# --- bodies and their spellings -----------------------------------------------------------------


def test_every_generator_spelling_resolves_to_its_body(
    bodies: dict[str, dict[str, str]], spellings: list[dict[str, str]]
) -> None:
    lookup = {r["spelling_normalised"]: r["body_id"] for r in spellings}
    assert len(lookup) == len(spellings)  # one row per normalised spelling
    for body in REFERRAL_BODIES:
        assert body.id in bodies
        for s in body.spellings:
            assert lookup.get(normalise_greek(s)) == body.id, s
        # the clerk's usual variants of case and accents resolve too
        assert lookup.get(normalise_greek(body.spellings[0].upper())) == body.id
        assert lookup.get(normalise_greek(body.name_el)) == body.id


def test_spellings_are_normalised_with_ingest_text(
    bodies: dict[str, dict[str, str]], spellings: list[dict[str, str]]
) -> None:
    for r in spellings:
        assert r["spelling_normalised"] == normalise_greek(r["spelling_raw"]), r
        assert r["body_id"] in bodies
    named = {r["body_id"] for r in spellings}
    assert named == set(bodies)  # every body can be named


def test_bodies_mirror_the_generator_and_the_contracts(bodies: dict[str, dict[str, str]]) -> None:
    for b in REFERRAL_BODIES:
        row = bodies[b.id]
        assert (row["name_el"], row["name_en"], row["body_type"]) == (
            b.name_el,
            b.name_en,
            b.body_type,
        )
        assert yes(row["is_referral_destination"])
    referral_ids = {b.id for b in REFERRAL_BODIES}
    assert {i for i, r in bodies.items() if yes(r["is_referral_destination"])} == referral_ids

    by_structure = {r["structure_id"]: r for r in bodies.values() if r["structure_id"]}
    assert set(by_structure) == {s.id for s in STRUCTURES}
    for s in STRUCTURES:
        row = by_structure[s.id]
        assert row["source"] == s.source
        assert row["structure_code"] == (s.structure or "")

    cc_codes = set(load_contracts()["community_centre.beneficiaries"].column("structure").values)
    got = [r["structure_code"] for r in bodies.values() if r["source"] == "community_centre"]
    assert sorted(got) == sorted(cc_codes)

    hh_units = [r for r in bodies.values() if r["parent_body_id"] == "home_help"]
    assert len(hh_units) == next(s.units for s in STRUCTURES if s.id == "hh_units")
    assert all(yes(r["is_illustrative"]) for r in hh_units)

    for body_id in bodies:  # the parent chain ends (no cycles, no dangling parent)
        seen, cur = set(), body_id
        while bodies[cur]["parent_body_id"]:
            assert cur not in seen
            seen.add(cur)
            cur = bodies[cur]["parent_body_id"]
            assert cur in bodies


# --- programmes ---------------------------------------------------------------------------------


def test_programmes_fund_known_bodies_with_known_esf_codes(
    bodies: dict[str, dict[str, str]],
) -> None:
    programmes = read(CATALOGUE / "programmes.csv")
    bridge = {(r["programme_id"], r["body_id"]) for r in read(CATALOGUE / "programme_bodies.csv")}
    esf = {r["code"] for r in read(SEEDS / "reference" / "ref_esf_common_output_indicators.csv")}
    listed = set()
    for p in programmes:
        for b in p["funded_body_ids"].split(";"):
            assert b in bodies
            listed.add((p["programme_id"], b))
        codes = [c for c in p["esf_output_indicator_codes"].split(";") if c]
        assert set(codes) <= esf
        assert not codes or p["funding"] == "esf_2014_2020"
        assert p["end_year"] == "" or int(p["start_year"]) <= int(p["end_year"])
    assert listed == bridge
    funded = {b for _, b in bridge}
    assert {"community_centre", "social_grocery", "home_help"} <= funded
    assert {p["funding"] for p in programmes} == {
        "esf_2014_2020",
        "espa_2021_2027",
        "national",
        "municipal",
    }


# --- YAML ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("folder", [STANDARD, CATALOGUE])
def test_every_seed_is_documented_with_typed_columns(folder: Path) -> None:
    (yml,) = folder.glob("_*__seeds.yml")
    doc = yaml.safe_load(yml.read_text(encoding="utf-8"))
    seeds = {s["name"]: s for s in doc["seeds"]}
    assert set(seeds) == {p.stem for p in folder.glob("*.csv")}
    for name, spec in seeds.items():
        with open(folder / f"{name}.csv", encoding="utf-8", newline="") as fh:
            header = next(csv.reader(fh))
        assert spec["description"].strip()
        assert {"source", "licence"} <= set(spec["config"]["meta"])
        assert list(spec["config"]["column_types"]) == header, name
        documented = [c["name"] for c in spec["columns"]]
        assert documented == header, name
        assert all(c.get("description") for c in spec["columns"]), name
