"""Service use of the synthetic municipality: the truth of every event.

`simulate_services(geo, pop, cfg, rng)` simulates, over `cfg.scale.start..cfg.scale.end`:

- the community centre (main centre, Roma branch, mobile unit): registrations driven by need
  (poverty, unemployment, migration, Roma, disability, single parenthood, homelessness and the
  neighbourhood's latent deprivation) under a monthly capacity, a share of duplicate
  registrations, services and referrals with their outcome, and the daily walk-in intake;
- the social grocery: household applications, points, decisions under capacity, monthly
  distributions of food, hygiene and baby items;
- Help at Home: a full register from the first month, enrolments from a waiting list as places
  free up, exits (death, institution, moving, other), home visits by role, call-centre and web
  requests with the spring-2020 spike.

Rates and capacities live in `synthetic/config/rates_services.yaml`, each with its source.
Volumes and capacities are for the whole of Heraklion and are multiplied by
`cfg.scale.population_factor`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from synthetic.config import GeneratorConfig, load_yaml
from synthetic.model import SERVICE_SCHEMAS, Geography, Population, Services, check_schema
from synthetic.services_cc import simulate_community_centre
from synthetic.services_common import Ctx, build_calendar, build_people
from synthetic.services_hh import simulate_home_help
from synthetic.services_sg import simulate_social_grocery


@dataclass(frozen=True)
class ReferralBody:
    """A body that receives referrals (the national system's registry of bodies, seed 003)."""

    id: str
    name_el: str
    name_en: str
    body_type: str
    spellings: tuple[str, ...]  # what a clerk types in "Παραπομπή σε Φορέα" (first = usual)


REFERRAL_BODIES: tuple[ReferralBody, ...] = (
    ReferralBody(
        "dypa",
        "Δημόσια Υπηρεσία Απασχόλησης (ΔΥΠΑ, πρώην ΟΑΕΔ)",
        "Public Employment Service (DYPA, formerly OAED)",
        "employment",
        # ΟΑΕΔ was renamed ΔΥΠΑ in 2022; clerks keep typing the old name
        ("ΔΥΠΑ", "Δ.ΥΠ.Α.", "ΟΑΕΔ", "Ο.Α.Ε.Δ.", "ΟΑΕΔ Ηρακλείου", "ΚΠΑ2 Ηρακλείου", "ΔΥΠΑ - ΚΠΑ2"),
    ),
    ReferralBody(
        "social_grocery",
        "Κοινωνικό Παντοπωλείο Δήμου Ηρακλείου",
        "Heraklion Municipal Social Grocery",
        "basic_goods",
        (
            "Κοινωνικό Παντοπωλείο",
            "Κοιν. Παντοπωλείο",
            "ΚΟΙΝΩΝΙΚΟ ΠΑΝΤΟΠΩΛΕΙΟ",
            "Παντοπωλείο Δήμου",
        ),
    ),
    ReferralBody(
        "social_pharmacy",
        "Κοινωνικό Φαρμακείο Δήμου Ηρακλείου",
        "Heraklion Municipal Social Pharmacy",
        "basic_goods",
        ("Κοινωνικό Φαρμακείο", "Κοιν. Φαρμακείο", "ΚΟΙΝΩΝΙΚΟ ΦΑΡΜΑΚΕΙΟ"),
    ),
    ReferralBody(
        "home_help",
        "Πρόγραμμα «Βοήθεια στο Σπίτι»",
        "Help at Home programme",
        "home_care",
        (
            "Βοήθεια στο Σπίτι",
            "Βοηθεια στο σπιτι",
            "ΒΟΗΘΕΙΑ ΣΤΟ ΣΠΙΤΙ",
            "Πρόγραμμα Βοήθεια στο Σπίτι",
        ),
    ),
    ReferralBody(
        "kep",
        "Κέντρο Εξυπηρέτησης Πολιτών (ΚΕΠ)",
        "Citizens' Service Centre (KEP)",
        "citizens_service",
        ("ΚΕΠ", "Κ.Ε.Π.", "ΚΕΠ Δήμου Ηρακλείου", "Κεπ"),
    ),
    ReferralBody(
        "homeless_shelter",
        "Υπνωτήριο Αστέγων Δήμου Ηρακλείου",
        "Heraklion Homeless Shelter",
        "homeless",
        ("Υπνωτήριο Αστέγων", "Υπνωτήριο", "ΥΠΝΩΤΗΡΙΟ", "Κέντρο Αστέγων"),
    ),
    ReferralBody(
        "kedif",
        "Κέντρο Διημέρευσης - Ημερήσιας Φροντίδας ΑμεΑ (ΚΕΔΗΦ)",
        "Day-care centre for people with disabilities (KEDIF)",
        "disability_care",
        ("ΚΕΔΗΦ", "Κ.Ε.Δ.Η.Φ.", "ΚΔΑΠ ΜΕΑ", "Κέντρο Διημέρευσης ΑμεΑ"),
    ),
    ReferralBody(
        "kifi",
        "Κέντρο Ημερήσιας Φροντίδας Ηλικιωμένων (ΚΗΦΗ)",
        "Day-care centre for the elderly (KIFI)",
        "elderly_care",
        ("ΚΗΦΗ", "Κ.Η.Φ.Η.", "ΚΗΦΗ Δήμου", "Κέντρο Ημερήσιας Φροντίδας Ηλικιωμένων"),
    ),
    ReferralBody(
        "mental_health_centre",
        "Κέντρο Ψυχικής Υγείας Ηρακλείου",
        "Heraklion Mental Health Centre",
        "mental_health",
        ("Κέντρο Ψυχικής Υγείας", "ΚΨΥ", "Κ.Ψ.Υ. Ηρακλείου", "ΚΕΝΤΡΟ ΨΥΧΙΚΗΣ ΥΓΕΙΑΣ"),
    ),
    ReferralBody(
        "pagni",
        "Πανεπιστημιακό Γενικό Νοσοκομείο Ηρακλείου (ΠΑΓΝΗ)",
        "University General Hospital of Heraklion (PAGNI)",
        "hospital",
        ("ΠΑΓΝΗ", "Π.Α.Γ.Ν.Η.", "Νοσοκομείο ΠΑΓΝΗ", "Κοινωνική Υπηρεσία ΠΑΓΝΗ"),
    ),
    ReferralBody(
        "womens_shelter",
        "Ξενώνας Φιλοξενίας Γυναικών Θυμάτων Βίας",
        "Shelter for women victims of violence",
        "domestic_violence",
        ("Ξενώνας Φιλοξενίας Γυναικών", "Ξενώνας Γυναικών", "ΞΕΝΩΝΑΣ ΦΙΛΟΞΕΝΙΑΣ"),
    ),
    ReferralBody(
        "efka",
        "e-ΕΦΚΑ (Ηλεκτρονικός Εθνικός Φορέας Κοινωνικής Ασφάλισης)",
        "e-EFKA (national social insurance)",
        "social_insurance",
        ("ΕΦΚΑ", "e-ΕΦΚΑ", "Ε.Φ.Κ.Α.", "ΙΚΑ", "ΕΦΚΑ / ΚΕΠΑ"),
    ),
)


@dataclass(frozen=True)
class Structure:
    """One of the municipality's structures; `capacity` at full (Heraklion) scale."""

    id: str
    source: str  # landing source: community_centre, social_grocery, home_help
    structure: str | None  # community-centre branch code (main / roma_branch / mobile_unit)
    name_el: str
    name_en: str
    capacity: int
    capacity_unit: str  # registrations_per_month, active_households, active_clients
    units: int = 1

    def scaled_capacity(self, population_factor: float) -> int:
        return max(1, int(round(self.capacity * population_factor)))


def load_rates(path: Any = None) -> dict[str, Any]:
    """The service-use rates (synthetic/config/rates_services.yaml, or a municipality's copy)."""
    return load_yaml("rates_services", path)


def structures_from_rates(rates: dict[str, Any]) -> tuple[Structure, ...]:
    return tuple(
        Structure(
            id=s["id"],
            source=s["source"],
            structure=s.get("structure"),
            name_el=s["name_el"],
            name_en=s["name_en"],
            capacity=int(s["capacity"]),
            capacity_unit=s["capacity_unit"],
            units=int(s.get("units", 1)),
        )
        for s in rates["structures"]
    )


STRUCTURES: tuple[Structure, ...] = structures_from_rates(load_rates())


def referral_bodies_frame() -> pl.DataFrame:
    """REFERRAL_BODIES as a table (spellings as a list column)."""
    return pl.DataFrame(
        {
            "id": [b.id for b in REFERRAL_BODIES],
            "name_el": [b.name_el for b in REFERRAL_BODIES],
            "name_en": [b.name_en for b in REFERRAL_BODIES],
            "body_type": [b.body_type for b in REFERRAL_BODIES],
            "spellings": [list(b.spellings) for b in REFERRAL_BODIES],
        }
    )


def structures_frame(population_factor: float = 1.0) -> pl.DataFrame:
    """STRUCTURES as a table, with the capacity at the given scale."""
    return pl.DataFrame(
        {
            "id": [s.id for s in STRUCTURES],
            "source": [s.source for s in STRUCTURES],
            "structure": [s.structure for s in STRUCTURES],
            "name_el": [s.name_el for s in STRUCTURES],
            "name_en": [s.name_en for s in STRUCTURES],
            "capacity": [s.scaled_capacity(population_factor) for s in STRUCTURES],
            "capacity_unit": [s.capacity_unit for s in STRUCTURES],
            "units": [s.units for s in STRUCTURES],
        },
        schema_overrides={"structure": pl.String},
    )


def capacities(cfg: GeneratorConfig, rates: dict[str, Any] | None = None) -> dict[str, int]:
    """Capacity of each structure at the configuration's scale (structure id -> capacity)."""
    structs = structures_from_rates(rates) if rates is not None else STRUCTURES
    return {s.id: s.scaled_capacity(cfg.scale.population_factor) for s in structs}


def _rates_for(cfg: GeneratorConfig, rates: dict[str, Any] | None) -> dict[str, Any]:
    if rates is not None:
        return rates
    override = cfg.rates.get("services") if isinstance(cfg.rates, dict) else None
    return override if override else load_rates()


def simulate_services(
    geo: Geography,
    pop: Population,
    cfg: GeneratorConfig,
    rng: np.random.Generator,
    *,
    rates: dict[str, Any] | None = None,
) -> Services:
    """Simulate every service event of the municipality over cfg.scale.start..end.

    `rates` defaults to `cfg.rates["services"]` when present, else rates_services.yaml.
    """
    r = _rates_for(cfg, rates)
    cal = build_calendar(cfg.scale.start, cfg.scale.end, r["calendar"])
    people = build_people(geo, pop, int(r["village_max_community_population"]))
    ctx = Ctx(
        cal=cal,
        people=people,
        rates=r,
        factor=float(cfg.scale.population_factor),
        capacity=capacities(cfg, r),
        capacity_exact={
            s.id: s.capacity * float(cfg.scale.population_factor) for s in structures_from_rates(r)
        },
        rng=rng,
    )
    bodies = [(b.id, b.spellings[0]) for b in REFERRAL_BODIES]
    cc_beneficiaries, cc_services, cc_intake = simulate_community_centre(ctx, bodies)
    sg_households, sg_distributions = simulate_social_grocery(ctx)
    hh_clients, hh_visits, hh_requests = simulate_home_help(ctx)
    services = Services(
        cc_beneficiaries=cc_beneficiaries,
        cc_services=cc_services,
        cc_intake=cc_intake,
        sg_households=sg_households,
        sg_distributions=sg_distributions,
        hh_clients=hh_clients,
        hh_visits=hh_visits,
        hh_requests=hh_requests,
    )
    for name, schema in SERVICE_SCHEMAS.items():
        check_schema(getattr(services, name), schema, name)
    return services


__all__ = [
    "REFERRAL_BODIES",
    "STRUCTURES",
    "ReferralBody",
    "Structure",
    "capacities",
    "load_rates",
    "referral_bodies_frame",
    "simulate_services",
    "structures_frame",
]
