"""Source contracts: loading, header matching, detection, and agreement with the generator.

The generator's header variants and value spellings (synthetic/config/headers.yaml) are read
here, in the test, to check that the independently written contracts recognise every one.
"""

from __future__ import annotations

import unicodedata
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml

from ingest.contracts import (
    CONTRACTS_DIR,
    ContractError,
    detect_contract,
    load_contract,
    load_contracts,
    parse_contract,
    resolve_bound,
)
from ingest.readers import parse_column

ROOT = Path(__file__).resolve().parents[2]
HEADERS = yaml.safe_load((ROOT / "synthetic/config/headers.yaml").read_text(encoding="utf-8"))
ENTITIES = sorted(HEADERS["entities"])
TODAY = date(2024, 6, 15)

EXPECTED_FILES = {
    "community_centre.beneficiaries.v1.yaml",
    "community_centre.services.v1.yaml",
    "community_centre.intake.v1.yaml",
    "social_grocery.households.v1.yaml",
    "social_grocery.distributions.v1.yaml",
    "home_help.clients.v1.yaml",
    "home_help.visits.v1.yaml",
    "home_help.requests.v1.yaml",
}

# canonical codes, copied by hand from docs/design.md ("Canonical codes")
DESIGN_CODES = {
    ("community_centre.beneficiaries", "sex"): {"M", "F"},
    ("home_help.clients", "sex"): {"M", "F"},
    ("community_centre.beneficiaries", "citizenship"): {
        "greek",
        "eu",
        "non_eu",
        "stateless_unknown",
    },
    ("community_centre.beneficiaries", "employment_status"): {
        "employed",
        "unemployed",
        "long_term_unemployed",
        "inactive",
        "retired",
    },
    ("community_centre.beneficiaries", "education"): {
        "none",
        "primary",
        "lower_secondary",
        "upper_secondary",
        "tertiary",
    },
    ("community_centre.beneficiaries", "vulnerable_groups"): {
        "roma",
        "migrant",
        "refugee",
        "disability",
        "homeless",
        "single_parent",
        "large_family",
    },
    ("community_centre.beneficiaries", "structure"): {"main", "roma_branch", "mobile_unit"},
    ("community_centre.intake", "structure"): {"main", "roma_branch", "mobile_unit"},
    ("community_centre.services", "service_category"): {
        "information",
        "kea_support",
        "psychosocial",
        "learning_support",
        "job_counselling",
        "legal_information",
        "goods_distribution",
        "referral",
    },
    ("community_centre.services", "referral_status"): {"in_progress", "completed", "rejected"},
    ("community_centre.intake", "reason"): {
        "information",
        "kea_application",
        "housing_benefit",
        "referral_follow_up",
        "psychosocial",
        "goods",
        "other",
    },
    ("social_grocery.households", "decision"): {"approved", "rejected", "pending"},
    ("social_grocery.distributions", "category"): {"food", "hygiene", "baby"},
    ("social_grocery.distributions", "unit"): {"pieces", "kg", "boxes"},
    ("home_help.clients", "exit_reason"): {"death", "moved", "institution", "other"},
    ("home_help.visits", "staff_role"): {"social_worker", "nurse", "family_carer"},
    ("home_help.visits", "service_type"): {
        "nursing_care",
        "home_help",
        "escort",
        "psychosocial",
        "supply_delivery",
    },
    ("home_help.requests", "channel"): {"phone", "web", "in_person"},
    ("home_help.requests", "need_type"): {
        "food",
        "medicine",
        "kep_certificate",
        "escort",
        "medical_care",
        "other",
    },
    ("home_help.requests", "status"): {"new", "in_progress", "fulfilled", "rejected"},
}

# where each of the generator's value lists is written
VALUE_COLUMNS = {
    "sex": [("community_centre.beneficiaries", "sex"), ("home_help.clients", "sex")],
    "yes_no": [
        ("community_centre.beneficiaries", "kea_recipient"),
        ("home_help.clients", "lives_alone"),
    ],
    "employment_status": [("community_centre.beneficiaries", "employment_status")],
    "education": [("community_centre.beneficiaries", "education")],
    "vulnerable_groups": [("community_centre.beneficiaries", "vulnerable_groups")],
    "cc_structure": [
        ("community_centre.beneficiaries", "structure"),
        ("community_centre.intake", "structure"),
    ],
    "service_category": [("community_centre.services", "service_category")],
    "referral_status": [("community_centre.services", "referral_status")],
    "intake_is_new": [("community_centre.intake", "is_new")],
    "intake_reason": [("community_centre.intake", "reason")],
    "grocery_decision": [("social_grocery.households", "decision")],
    "grocery_category": [("social_grocery.distributions", "category")],
    "grocery_unit": [("social_grocery.distributions", "unit")],
    "exit_reason": [("home_help.clients", "exit_reason")],
    "staff_role": [("home_help.visits", "staff_role")],
    "hh_service_type": [("home_help.visits", "service_type")],
    "request_channel": [("home_help.requests", "channel")],
    "need_type": [("home_help.requests", "need_type")],
    "request_status": [("home_help.requests", "status")],
}


@pytest.fixture(scope="module")
def contracts():
    return load_contracts()


# --- header variants, written as the generator's profiles would ------------------------------


def caps_no_accents(s: str) -> str:
    t = unicodedata.normalize("NFD", s)
    return "".join(ch for ch in t if unicodedata.category(ch) != "Mn").upper()


def dotted(s: str) -> str:
    """Extra spaces, and dots after abbreviated words."""
    words = s.split()
    out = [w + "." if len(w) <= 3 and not w.endswith(".") and w.isalpha() else w for w in words]
    return "  " + "   ".join(out) + " "


def profile_headers(entity: str, profile: str) -> list[str]:
    cols = HEADERS["entities"][entity]["columns"]
    if profile == "national":
        return [v[0] for v in cols.values()]
    if profile == "local_caps":
        return [caps_no_accents(v[0]) for v in cols.values()]
    if profile == "local_alt":
        return [v[1] if len(v) > 1 else v[0] for v in cols.values()]
    if profile == "dotted":
        return [dotted(v[-1]) for v in cols.values()]
    raise ValueError(profile)


def test_every_contract_file_is_there_and_loads(contracts):
    names = {p.name for p in CONTRACTS_DIR.glob("*.yaml")}
    assert names >= EXPECTED_FILES
    assert set(contracts) == {n.rsplit(".v", 1)[0] for n in EXPECTED_FILES}
    for key, c in contracts.items():
        assert c.source_entity == key
        assert c.id == f"{key}.v{c.version}"
        assert c.title["el"] and c.title["en"]
        assert c.description["el"] and c.description["en"]
        assert c.column(c.period_column).type in ("date", "datetime")
        assert all(k in c.column_names for k in c.key)
        assert c.required_columns, key


def test_headers_yaml_entities_have_contracts(contracts):
    assert set(ENTITIES) == set(contracts)


@pytest.mark.parametrize("entity", ENTITIES)
def test_every_generator_header_variant_is_recognised(contracts, entity):
    c = contracts[entity]
    for column, variants in HEADERS["entities"][entity]["columns"].items():
        assert column in c.column_names, f"{entity}: no column {column}"
        for v in variants:
            for form in (v, caps_no_accents(v), dotted(v), v.lower()):
                assert c.match_header(form) == column, (entity, column, form)


@pytest.mark.parametrize("entity", ENTITIES)
@pytest.mark.parametrize("profile", ["national", "local_caps", "local_alt", "dotted"])
def test_profile_maps_completely_and_is_detected_as_its_own_entity(contracts, entity, profile):
    headers = profile_headers(entity, profile)
    m = contracts[entity].map_headers(headers)
    assert m.ok and not m.unknown and not m.duplicates
    assert list(m.positions.values()) == list(HEADERS["entities"][entity]["columns"])
    best, score = detect_contract(headers, contracts.values())
    assert best is not None and best.source_entity == entity
    assert score == pytest.approx(1.0)
    for other in contracts.values():
        if other.source_entity != entity:
            assert other.header_score(headers) < 0.7, (entity, other.id)


@pytest.mark.parametrize("entity", ENTITIES)
def test_random_mixes_of_variants_are_never_mistaken(contracts, entity):
    rng = np.random.default_rng(7)
    cols = HEADERS["entities"][entity]["columns"]
    for _ in range(100):
        headers = [vs[rng.integers(len(vs))] for vs in cols.values()]
        if rng.random() < 0.5:
            headers = [caps_no_accents(h) for h in headers]
        keep = sorted(rng.permutation(len(headers))[: max(3, len(headers) * 2 // 3)])
        subset = [headers[i] for i in keep]  # some optional columns dropped, order kept
        best, _ = detect_contract(subset, contracts.values())
        assert best is not None and best.source_entity == entity, subset


def test_every_generator_spelling_maps_to_its_canonical_code(contracts):
    assert set(VALUE_COLUMNS) == set(HEADERS["values"]), "map new value lists in this test"
    for name, per_code in HEADERS["values"].items():
        for entity, column in VALUE_COLUMNS[name]:
            col = contracts[entity].column(column)
            raw, expected = [], []
            for code, spellings in per_code.items():
                for sp in spellings:
                    for form in (sp, caps_no_accents(sp), f"  {sp.lower()} "):
                        raw.append(form)
                        expected.append(code)
            p = parse_column(pl.Series(column, raw), col, today=TODAY)
            got = p.values.to_list()
            if col.type == "code_list":
                got = [v[0] if v else None for v in got]
            assert p.errors.null_count() == len(raw), (name, column, p.errors.to_list())
            assert got == expected, (name, column)


def test_coded_columns_use_the_design_codes(contracts):
    for (entity, column), codes in DESIGN_CODES.items():
        col = contracts[entity].column(column)
        assert col.type in ("code", "code_list")
        assert set(col.values) == codes, (entity, column)
    coded = {
        (k, c.name)
        for k, con in contracts.items()
        for c in con.columns
        if c.type in ("code", "code_list")
    }
    assert coded == set(DESIGN_CODES)


def test_identifiers_and_names_are_personal_data(contracts):
    for c in contracts.values():
        for col in c.columns:
            if col.type in ("amka", "afm", "name", "phone") or col.name in (
                "street",
                "street_number",
                "beneficiary_code",
                "registry_no",
                "birth_date",
            ):
                assert col.pii, (c.id, col.name)
                assert col.pii_action in ("pseudonymise", "drop", "year_only")
            if (
                col.name in ("postcode", "area", "sex")
                or col.type in ("code", "date")
                and (col.name != "birth_date")
            ):
                assert not col.pii, (c.id, col.name)
    assert load_contract("home_help.clients").column("birth_date").pii_action == "year_only"


def test_row_rules_named_in_the_brief_are_present(contracts):
    rules = {(c.source_entity, r.expression, r.reason) for c in contracts.values() for r in c.rules}
    for want in [
        ("community_centre.services", "outcome_on >= service_on", "date_order"),
        ("home_help.clients", "exited_on >= enrolled_on", "date_order"),
        ("social_grocery.households", "decision_on >= applied_on", "date_order"),
        ("social_grocery.households", "membership_end_on >= decision_on", "date_order"),
    ]:
        assert want in rules


# --- map_headers reports ---------------------------------------------------------------------


def test_map_headers_reports_unknown_missing_and_duplicates():
    c = load_contract("home_help.visits")
    m = c.map_headers(["Α.Μ.Κ.Α.", "ΗΜΕΡΟΜΗΝΙΑ", "Σχόλια", "", None, "Ειδικότητα", "ΑΜΚΑ"])
    assert m.matched == {"amka": "Α.Μ.Κ.Α.", "visit_on": "ΗΜΕΡΟΜΗΝΙΑ", "staff_role": "Ειδικότητα"}
    assert m.positions == {0: "amka", 1: "visit_on", 5: "staff_role"}
    assert m.unknown == ("Σχόλια",)
    assert m.missing_required == ("service_type", "duration_minutes")
    assert m.missing_optional == ()
    assert m.duplicates == {"amka": ("Α.Μ.Κ.Α.", "ΑΜΚΑ")}
    assert not m.ok
    assert m.to_dict()["missing_required"] == ["service_type", "duration_minutes"]


def test_detect_contract_on_nothing():
    cs = load_contracts().values()
    assert detect_contract([], cs) == (None, 0.0)
    assert detect_contract(["Σχόλια", "Παρατηρήσεις"], cs) == (None, 0.0)


# --- loading errors and bounds ---------------------------------------------------------------


def _doc(**over):
    doc = {
        "id": "x.y.v1",
        "source": "x",
        "entity": "y",
        "version": 1,
        "period": {"column": "on"},
        "columns": [
            {"name": "on", "aliases": ["Ημερομηνία"], "type": "date", "required": True},
            {"name": "kind", "aliases": ["Είδος"], "type": "code", "values": {"a": ["Α"]}},
        ],
    }
    doc.update(over)
    return doc


def test_parse_contract_accepts_a_minimal_document():
    c = parse_contract(_doc())
    assert c.id == "x.y.v1" and c.period_rule == "event" and c.key == ()
    assert c.match_header("ημερομηνια") == "on"


@pytest.mark.parametrize(
    "bad",
    [
        {"id": "x.z.v1"},  # id does not match source/entity/version
        {"period": {"column": "nope"}},
        {"rules": [{"check": "on >= nope", "reason": "date_order"}]},
        {"rules": [{"check": "on after kind"}]},
        {"columns": [{"name": "on", "type": "date"}, {"name": "on", "type": "date"}]},
        {"columns": [{"name": "on", "type": "datum"}]},
        {"columns": [{"name": "on", "type": "date"}, {"name": "k", "type": "code"}]},
        # one header wording naming two columns
        {
            "columns": [
                {"name": "on", "aliases": ["Ημ/νία"], "type": "date"},
                {"name": "at", "aliases": ["ΗΜ ΝΙΑ"], "type": "date"},
            ]
        },
        # one spelling for two codes
        {
            "columns": [
                {"name": "on", "type": "date"},
                {"name": "k", "type": "code", "values": {"a": ["Άλλο"], "b": ["ΑΛΛΟ"]}},
            ]
        },
        # a bare YAML NO read as False
        {
            "columns": [
                {"name": "on", "type": "date"},
                {"name": "k", "type": "code", "values": {"non_eu": [False]}},
            ]
        },
        {"columns": [{"name": "on", "type": "date", "max": "tomorrow"}]},
    ],
)
def test_parse_contract_refuses_inconsistent_documents(bad):
    with pytest.raises(ContractError):
        parse_contract(_doc(**bad))


def test_yaml_bare_no_is_caught_when_loading(tmp_path):
    text = (CONTRACTS_DIR / "community_centre.beneficiaries.v1.yaml").read_text(encoding="utf-8")
    assert '"NO"' in text
    (tmp_path / "community_centre.beneficiaries.v1.yaml").write_text(
        text.replace('"NO"', "NO"), encoding="utf-8"
    )
    with pytest.raises(ContractError, match="quote"):
        load_contracts(tmp_path)


def test_versions_latest_wins_and_explicit_version(tmp_path):
    text = (CONTRACTS_DIR / "home_help.visits.v1.yaml").read_text(encoding="utf-8")
    (tmp_path / "home_help.visits.v1.yaml").write_text(text, encoding="utf-8")
    v2 = text.replace("id: home_help.visits.v1", "id: home_help.visits.v2").replace(
        "version: 1", "version: 2"
    )
    v2 = v2.replace("aliases: [Διάρκεια (λεπτά),", "aliases: [Λεπτά Επίσκεψης, Διάρκεια (λεπτά),")
    (tmp_path / "home_help.visits.v2.yaml").write_text(v2, encoding="utf-8")
    assert load_contract("home_help.visits", directory=tmp_path).version == 2
    assert load_contract("home_help.visits", version=1, directory=tmp_path).version == 1
    assert load_contract("home_help.visits.v1", directory=tmp_path).version == 1
    # a municipality's new wording is a YAML change: v2 knows it, v1 does not
    v1c = load_contract("home_help.visits.v1", directory=tmp_path)
    v2c = load_contract("home_help.visits.v2", directory=tmp_path)
    assert v1c.match_header("ΛΕΠΤΑ ΕΠΙΣΚΕΨΗΣ") is None
    assert v2c.match_header("ΛΕΠΤΑ ΕΠΙΣΚΕΨΗΣ") == "duration_minutes"
    with pytest.raises(KeyError):
        load_contract("home_help.nothing", directory=tmp_path)


@pytest.mark.parametrize(
    ("bound", "expected"),
    [
        ("today", date(2024, 2, 29)),
        ("today+1y", date(2025, 2, 28)),  # no 29 Feb in 2025: the month's last day
        ("today-4y", date(2020, 2, 29)),
        ("today+1m", date(2024, 3, 29)),
        ("today - 2m", date(2023, 12, 29)),
        ("today+10d", date(2024, 3, 10)),
        (date(1900, 1, 1), date(1900, 1, 1)),
        ("2000-01-01", date(2000, 1, 1)),
        (5, 5),
        (None, None),
    ],
)
def test_resolve_bound(bound, expected):
    assert resolve_bound(bound, date(2024, 2, 29)) == expected


def test_column_bounds_come_from_the_contract():
    c = load_contract("community_centre.beneficiaries")
    assert c.column("birth_date").bounds(TODAY) == (date(1900, 1, 1), TODAY)
    assert c.column("registered_on").bounds(TODAY) == (date(2000, 1, 1), date(2025, 6, 15))
    assert c.column("household_size").bounds(TODAY) == (1, 30)


def test_row_rule_violations_compare_dates_and_datetimes():
    from datetime import datetime

    rule = next(r for r in load_contract("home_help.requests").rules if r.left == "fulfilled_on")
    df = pl.DataFrame(
        {
            "requested_at": [
                datetime(2020, 3, 2, 18, 0),
                datetime(2020, 3, 2, 18, 0),
                datetime(2020, 3, 5, 9, 0),
                None,
            ],
            "fulfilled_on": [date(2020, 3, 2), date(2020, 3, 1), None, date(2020, 1, 1)],
        }
    )
    # same day counts as in order; a missing side is not a violation
    assert rule.violated(df).to_list() == [False, True, False, False]
