"""The data model shared by the parts of the generator.

geography.build_geography(spec, rng)      -> Geography
population.build_population(geo, cfg, rng) -> Population
services.simulate_services(geo, pop, cfg, rng) -> Services
exports.write_exports(world, cfg, out_dir, rng) -> list[ExportFile] + truth

Every table is a polars DataFrame whose columns and dtypes are listed below; `check_schema`
asserts them, so that a part that drifts from the contract fails loudly in the tests.
Canonical codes are listed in docs/design.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import polars as pl

# --- geography -----------------------------------------------------------------------------

AREAS_SCHEMA: dict[str, pl.DataType] = {
    "neighbourhood_id": pl.String,  # "<community_code>-NN", e.g. "71010101-07"
    "neighbourhood_name_el": pl.String,
    "neighbourhood_name_en": pl.String,
    "community_code": pl.String,  # ELSTAT 2011, 8 digits
    "community_name_el": pl.String,
    "municipal_unit_code": pl.String,  # ELSTAT 2011, 6 digits
    "municipal_unit_name_el": pl.String,
    "municipality_code": pl.String,  # ELSTAT 2011, 4 digits
    "is_illustrative": pl.Boolean,  # True where the partition is invented (city neighbourhoods)
    "population_2011": pl.Int64,  # sums to the community's census 2011 resident population
    "population_2021": pl.Int64,  # estimate; sums to the municipality's 2021 figure
    "latent_deprivation": pl.Float64,  # standardised, mean 0 sd 1 across neighbourhoods
    "latent_ageing": pl.Float64,  # standardised
    "roma_share": pl.Float64,  # share of residents who are Roma
    "migrant_share": pl.Float64,  # share of residents with non-Greek citizenship
    "centroid_lon": pl.Float64,
    "centroid_lat": pl.Float64,
    "geometry_wkt": pl.String,  # WGS84 polygon / multipolygon
}

GAZETTEER_SCHEMA: dict[str, pl.DataType] = {
    "street_id": pl.Int64,
    "street_name": pl.String,  # canonical Greek with accents, no type word: "Κνωσού"
    "street_type": pl.String,  # "Οδός", "Λεωφόρος", "Πλατεία"
    "number_from": pl.Int64,  # inclusive
    "number_to": pl.Int64,  # inclusive
    "postcode": pl.String,  # 5 digits
    "settlement_name": pl.String,  # the area a clerk writes under "Περιοχή"
    "neighbourhood_id": pl.String,
}


@dataclass(frozen=True)
class Geography:
    municipality_code: str
    municipality_name_el: str
    municipality_name_en: str
    areas: pl.DataFrame  # AREAS_SCHEMA
    gazetteer: pl.DataFrame  # GAZETTEER_SCHEMA
    boundary_wkt: str  # municipality boundary, WGS84


# --- population -----------------------------------------------------------------------------

HOUSEHOLDS_SCHEMA: dict[str, pl.DataType] = {
    "household_id": pl.Int64,
    "neighbourhood_id": pl.String,
    "street_id": pl.Int64,  # null for homeless people (one-person "households")
    "street_number": pl.Int64,
    "street_number_suffix": pl.String,  # "" or "Α", "Β"
    "postcode": pl.String,
    "size": pl.Int64,
    "minors": pl.Int64,
    "disabled_members": pl.Int64,
    "annual_income_eur": pl.Float64,
    "is_single_parent": pl.Boolean,
    "is_large_family": pl.Boolean,
    "is_poor": pl.Boolean,  # below the poverty line (latent; not in any export)
}

PERSONS_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64,
    "household_id": pl.Int64,
    "neighbourhood_id": pl.String,
    "sex": pl.String,  # M / F
    "birth_date": pl.Date,
    "citizenship": pl.String,  # ISO 3166 alpha-2, "GR", "AL", ...
    "citizenship_group": pl.String,  # greek / eu / non_eu / stateless_unknown
    "is_roma": pl.Boolean,
    "is_migrant": pl.Boolean,
    "is_refugee": pl.Boolean,
    "is_homeless": pl.Boolean,
    "disability_pct": pl.Int64,  # 0, or 50..100
    "employment_status": pl.String,  # null for children
    "education": pl.String,  # null for children
    "lives_alone": pl.Boolean,
    "care_need": pl.Boolean,  # latent
    "death_on": pl.Date,  # null if alive at the end of the simulation
    "surname": pl.String,
    "first_name": pl.String,
    "father_name": pl.String,
    "amka": pl.String,  # 11 digits, null where the person has none
    "afm": pl.String,  # 9 digits, null for children and some others
    "phone": pl.String,
}


@dataclass(frozen=True)
class Population:
    households: pl.DataFrame  # HOUSEHOLDS_SCHEMA
    persons: pl.DataFrame  # PERSONS_SCHEMA


# --- services ---------------------------------------------------------------------------------
# The world's truth: each row is one real event with its whole lifecycle; exports write what was
# known at export time.

CC_BENEFICIARIES_SCHEMA: dict[str, pl.DataType] = {
    "beneficiary_code": pl.String,
    "person_id": pl.Int64,
    "registered_on": pl.Date,
    "structure": pl.String,
    "household_size": pl.Int64,
    "household_minors": pl.Int64,
    "employment_status": pl.String,
    "education": pl.String,
    "vulnerable_groups": pl.List(pl.String),
    "kea_recipient": pl.Boolean,
}
CC_SERVICES_SCHEMA: dict[str, pl.DataType] = {
    "service_id": pl.Int64,
    "beneficiary_code": pl.String,
    "person_id": pl.Int64,
    "service_on": pl.Date,
    "service_category": pl.String,
    "service": pl.String,  # free text description
    "referral_body_id": pl.String,  # null unless a referral; ids of services.REFERRAL_BODIES
    "referral_status": pl.String,  # final status; null unless a referral
    "outcome_on": pl.Date,  # when the final status was reached
}
CC_INTAKE_SCHEMA: dict[str, pl.DataType] = {
    "visit_on": pl.Date,
    "visit_time": pl.String,  # "HH:MM"
    "structure": pl.String,
    "is_new": pl.Boolean,
    "reason": pl.String,
}
SG_HOUSEHOLDS_SCHEMA: dict[str, pl.DataType] = {
    "registry_no": pl.String,
    "person_id": pl.Int64,  # the applicant
    "household_id": pl.Int64,
    "applied_on": pl.Date,
    "members": pl.Int64,
    "minors": pl.Int64,
    "disabled_members": pl.Int64,
    "annual_income_eur": pl.Float64,
    "points": pl.Int64,
    "decision": pl.String,
    "decision_on": pl.Date,
    "membership_end_on": pl.Date,  # null unless approved
}
SG_DISTRIBUTIONS_SCHEMA: dict[str, pl.DataType] = {
    "registry_no": pl.String,
    "household_id": pl.Int64,
    "distributed_on": pl.Date,
    "category": pl.String,
    "quantity": pl.Float64,
    "unit": pl.String,
    "value_eur": pl.Float64,
}
HH_CLIENTS_SCHEMA: dict[str, pl.DataType] = {
    "client_id": pl.Int64,
    "person_id": pl.Int64,
    "enrolled_on": pl.Date,
    "exited_on": pl.Date,
    "exit_reason": pl.String,
    "lives_alone": pl.Boolean,
    "disability_pct": pl.Int64,
    "monthly_income_eur": pl.Float64,
}
HH_VISITS_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64,
    "visit_on": pl.Date,
    "staff_role": pl.String,
    "service_type": pl.String,
    "duration_minutes": pl.Int64,
}
HH_REQUESTS_SCHEMA: dict[str, pl.DataType] = {
    "request_no": pl.String,
    "requested_at": pl.Datetime("us"),
    "channel": pl.String,
    "person_id": pl.Int64,  # the person in need (always known to the truth)
    "amka_given": pl.Boolean,  # whether the caller gave an ΑΜΚΑ
    "need_type": pl.String,
    "status": pl.String,  # final status
    "fulfilled_on": pl.Date,  # null unless fulfilled
    "closed_on": pl.Date,  # when the final status was reached
}


@dataclass(frozen=True)
class Services:
    cc_beneficiaries: pl.DataFrame
    cc_services: pl.DataFrame
    cc_intake: pl.DataFrame
    sg_households: pl.DataFrame
    sg_distributions: pl.DataFrame
    hh_clients: pl.DataFrame
    hh_visits: pl.DataFrame
    hh_requests: pl.DataFrame


@dataclass(frozen=True)
class World:
    geography: Geography
    population: Population
    services: Services
    start: date
    end: date  # inclusive last day of the simulated period
    meta: dict = field(default_factory=dict)


SERVICE_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "cc_beneficiaries": CC_BENEFICIARIES_SCHEMA,
    "cc_services": CC_SERVICES_SCHEMA,
    "cc_intake": CC_INTAKE_SCHEMA,
    "sg_households": SG_HOUSEHOLDS_SCHEMA,
    "sg_distributions": SG_DISTRIBUTIONS_SCHEMA,
    "hh_clients": HH_CLIENTS_SCHEMA,
    "hh_visits": HH_VISITS_SCHEMA,
    "hh_requests": HH_REQUESTS_SCHEMA,
}


def check_schema(df: pl.DataFrame, schema: dict[str, pl.DataType], name: str) -> None:
    """Raise if `df` does not have exactly the columns and dtypes of `schema` (order free)."""
    got = dict(df.schema)
    missing = [c for c in schema if c not in got]
    extra = [c for c in got if c not in schema]
    wrong = [f"{c}: {got[c]} != {schema[c]}" for c in schema if c in got and got[c] != schema[c]]
    if missing or extra or wrong:
        raise ValueError(f"{name}: missing={missing} extra={extra} wrong_types={wrong}")


def empty(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)
