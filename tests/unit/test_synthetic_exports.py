"""Tests of synthetic/exports.py, faults.py, truth.py on a small fake World built here.

The files are read back independently of the writer: CSV with the csv module in the recorded
encoding, XLSX with zipfile + xml (no reader shared with the writer).
"""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import math
import re
import unicodedata
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np
import polars as pl
import pytest

from synthetic.config import GeneratorConfig, Scale, load_yaml
from synthetic.model import (
    AREAS_SCHEMA,
    GAZETTEER_SCHEMA,
    HOUSEHOLDS_SCHEMA,
    PERSONS_SCHEMA,
    SERVICE_SCHEMAS,
    Geography,
    Population,
    Services,
    World,
    check_schema,
)

# --- a fake World following synthetic/model.py ---------------------------------------------------

STREETS = [
    ("Κνωσού", "Λεωφόρος"), ("Ικάρου", "Λεωφόρος"), ("Καλοκαιρινού", "Λεωφόρος"),
    ("Έβανς", "Οδός"), ("Μίνωος", "Οδός"), ("Γιαμαλάκη", "Οδός"), ("Σμύρνης", "Οδός"),
    ("Ελευθερίας", "Πλατεία"), ("Δικαιοσύνης", "Οδός"), ("Μεραμβέλλου", "Οδός"),
    ("Φορτέτσας", "Οδός"), ("Αλικαρνασσού", "Λεωφόρος"),
]  # fmt: skip
NBHDS = [
    ("71010101-01", "Φορτέτσα", "71010101", "71900", "Ηράκλειο"),
    ("71010101-02", "Μασταμπάς", "71010101", "71305", "Ηράκλειο"),
    ("71010101-03", "Δειλινά", "71010101", "71307", "Ηράκλειο"),
    ("71010101-04", "Άγιος Ιωάννης", "71010101", "71306", "Ηράκλειο"),
    ("71010102-01", "Σκαλάνι", "71010102", "71500", "Σκαλάνι"),
]
SURNAMES_M = ["Παπαδάκης", "Μανωλάκης", "Κοντός", "Τζανάκης", "Ξυλούρης", "Μαρκάκης", "Βασιλείου", "Χατζηδάκης", "Σπανουδάκης", "Πετράκης"]  # fmt: skip
SURNAMES_F = ["Παπαδάκη", "Μανωλάκη", "Κοντού", "Τζανάκη", "Ξυλούρη", "Μαρκάκη", "Βασιλείου", "Χατζηδάκη", "Σπανουδάκη", "Πετράκη"]  # fmt: skip
FIRST_M = ["Γιώργος", "Νίκος", "Μανώλης", "Κώστας", "Ιωάννης", "Δημήτρης", "Αντώνης", "Μιχάλης"]
FIRST_F = ["Μαρία", "Ελένη", "Κατερίνα", "Ειρήνη", "Σοφία", "Αικατερίνη", "Ευαγγελία", "Δέσποινα"]


def luhn_ok(s: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(s)):
        d = int(ch)
        if i % 2:
            d = d * 2
            d = d - 9 if d > 9 else d
        total += d
    return total % 10 == 0


def afm_ok(s: str) -> bool:
    if len(s) != 9 or not s.isdigit():
        return False
    total = sum(int(s[i]) * 2 ** (8 - i) for i in range(8))
    return total % 11 % 10 == int(s[8])


def make_amka(b: date, male: bool, rng: np.random.Generator) -> str:
    serial = f"{int(rng.integers(0, 1000)):03d}{int(rng.choice([1, 3, 5, 7, 9]) if male else rng.choice([0, 2, 4, 6, 8]))}"
    base = f"{b.day:02d}{b.month:02d}{b.year % 100:02d}{serial}"
    return next(base + str(d) for d in range(10) if luhn_ok(base + str(d)))


def make_afm(rng: np.random.Generator) -> str:
    first8 = ("0" if rng.random() < 0.35 else "1") + "".join(
        str(int(x)) for x in rng.integers(0, 10, 7)
    )
    return next(first8 + str(d) for d in range(10) if afm_ok(first8 + str(d)))


def _rand_date(rng: np.random.Generator, a: date, b: date) -> date:
    return a + timedelta(days=int(rng.integers(0, (b - a).days + 1)))


def make_world(
    seed: int = 7,
    scale: float = 1.0,
    start: date = date(2020, 1, 1),
    end: date = date(2020, 12, 31),
) -> World:
    rng = np.random.default_rng(seed)
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    areas = pl.DataFrame(
        {
            "neighbourhood_id": [n[0] for n in NBHDS],
            "neighbourhood_name_el": [n[1] for n in NBHDS],
            "neighbourhood_name_en": [n[1] for n in NBHDS],
            "community_code": [n[2] for n in NBHDS],
            "community_name_el": [n[4] for n in NBHDS],
            "municipal_unit_code": ["710101"] * len(NBHDS),
            "municipal_unit_name_el": ["Ηρακλείου"] * len(NBHDS),
            "municipality_code": ["7101"] * len(NBHDS),
            "is_illustrative": [True] * len(NBHDS),
            "population_2011": [1000] * len(NBHDS),
            "population_2021": [1000] * len(NBHDS),
            "latent_deprivation": [0.0] * len(NBHDS),
            "latent_ageing": [0.0] * len(NBHDS),
            "roma_share": [0.0] * len(NBHDS),
            "migrant_share": [0.0] * len(NBHDS),
            "centroid_lon": [25.1] * len(NBHDS),
            "centroid_lat": [35.3] * len(NBHDS),
            "geometry_wkt": ["POLYGON((0 0,1 0,1 1,0 0))"] * len(NBHDS),
        },
        schema=AREAS_SCHEMA,
    )
    gz = []
    for sid, (name, typ) in enumerate(STREETS, start=1):
        for k, (lo, hi) in enumerate([(1, 99), (100, 199)]):
            nb = NBHDS[(sid + k) % len(NBHDS)]
            gz.append((sid, name, typ, lo, hi, nb[3], nb[4], nb[0]))
    gazetteer = pl.DataFrame(gz, schema=GAZETTEER_SCHEMA, orient="row")
    geo = Geography(
        "7101", "Ηρακλείου", "Heraklion", areas, gazetteer, "POLYGON((0 0,1 0,1 1,0 0))"
    )

    n_hh = int(1500 * scale)
    hh_rows, p_rows = [], []
    pid = 0
    for h in range(1, n_hh + 1):
        homeless = rng.random() < 0.03
        if homeless:
            sid, num, suf, pc, nb = None, None, "", None, NBHDS[int(rng.integers(5))][0]
            size = 1
        else:
            sid = int(rng.integers(1, len(STREETS) + 1))
            num = int(rng.integers(1, 200))
            seg = next(g for g in gz if g[0] == sid and g[3] <= num <= g[4])
            suf = str(rng.choice(["Α", "Β"])) if rng.random() < 0.06 else ""
            pc, nb = seg[5], seg[7]
            size = int(rng.integers(1, 5))
        minors = 0
        for k in range(size):
            pid += 1
            male = bool(rng.random() < 0.5)
            adult = k == 0 or rng.random() < 0.5
            b = (
                _rand_date(rng, date(1925, 1, 1), date(2001, 12, 31))
                if adult
                else _rand_date(rng, date(2003, 1, 1), date(2019, 12, 31))
            )
            minors += 0 if adult else 1
            migrant = rng.random() < 0.08
            has_amka = not (migrant and rng.random() < 0.4) and not (
                homeless and rng.random() < 0.3
            )
            p_rows.append(
                dict(
                    person_id=pid,
                    household_id=h,
                    neighbourhood_id=nb,
                    sex="M" if male else "F",
                    birth_date=b,
                    citizenship="AL" if migrant else "GR",
                    citizenship_group="non_eu" if migrant else "greek",
                    is_roma=False,
                    is_migrant=migrant,
                    is_refugee=False,
                    is_homeless=homeless,
                    disability_pct=int(rng.choice([0, 0, 0, 50, 67, 80])),
                    employment_status=str(
                        rng.choice(
                            [
                                "employed",
                                "unemployed",
                                "long_term_unemployed",
                                "inactive",
                                "retired",
                            ]
                        )
                    )
                    if adult
                    else None,
                    education=str(
                        rng.choice(
                            ["none", "primary", "lower_secondary", "upper_secondary", "tertiary"]
                        )
                    )
                    if adult
                    else None,
                    lives_alone=size == 1,
                    care_need=False,
                    death_on=None,
                    surname=str(rng.choice(SURNAMES_M if male else SURNAMES_F)),
                    first_name=str(rng.choice(FIRST_M if male else FIRST_F)),
                    father_name=str(rng.choice(FIRST_M)),
                    amka=make_amka(b, male, rng) if has_amka else None,
                    afm=make_afm(rng) if adult else None,
                    phone="69" + "".join(str(int(x)) for x in rng.integers(0, 10, 8)),
                )  # fmt: skip
            )
        hh_rows.append(
            dict(
                household_id=h,
                neighbourhood_id=nb,
                street_id=sid,
                street_number=num,
                street_number_suffix=suf,
                postcode=pc,
                size=size,
                minors=minors,
                disabled_members=0,
                annual_income_eur=float(rng.integers(2000, 30000)) + 0.5,
                is_single_parent=False,
                is_large_family=size >= 4,
                is_poor=rng.random() < 0.3,
            )  # fmt: skip
        )
    households = pl.DataFrame(hh_rows, schema=HOUSEHOLDS_SCHEMA)
    persons = pl.DataFrame(p_rows, schema=PERSONS_SCHEMA)
    adults = persons.filter(pl.col("afm").is_not_null())
    adult_ids = adults["person_id"].to_numpy()
    hh_of = dict(zip(persons["person_id"], persons["household_id"], strict=True))
    lo, hi = start - timedelta(days=40), end + timedelta(days=40)

    # community centre
    nb_ = int(1200 * scale)
    ben = []
    for i in range(nb_):
        p = int(rng.choice(adult_ids))
        reg = _rand_date(rng, start, end)
        row = dict(
            beneficiary_code=f"KK{i + 1:06d}", person_id=p, registered_on=reg,
            structure=str(rng.choice(["main", "roma_branch", "mobile_unit"], p=[0.8, 0.12, 0.08])),
            household_size=int(rng.integers(1, 6)), household_minors=int(rng.integers(0, 3)),
            employment_status=str(rng.choice(["employed", "unemployed", "long_term_unemployed", "inactive", "retired"])),
            education=str(rng.choice(["none", "primary", "lower_secondary", "upper_secondary", "tertiary"])),
            vulnerable_groups=[str(g) for g in rng.choice(["roma", "migrant", "disability", "homeless", "single_parent"], size=int(rng.integers(0, 3)), replace=False)],
            kea_recipient=bool(rng.random() < 0.3),
        )  # fmt: skip
        ben.append(row)
        if rng.random() < 0.04:  # a second code for the same person
            ben.append(
                dict(
                    row,
                    beneficiary_code=f"KK{i + 1:06d}D",
                    registered_on=min(end, reg + timedelta(days=int(rng.integers(7, 90)))),
                )
            )
    cc_ben = pl.DataFrame(ben, schema=SERVICE_SCHEMAS["cc_beneficiaries"])
    svc = []
    bodies = ["dypa", "social_grocery", "kep", "efka", "pagni"]
    for b in ben:
        for _ in range(int(rng.integers(1, 5))):
            on = b["registered_on"] + timedelta(days=int(rng.integers(0, 120)))
            ref = rng.random() < 0.3
            status = (
                str(rng.choice(["completed", "rejected", "in_progress"], p=[0.6, 0.15, 0.25]))
                if ref
                else None
            )
            svc.append(
                dict(
                    service_id=len(svc) + 1,
                    beneficiary_code=b["beneficiary_code"],
                    person_id=b["person_id"],
                    service_on=on,
                    service_category="referral"
                    if ref
                    else str(rng.choice(["information", "kea_support", "psychosocial"])),
                    service="Παραπομπή" if ref else "Ενημέρωση για επιδόματα",
                    referral_body_id=str(rng.choice(bodies)) if ref else None,
                    referral_status=status,
                    outcome_on=on + timedelta(days=int(rng.integers(5, 90)))
                    if status in ("completed", "rejected")
                    else None,
                )  # fmt: skip
            )
    cc_svc = pl.DataFrame(svc, schema=SERVICE_SCHEMAS["cc_services"])
    n_in = int(2000 * scale)
    cc_in = pl.DataFrame(
        {
            "visit_on": sorted(_rand_date(rng, start, end) for _ in range(n_in)),
            "visit_time": [
                f"{int(rng.integers(8, 15)):02d}:{int(rng.integers(0, 60)):02d}"
                for _ in range(n_in)
            ],
            "structure": [str(x) for x in rng.choice(["main", "roma_branch", "mobile_unit"], n_in)],
            "is_new": (rng.random(n_in) < 0.22).tolist(),
            "reason": [
                str(x)
                for x in rng.choice(
                    ["information", "kea_application", "housing_benefit", "goods", "other"], n_in
                )
            ],
        },
        schema=SERVICE_SCHEMAS["cc_intake"],
    )

    # social grocery
    sg, dist = [], []
    for i in range(int(400 * scale)):
        p = int(rng.choice(adult_ids))
        applied = _rand_date(rng, start, end)
        dec = str(rng.choice(["approved", "rejected", "pending"], p=[0.7, 0.2, 0.1]))
        dec_on = applied + timedelta(days=int(rng.integers(14, 43))) if dec != "pending" else None
        mend = dec_on + timedelta(days=int(rng.choice([182, 365]))) if dec == "approved" else None
        reg = f"{applied.year}/{i + 1:04d}"
        sg.append(
            dict(
                registry_no=reg,
                person_id=p,
                household_id=hh_of[p],
                applied_on=applied,
                members=int(rng.integers(1, 7)),
                minors=int(rng.integers(0, 4)),
                disabled_members=int(rng.integers(0, 2)),
                annual_income_eur=round(float(rng.uniform(0, 15000)), 2),
                points=int(rng.integers(10, 90)),
                decision=dec,
                decision_on=dec_on,
                membership_end_on=mend,
            )  # fmt: skip
        )
        if dec == "approved":
            d = dec_on
            while d <= min(mend, end):
                for cat, unit in (("food", "kg"), ("hygiene", "pieces"), ("baby", "boxes")):
                    if cat != "food" and rng.random() < 0.6:
                        continue
                    q = (
                        round(float(rng.uniform(5, 15)), 1)
                        if unit == "kg"
                        else float(rng.integers(1, 6))
                    )
                    dist.append(
                        dict(registry_no=reg, household_id=hh_of[p], distributed_on=d, category=cat,
                             quantity=q, unit=unit, value_eur=round(q * float(rng.uniform(1.5, 5)), 2))
                    )  # fmt: skip
                d = d + timedelta(days=30)
    sg_h = pl.DataFrame(sg, schema=SERVICE_SCHEMAS["sg_households"])
    sg_d = pl.DataFrame(dist, schema=SERVICE_SCHEMAS["sg_distributions"])

    # home help
    cl, vis = [], []
    elderly = persons.filter(pl.col("birth_date") < date(1950, 1, 1))["person_id"].to_numpy()
    for i in range(int(250 * scale)):
        p = int(rng.choice(elderly))
        enr = _rand_date(rng, start - timedelta(days=1500), end)
        ex = _rand_date(rng, enr, end + timedelta(days=400))
        ex = ex if ex <= end + timedelta(days=30) else None
        cl.append(
            dict(
                client_id=i + 1,
                person_id=p,
                enrolled_on=enr,
                exited_on=ex,
                exit_reason=str(rng.choice(["death", "moved", "institution", "other"]))
                if ex
                else None,
                lives_alone=bool(rng.random() < 0.5),
                disability_pct=int(rng.choice([0, 67, 80])),
                monthly_income_eur=round(float(rng.uniform(300, 2500)), 2),
            )  # fmt: skip
        )
        d = max(enr, lo)
        stop = min(ex or hi, end)
        while d <= stop:
            vis.append(
                dict(person_id=p, visit_on=d, staff_role=str(rng.choice(["social_worker", "nurse", "family_carer"])),
                     service_type=str(rng.choice(["nursing_care", "home_help", "escort"])),
                     duration_minutes=int(rng.integers(6, 37)) * 5)
            )  # fmt: skip
            d += timedelta(days=int(rng.integers(5, 12)))
    hh_c = pl.DataFrame(cl, schema=SERVICE_SCHEMAS["hh_clients"])
    hh_v = pl.DataFrame(vis, schema=SERVICE_SCHEMAS["hh_visits"])
    req = []
    for i in range(int(100 * scale * months)):
        p = int(rng.choice(elderly))
        at = datetime.combine(_rand_date(rng, start, end), datetime.min.time()) + timedelta(
            minutes=int(rng.integers(480, 1200))
        )
        st = str(
            rng.choice(["fulfilled", "rejected", "in_progress", "new"], p=[0.8, 0.05, 0.1, 0.05])
        )
        closed = (
            at.date() + timedelta(days=int(rng.integers(0, 30)))
            if st in ("fulfilled", "rejected")
            else None
        )
        req.append(
            dict(
                request_no=f"R{i + 1:06d}",
                requested_at=at,
                channel=str(rng.choice(["phone", "web", "in_person"])),
                person_id=p,
                amka_given=bool(rng.random() < 0.7),
                need_type=str(
                    rng.choice(["food", "medicine", "kep_certificate", "escort", "other"])
                ),
                status=st,
                fulfilled_on=closed if st == "fulfilled" else None,
                closed_on=closed,
            )  # fmt: skip
        )
    hh_r = pl.DataFrame(req, schema=SERVICE_SCHEMAS["hh_requests"])
    services = Services(cc_ben, cc_svc, cc_in, sg_h, sg_d, hh_c, hh_v, hh_r)
    for name, schema in SERVICE_SCHEMAS.items():
        check_schema(getattr(services, name), schema, name)
    return World(geo, Population(households, persons), services, start, end)


# --- configuration for the tests ------------------------------------------------------------------


def test_config(**fault_overrides) -> GeneratorConfig:
    faults = copy.deepcopy(load_yaml("faults"))
    # more file faults than the defaults, so that each appears in a one-year municipality
    faults["file_faults"].update(
        truncated_file={"rate": 0.1}, empty_file={"rate": 0.05}, wrong_folder={"rate": 0.05},
        resent_month={"rate": 0.1},
    )  # fmt: skip
    faults["header_profile_switch"] = {"on": "2020-07", "share": 0.5}
    faults.update(fault_overrides)
    sc = Scale("test", 0.03, date(2020, 1, 1), date(2020, 12, 31))
    return GeneratorConfig(seed=1, scale=sc, rates={}, faults=faults, headers=load_yaml("headers"))


test_config.__test__ = False  # not a test


def exact(rate: float, n: int) -> int:
    return int(math.floor(rate * n + 0.5))


@pytest.fixture(scope="module")
def world() -> World:
    return make_world()


@pytest.fixture(scope="module")
def out(world, tmp_path_factory):
    from synthetic.exports import write_exports

    d = tmp_path_factory.mktemp("exports_a")
    res = write_exports(world, test_config(), d, np.random.default_rng(11))
    return d, res


# --- reading the files back (independent of the writer) -------------------------------------------

HEADERS = load_yaml("headers")
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def _col_index(ref: str) -> int:
    letters = re.match(r"[A-Z]+", ref).group(0)
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def read_xlsx(path: Path) -> dict[str, dict[int, list]]:
    """{sheet name: {excel row: [cell values]}} from the XML (inline and shared strings)."""
    with zipfile.ZipFile(path) as z:
        wb = ET.fromstring(z.read("xl/workbook.xml"))
        rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
        target = {r.get("Id"): r.get("Target") for r in rels}
        shared = []
        if "xl/sharedStrings.xml" in z.namelist():
            sst = ET.fromstring(z.read("xl/sharedStrings.xml"))
            shared = ["".join(t.text or "" for t in si.iter(f"{{{NS['m']}}}t")) for si in sst]
        out = {}
        rid = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
        for sh in wb.find("m:sheets", NS):
            xml = ET.fromstring(z.read("xl/" + target[sh.get(rid)]))
            rows = {}
            for row in xml.iter(f"{{{NS['m']}}}row"):
                cells = {}
                for c in row.findall("m:c", NS):
                    t = c.get("t")
                    if t == "inlineStr":
                        v = "".join(x.text or "" for x in c.iter(f"{{{NS['m']}}}t"))
                    elif t == "s":
                        v = shared[int(c.find("m:v", NS).text)]
                    else:
                        ve = c.find("m:v", NS)
                        v = None if ve is None else float(ve.text)
                    cells[_col_index(c.get("r"))] = v
                if cells:
                    width = max(cells) + 1
                    rows[int(row.get("r"))] = [cells.get(i) for i in range(width)]
            out[sh.get("name")] = rows
    return out


def read_csv_rows(path: Path, encoding: str, delimiter: str) -> list[list[str]]:
    text = path.read_bytes().decode(encoding)
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def file_rows(base: Path, f: dict) -> dict[int, list]:
    """{source_row: cells} of a file's data sheet (all physical rows)."""
    p = base / "exports" / f["path"]
    if f["format"] == "csv":
        rows = read_csv_rows(p, f["encoding"], f["delimiter"])
        return {i + 1: r for i, r in enumerate(rows)}
    return read_xlsx(p)[f["data_sheet"]]


def files_table(base: Path) -> list[dict]:
    return pl.read_csv(base / "truth" / "files.csv", infer_schema_length=0).to_dicts()


def _b(x) -> bool:
    return str(x).lower() == "true"


# --- tests ---------------------------------------------------------------------------------------


def test_layout_and_entities(out, world):
    base, res = out
    files = files_table(base)
    ents = {(f["source"], f["entity"]) for f in files}
    assert len(ents) == 8
    # one primary file per entity and month
    prim = [
        f
        for f in files
        if not _b(f["is_resend"]) and not _b(f["is_empty"]) and not f["wrong_folder_of"]
    ]
    assert len(prim) == 8 * 12
    for f in files:
        p = base / "exports" / f["path"]
        assert p.exists()
        assert f["path"].startswith("7101/")
        assert hashlib.sha256(p.read_bytes()).hexdigest() == f["sha256"]
        period = f["period"]
        y, m = period.split("-")
        name = Path(f["path"]).name
        assert f"{y}-{m}" in name or f"{y}_{m}" in name or f"{m}-{y}" in name


def test_files_decode_with_recorded_format(out):
    base, _ = out
    kinds = set()
    for f in files_table(base):
        p = base / "exports" / f["path"]
        if _b(f["is_empty"]):
            assert p.stat().st_size == 0
            continue
        kinds.add((f["format"], f["encoding"], f["date_format"]))
        hr = int(f["header_row"])
        if f["format"] == "csv":
            raw = p.read_bytes()
            text = raw.decode(f["encoding"])  # strict: must decode
            if f["encoding"] == "utf-8-sig":
                assert raw.startswith(b"\xef\xbb\xbf")
            else:
                assert not raw.startswith(b"\xef\xbb\xbf")
            lines = list(csv.reader(io.StringIO(text, newline=""), delimiter=f["delimiter"]))
            header = lines[hr - 1]
            assert len(header) > 3 or f["entity"] in ("intake", "visits", "distributions")
            for t in range(int(f["title_rows"])):
                assert lines[t][0] and all(c == "" for c in lines[t][1:])
            if _b(f["merged_header"]):
                assert sum(1 for c in lines[hr - 2] if c) >= 2
            key = (
                f"{f['source']}.{f['entity']}" if not f["wrong_folder_of"] else f["wrong_folder_of"]
            )
            assert len(header) == len(HEADERS["entities"][key]["columns"])
            assert all(len(r) == len(header) for r in lines[hr:] if not _b(f["is_truncated"]))
            lt = "\r\n" if f["line_terminator"] == "crlf" else "\n"
            if lt == "\n":
                assert "\r\n" not in text
            else:
                assert text.count("\n") == text.count("\r\n")
        else:
            sheets = read_xlsx(p)
            assert list(sheets) == f["sheets"].split("|")
            rows = sheets[f["data_sheet"]]
            header = rows[hr]
            assert all(isinstance(h, str) and h for h in header)
            for t in range(1, int(f["title_rows"]) + 1):
                assert isinstance(rows[t][0], str)
            if _b(f["merged_header"]):
                with zipfile.ZipFile(p) as z:
                    assert b"<mergeCell " in z.read("xl/worksheets/sheet1.xml")
    # the format mix is there
    assert any(k[0] == "xlsx" for k in kinds)
    encs = {k[1] for k in kinds if k[0] == "csv"}
    assert {"cp1253", "utf-8"} <= encs
    assert encs & {"iso-8859-7", "cp1253"} and encs & {"utf-8-sig", "utf-8"}


def _data_rows(base: Path, f: dict) -> list[int]:
    """Data rows of a file counted from the file itself: rows after the header, not blank, not
    the totals row."""
    hr = int(f["header_row"])
    rows = file_rows(base, f)
    out = []
    for r, cells in rows.items():
        if r <= hr or not any(c not in (None, "") for c in cells):
            continue
        if cells and cells[0] == "Σύνολο":
            continue
        out.append(r)
    return out


def test_records_one_per_data_row(out):
    base, _ = out
    rec = pl.read_parquet(base / "truth" / "records.parquet")
    assert rec.select(pl.struct("file", "sheet", "source_row").is_unique().all()).item()
    n_checked = 0
    for f in files_table(base):
        if _b(f["is_empty"]):
            assert rec.filter(pl.col("file") == f["path"]).height == 0
            continue
        got = sorted(
            rec.filter(
                (pl.col("file") == f["path"])
                & (pl.col("sheet").fill_null("") == (f["data_sheet"] or ""))
            )["source_row"].to_list()
        )
        rows = _data_rows(base, f)
        assert got == rows, f["path"]
        assert int(f["n_data_rows"]) == len(rows)
        n_checked += len(rows)
        if f["format"] == "xlsx" and f["sheets"] and len(f["sheets"].split("|")) > 1:
            other = f["sheets"].split("|")[1]
            sheet = read_xlsx(base / "exports" / f["path"])[other]
            n_other = rec.filter((pl.col("file") == f["path"]) & (pl.col("sheet") == other)).height
            if other == "Οδηγίες":
                assert n_other == 0
            else:
                assert n_other == sum(1 for r in sheet if r > int(f["header_row"]))
            n_checked += n_other
    assert n_checked == rec.height


def test_records_match_world(out, world):
    base, _ = out
    files = pl.read_csv(base / "truth" / "files.csv", infer_schema_length=0)
    cur = _primary_records(base)
    # every world event in the period appears once in the month's first file (except rows a
    # truncation lost)
    lost = files.filter(pl.col("is_truncated") == "true")
    lost_by_entity = lost.group_by("entity").agg(pl.col("n_rows_lost").cast(pl.Int64).sum())
    lost_map = dict(zip(lost_by_entity["entity"], lost_by_entity["n_rows_lost"], strict=True))
    s = world.services
    expected = {
        "beneficiaries": s.cc_beneficiaries.height,
        "services": s.cc_services.filter(
            pl.col("service_on").is_between(world.start, world.end)
        ).height,
        "intake": s.cc_intake.height,
        "households": s.sg_households.height,
        "distributions": s.sg_distributions.filter(
            pl.col("distributed_on").is_between(world.start, world.end)
        ).height,
        "visits": s.hh_visits.filter(pl.col("visit_on").is_between(world.start, world.end)).height,
        "requests": s.hh_requests.height,
    }
    # clients: a snapshot of clients active in each month
    n_clients = 0
    for m in range(1, 13):
        a, b = (
            date(2020, m, 1),
            (date(2020, m + 1, 1) if m < 12 else date(2021, 1, 1)) - timedelta(days=1),
        )
        n_clients += s.hh_clients.filter(
            (pl.col("enrolled_on") <= b)
            & (pl.col("exited_on").is_null() | (pl.col("exited_on") >= a))
        ).height
    expected["clients"] = n_clients
    for ent, n in expected.items():
        got = cur.filter(pl.col("entity") == ent).height
        assert got + lost_map.get(ent, 0) == n, ent
    # person and neighbourhood truth
    ben = cur.filter(pl.col("entity") == "beneficiaries").join(
        s.cc_beneficiaries.with_row_index("world_row").with_columns(
            pl.col("world_row").cast(pl.Int64)
        ),
        on="world_row",
    )
    assert (ben["person_id"] == ben["person_id_right"]).all()
    hh = world.population.households
    j = ben.join(world.population.persons.select("person_id", "household_id"), on="person_id").join(
        hh, left_on="household_id_right", right_on="household_id"
    )
    assert (j.filter(pl.col("street_id").is_null())["true_neighbourhood_id"].is_null()).all()
    nn = j.filter(pl.col("street_id").is_not_null())
    assert (nn["true_neighbourhood_id"] == nn["neighbourhood_id"]).all()
    assert cur.filter(pl.col("entity") == "intake")["person_id"].is_null().all()


def _ffaults(base: Path) -> pl.DataFrame:
    return pl.read_csv(
        base / "truth" / "faults.csv",
        schema_overrides={"source_row": pl.Int64},
        infer_schema_length=0,
    )


def test_faults_csv_actions_match_design(out):
    base, _ = out
    fa = _ffaults(base)
    assert fa.columns[:8] == [
        "fault_id",
        "fault",
        "file",
        "sheet",
        "source_row",
        "column",
        "expected_action",
        "expected_reason",
    ]
    table = {
        "amka_leading_zero_lost": ("repair_row", "amka_leading_zero_restored"),
        "amka_spaces": ("repair_row", "amka_whitespace_removed"),
        "amka_missing": ("load_row", "amka_missing"),
        "amka_invalid": ("reject_row", "amka_invalid"),
        "afm_invalid": ("reject_row", "afm_invalid"),
        "afm_leading_zero_lost": ("repair_row", "afm_leading_zero_restored"),
        "name_caps_no_accents": ("load_row", None),
        "name_latin_lookalike": ("load_row", None),
        "name_transliterated": ("load_row", None),
        "address_variant": ("geocode", None),
        "duplicate_registration": ("load_row", None),
        "date_invalid": ("reject_row", "date_invalid"),
        "date_out_of_range": ("reject_row", "date_out_of_range"),
        "date_order": ("reject_row", "date_order"),
        "code_invalid": ("reject_row", "code_invalid"),
        "number_invalid": ("reject_row", "number_invalid"),
        "required_missing": ("reject_row", "required_missing"),
        "truncated_file": ("reject_row", "row_incomplete"),
        "totals_row": ("skip_row", "totals_row"),
        "empty_file": ("refuse_file", "empty_file"),
        "wrong_folder": ("refuse_file", "wrong_source"),
        "resent_month": ("replace_period", "period_replaced"),
    }
    seen = set(fa["fault"].unique())
    assert seen == set(table), set(table) ^ seen
    for r in fa.iter_rows(named=True):
        assert (r["expected_action"], r["expected_reason"]) == table[r["fault"]]
        file_level = r["fault"] in ("empty_file", "wrong_folder", "resent_month")
        assert (r["source_row"] is None) == file_level
        assert (r["column"] is None) == (
            file_level or r["fault"] in ("truncated_file", "totals_row")
        )
    # never two faults on one row
    rows = fa.filter(pl.col("source_row").is_not_null())
    assert rows.select(pl.struct("file", "sheet", "source_row").is_unique().all()).item()
    # and records agree
    rec = pl.read_parquet(base / "truth" / "records.parquet")
    rf = rec.filter(pl.col("fault").is_not_null() & (pl.col("fault") != "wrong_folder"))
    j = rf.join(rows, left_on=["file", "source_row"], right_on=["file", "source_row"], how="left")
    assert (j["fault"] == j["fault_right"]).all()
    assert j.height == rows.filter(pl.col("fault") != "totals_row").height


def _primary_records(base: Path) -> pl.DataFrame:
    rec = pl.read_parquet(base / "truth" / "records.parquet")
    files = pl.read_csv(base / "truth" / "files.csv", infer_schema_length=0)
    prim = files.filter(
        (pl.col("is_resend") == "false")
        & (pl.col("is_empty") == "false")
        & pl.col("wrong_folder_of").is_null()
    )
    keep = prim.select(pl.col("path").alias("file"), pl.col("data_sheet").alias("ds"))
    return rec.join(keep, on="file").filter(
        pl.col("sheet").is_null() | (pl.col("sheet") == pl.col("ds"))
    )


def test_row_fault_counts_are_exact(out, world):
    base, res = out
    cfg = test_config().faults["row_faults"]
    st = res.fault_stats
    for r in st.iter_rows(named=True):
        assert r["target"] == exact(r["rate"], r["eligible"]), r
        assert r["realised"] == r["target"], r
    assert st.filter(pl.col("realised") > 0).height >= 40
    # faults.csv holds exactly the realised faults in the months' first files
    fa0 = _ffaults(base).filter(pl.col("detail").fill_null("") != "not in world")
    ents = {
        "beneficiaries": "community_centre.beneficiaries",
        "services": "community_centre.services",
        "intake": "community_centre.intake",
        "households": "social_grocery.households",
        "distributions": "social_grocery.distributions",
        "clients": "home_help.clients",
        "visits": "home_help.visits",
        "requests": "home_help.requests",
    }
    got = (
        fa0.join(
            _primary_records(base).select("file", "source_row", "entity"), on=["file", "source_row"]
        )
        .with_columns(pl.col("entity").replace_strict(ents))
        .group_by("fault", "entity")
        .len()
    )
    want = st.filter(pl.col("realised") > 0).select(
        "fault", "entity", pl.col("realised").cast(pl.UInt32).alias("len")
    )
    other = {"duplicate_registration", "truncated_file"}
    assert (
        got.filter(~pl.col("fault").is_in(other))
        .sort("fault", "entity")
        .equals(want.sort("fault", "entity"))
    )
    # independently: eligibility from the world, realised from faults.csv
    prim = _primary_records(base)
    pre = prim.filter(pl.col("fault").is_in(["duplicate_registration", "truncated_file"]))
    persons = world.population.persons.select("person_id", "amka", "afm")
    ok = prim.join(pre.select("file", "source_row"), on=["file", "source_row"], how="anti").join(
        persons, on="person_id", how="left"
    )
    # ΑΜΚΑ of the row as written before faults (requests: only where given)
    req = world.services.hh_requests.with_row_index("world_row").select(
        pl.col("world_row").cast(pl.Int64), "amka_given"
    )
    ok = ok.join(
        req.with_columns(entity=pl.lit("requests")), on=["entity", "world_row"], how="left"
    ).with_columns(amka=pl.when(pl.col("amka_given").fill_null(True)).then(pl.col("amka")))
    # rows whose ΑΜΚΑ the world lacks already carry amka_missing (where ΑΜΚΑ is expected)
    miss_ents = ["beneficiaries", "households", "clients", "visits"]
    ok = ok.filter(~(pl.col("entity").is_in(miss_ents) & pl.col("amka").is_null()))
    fa = _ffaults(base)
    fprim = fa.join(prim.select("file", "source_row", "entity"), on=["file", "source_row"])
    ent_of = {
        "community_centre.beneficiaries": "beneficiaries",
        "social_grocery.households": "households",
        "home_help.clients": "clients",
        "home_help.visits": "visits",
        "home_help.requests": "requests",
    }
    for fault, cond in [
        ("amka_leading_zero_lost", pl.col("amka").str.starts_with("0")),
        ("amka_spaces", pl.col("amka").is_not_null()),
        ("afm_leading_zero_lost", pl.col("afm").str.starts_with("0")),
        ("name_caps_no_accents", pl.lit(True)),
    ]:
        for key in cfg[fault]["entities"]:
            ent = ent_of[key]
            sub = ok.filter(pl.col("entity") == ent)
            n_elig = sub.filter(cond.fill_null(False)).height
            got = fprim.filter((pl.col("fault") == fault) & (pl.col("entity") == ent)).height
            assert got == exact(cfg[fault]["rate"], n_elig), (fault, ent, got, n_elig)


def test_file_fault_counts(out):
    base, _ = out
    files = files_table(base)
    cfg = test_config().faults["file_faults"]
    prim = [
        f
        for f in files
        if not _b(f["is_resend"]) and not _b(f["is_empty"]) and not f["wrong_folder_of"]
    ]
    n_csv3 = sum(
        1
        for f in prim
        if f["format"] == "csv" and (int(f["n_data_rows"]) + int(f["n_rows_lost"])) >= 3
    )
    assert sum(_b(f["is_truncated"]) for f in prim) == exact(cfg["truncated_file"]["rate"], n_csv3)
    assert sum(_b(f["is_empty"]) for f in files) == exact(cfg["empty_file"]["rate"], len(prim))
    n_xlsx = sum(1 for f in prim if f["format"] == "xlsx")
    assert sum(_b(f["totals_row"]) for f in prim) == exact(cfg["totals_row"]["rate"], n_xlsx)
    assert sum(1 for f in files if f["wrong_folder_of"]) == exact(
        cfg["wrong_folder"]["rate"], sum(1 for f in prim if not _b(f["is_truncated"]))
    )
    assert sum(_b(f["is_resend"]) for f in files) >= 1


def test_truncated_file_last_row_is_short(out):
    base, _ = out
    fa = _ffaults(base)
    trunc = [f for f in files_table(base) if _b(f["is_truncated"])]
    assert trunc
    for f in trunc:
        raw = (base / "exports" / f["path"]).read_bytes()
        assert not raw.endswith(b"\n")
        rows = read_csv_rows(base / "exports" / f["path"], f["encoding"], f["delimiter"])
        header = rows[int(f["header_row"]) - 1]
        assert all(len(r) == len(header) for r in rows[int(f["header_row"]) : -1])
        assert len(rows[-1]) < len(header)
        cut = fa.filter((pl.col("file") == f["path"]) & (pl.col("fault") == "truncated_file"))
        assert cut.height == 1 and cut["source_row"][0] == len(rows)
        assert cut["detail"][0] == f"rows_lost={f['n_rows_lost']}"


def _header_variants(headers: dict, key: str) -> set[str]:
    from synthetic.exports_write import header_name

    cols = headers["entities"][key]["columns"]
    return {header_name(v, p) for v in cols.values() for p in headers["profiles"]}


def test_wrong_folder_and_empty(out):
    base, _ = out
    headers = load_yaml("headers")
    files = files_table(base)
    wf = [f for f in files if f["wrong_folder_of"]]
    assert wf
    for f in wf:
        true_key = f["wrong_folder_of"]
        folder_key = f"{f['source']}.{f['entity']}"
        assert true_key.split(".")[0] != f["source"]
        hr = int(f["header_row"])
        header = [h for h in file_rows(base, f)[hr] if h]
        assert set(header) <= _header_variants(headers, true_key)
        assert not set(header) <= _header_variants(headers, folder_key)
        assert Path(f["path"]).parts[1:3] == (f["source"], f["entity"])
    empties = [f for f in files if _b(f["is_empty"])]
    assert empties and all((base / "exports" / f["path"]).stat().st_size == 0 for f in empties)


def test_resend_differs_in_recorded_rows(out):
    base, _ = out
    files = files_table(base)
    rec = pl.read_parquet(base / "truth" / "records.parquet")
    resends = [f for f in files if _b(f["is_resend"])]
    assert resends
    for f in resends:
        orig = next(o for o in files if o["path"] == f["resend_of"])
        assert orig["period"] == f["period"] and orig["sha256"] != f["sha256"]
        assert any(s in Path(f["path"]).stem for s in ("_διορθωμένο", "_v2", "_ΔΙΟΡΘΩΣΗ"))
        a, b = file_rows(base, orig), file_rows(base, f)
        # data rows that differ (a totals row follows its corrected numbers)
        differ = {
            r for r in set(a) | set(b) if a.get(r) != b.get(r) and (a.get(r) or [""])[0] != "Σύνολο"
        }
        ra = rec.filter(pl.col("file") == orig["path"]).select("source_row", "fault", "is_current")
        rb = rec.filter(pl.col("file") == f["path"]).select("source_row", "fault", "is_current")
        j = ra.join(rb, on="source_row", suffix="_new")
        corrected = set(
            j.filter(pl.col("fault").is_not_null() & pl.col("fault_new").is_null())["source_row"]
        )
        assert corrected and differ == corrected
        assert not ra["is_current"].any() and rb["is_current"].all()


def test_fault_values_in_files(out, world):
    """Each row fault is visible in the cell of its column, as the fault says."""
    base, _ = out
    headers = load_yaml("headers")
    files = {f["path"]: f for f in files_table(base)}
    fa = _ffaults(base).filter(pl.col("column").is_not_null())
    rec = pl.read_parquet(base / "truth" / "records.parquet")
    persons = world.population.persons
    cache: dict[str, dict] = {}
    checked = {}
    for r in fa.iter_rows(named=True):
        f = files[r["file"]]
        if r["fault"] in ("duplicate_registration",):
            continue
        rows = cache.setdefault(r["file"], file_rows(base, f))
        key = f"{f['source']}.{f['entity']}"
        cols = list(headers["entities"][key]["columns"])
        cell = (
            rows[r["source_row"]][cols.index(r["column"])]
            if cols.index(r["column"]) < len(rows[r["source_row"]])
            else None
        )
        cell = "" if cell is None else cell
        pid = rec.filter((pl.col("file") == r["file"]) & (pl.col("source_row") == r["source_row"]))[
            "person_id"
        ][0]
        p = (
            persons.filter(pl.col("person_id") == pid).row(0, named=True)
            if pid is not None
            else None
        )
        fault = r["fault"]
        if fault == "amka_leading_zero_lost":
            assert cell == p["amka"][1:] and len(cell) == 10
        elif fault == "amka_spaces":
            assert cell != p["amka"] and re.sub(r"\s", "", cell) == p["amka"]
        elif fault == "amka_missing":
            assert cell == ""
        elif fault == "amka_invalid":
            assert (
                len(cell) == 11
                and cell.isdigit()
                and not luhn_ok(cell)
                and cell[:6] == p["amka"][:6]
            )
            assert sum(a != b for a, b in zip(cell, p["amka"], strict=True)) == 1
        elif fault == "afm_invalid":
            assert len(cell) == 9 and not afm_ok(cell) and cell[:8] == p["afm"][:8]
        elif fault == "afm_leading_zero_lost":
            assert cell == p["afm"][1:]
        elif fault == "name_caps_no_accents":
            assert cell == cell.upper() and not any(
                unicodedata.combining(c) for c in unicodedata.normalize("NFD", cell)
            )
        elif fault == "name_latin_lookalike":
            assert re.search("[A-Z]", cell) and re.search("[Α-Ω]", cell)
        elif fault == "name_transliterated":
            assert re.fullmatch(r"[A-Z ]+", cell)
        elif fault == "date_invalid":
            assert re.search(r"(29|30|31)[/-]0?(2|4|6|9|11)\b|\b0?(2|4|6|9|11)-(29|30|31)", cell), (
                cell
            )
        elif fault == "date_out_of_range":
            if f["date_format"] == "excel_serial" and re.fullmatch(r"\d+", str(cell)):
                cell = float(cell)
            if isinstance(cell, float):
                y = (date(1899, 12, 30) + timedelta(days=int(cell))).year
                assert y in (1900, 2099)
            else:
                assert "1900" in cell or "2099" in cell, cell
        elif fault == "code_invalid":
            assert cell in {
                "Χ",
                "Παράρτημα Β",
                "Φοιτητής",
                "Διάφορα",
                "Άγνωστη",
                "Ακυρώθηκε",
                "Ρουχισμός",
                "σακούλες",
                "Άγνωστο",
                "Εθελοντής",
                "Κουρείο",
                "Email",
            }
        elif fault == "number_invalid":
            assert isinstance(cell, str) and (
                re.fullmatch(r"\d+,\d,0", cell) or re.fullmatch(r"[α-ωάέήίόύώ]+", cell)
            ), cell
        elif fault == "required_missing":
            assert cell == ""
        checked[fault] = checked.get(fault, 0) + 1
    assert len(checked) >= 14


def test_address_variants_are_one_step_from_truth(out, world):
    from rapidfuzz.distance import Levenshtein

    from synthetic.faults import caps_no_accents

    base, _ = out
    headers = load_yaml("headers")
    files = {f["path"]: f for f in files_table(base)}
    fa = _ffaults(base).filter(pl.col("fault") == "address_variant")
    kinds = set(fa["detail"])
    assert {
        "avenue_abbrev",
        "caps_no_accents",
        "doubled_consonant",
        "postcode_missing",
        "area_neighbourhood",
    } <= kinds
    streets = set(world.geography.gazetteer["street_name"])
    nbhd_names = set(world.geography.areas["neighbourhood_name_el"])
    for r in fa.iter_rows(named=True):
        f = files[r["file"]]
        cols = list(headers["entities"][f"{f['source']}.{f['entity']}"]["columns"])
        cells = file_rows(base, f)[r["source_row"]]
        street = cells[cols.index("street")] or ""
        norm = caps_no_accents(street)
        for w in ("ΛΕΩΦΟΡΟΣ ", "ΟΔΟΣ ", "ΠΛΑΤΕΙΑ ", "Λ. ", "ΛΕΩΦ. ", " ΛΕΩΦ."):
            norm = norm.replace(w, "")
        norm = re.sub(r"\s+\d+\S*$", "", norm).strip()
        best = min(Levenshtein.distance(norm, caps_no_accents(s)) for s in streets)
        assert best <= 1, street
        if r["detail"] == "area_neighbourhood":
            assert cells[cols.index("area")] in nbhd_names


def test_value_spellings_and_headers(out):
    """Coded cells use spellings of headers.yaml; headers are variants of their profile."""
    base, _ = out
    headers = load_yaml("headers")
    vals = headers["values"]
    allowed = {s for vs in vals.values() for spellings in vs.values() for s in spellings}
    files = [f for f in files_table(base) if not _b(f["is_empty"]) and not f["wrong_folder_of"]]
    fa = _ffaults(base)
    bad = set(zip(fa["file"], fa["source_row"].cast(pl.Int64), strict=True))
    coded = {
        "sex",
        "employment_status",
        "education",
        "structure",
        "service_category",
        "referral_status",
        "is_new",
        "reason",
        "decision",
        "category",
        "unit",
        "exit_reason",
        "staff_role",
        "service_type",
        "channel",
        "need_type",
        "status",
        "kea_recipient",
        "lives_alone",
    }
    seen_variant = False
    profiles = set()
    for f in files:
        key = f"{f['source']}.{f['entity']}"
        cols = list(headers["entities"][key]["columns"])
        rows = file_rows(base, f)
        hr = int(f["header_row"])
        from synthetic.exports_write import header_name

        expect = [
            header_name(headers["entities"][key]["columns"][c], f["header_profile"]) for c in cols
        ]
        assert rows[hr][: len(cols)] == expect
        profiles.add(f["header_profile"])
        for r, cells in rows.items():
            if r <= hr or (f["path"], r) in bad or (cells and cells[0] == "Σύνολο"):
                continue
            for c in coded & set(cols):
                i = cols.index(c)
                v = cells[i] if i < len(cells) else None
                if v not in (None, ""):
                    assert v in allowed, (f["path"], r, c, v)
                    first = {sp[0] for vs in vals.values() for sp in vs.values()}
                    seen_variant |= v not in first
    assert seen_variant
    assert len(profiles) >= 3


def test_dates_and_numbers_follow_file_format(out):
    base, _ = out
    headers = load_yaml("headers")
    fa = _ffaults(base)
    bad = set(zip(fa["file"], fa["source_row"].cast(pl.Int64), strict=True))
    pat = {
        "dd/mm/yyyy": r"\d{2}/\d{2}/\d{4}",
        "d/m/yy": r"\d{1,2}/\d{1,2}/(\d{2}|\d{4})",
        "yyyy-mm-dd": r"\d{4}-\d{2}-\d{2}",
        "excel_serial": r"\d{5}",
    }
    seen = set()
    for f in files_table(base):
        if _b(f["is_empty"]) or f["wrong_folder_of"]:
            continue
        key = f"{f['source']}.{f['entity']}"
        cols = list(headers["entities"][key]["columns"])
        date_cols = [i for i, c in enumerate(cols) if c.endswith("_on") or c == "birth_date"]
        money = [i for i, c in enumerate(cols) if c.endswith("_eur")]
        rows = file_rows(base, f)
        hr = int(f["header_row"])
        for r, cells in rows.items():
            if r <= hr or (f["path"], r) in bad or cells[0] == "Σύνολο":
                continue
            for i in date_cols:
                v = cells[i] if i < len(cells) else None
                if v in (None, ""):
                    continue
                if f["format"] == "xlsx" and f["date_format"] == "excel_serial":
                    assert isinstance(v, float) and 15000 < v < 60000
                else:
                    assert re.fullmatch(pat[f["date_format"]], v), (f["path"], v)
                seen.add((f["format"], f["date_format"]))
            for i in money:
                v = cells[i] if i < len(cells) else None
                if v in (None, "") or isinstance(v, float):
                    continue
                if _b(f["decimal_comma"]):
                    assert re.fullmatch(r"\d{1,3}(\.\d{3})*,\d{2}", v), v
                else:
                    assert re.fullmatch(r"\d+\.\d{2}", v), v
    assert ("xlsx", "excel_serial") in seen and len(seen) >= 4


def test_deterministic(world, tmp_path):
    from synthetic.exports import write_exports

    outs = []
    for name in ("a", "b"):
        d = tmp_path / name
        write_exports(world, test_config(), d, np.random.default_rng(5))
        digest = {}
        for p in sorted(d.rglob("*")):
            if p.is_file():
                digest[str(p.relative_to(d))] = hashlib.sha256(p.read_bytes()).hexdigest()
        outs.append(digest)
    assert outs[0] == outs[1]
    assert any(k.endswith(".xlsx") for k in outs[0])
    c = tmp_path / "c"
    write_exports(world, test_config(), c, np.random.default_rng(6))
    other = {
        str(p.relative_to(c)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in c.rglob("*")
        if p.is_file()
    }
    assert other != outs[0]


def test_as_of_export_status(out, world):
    """Services and requests show the status known at the export date, never a later date."""
    base, _ = out
    prim = _primary_records(base)
    lag = test_config().faults["export_lag_days"]
    s = world.services
    svc = prim.filter(pl.col("entity") == "services").join(
        s.cc_services.with_row_index("world_row").with_columns(pl.col("world_row").cast(pl.Int64)),
        on="world_row",
    )
    # pick referrals whose outcome came after the export date: they must read "Σε εξέλιξη"
    files = {f["path"]: f for f in files_table(base)}
    headers = load_yaml("headers")
    cols = list(headers["entities"]["community_centre.services"]["columns"])
    late = 0
    for r in svc.filter(
        pl.col("referral_status").is_in(["completed", "rejected"]) & pl.col("fault").is_null()
    ).iter_rows(named=True):
        y, m = (int(x) for x in r["period"].split("-"))
        month_end = (date(y + (m == 12), m % 12 + 1, 1)) - timedelta(days=1)
        cells = file_rows(base, files[r["file"]])[r["source_row"]]
        status = cells[cols.index("referral_status")]
        if r["outcome_on"] > month_end + timedelta(days=lag):
            assert status == "Σε εξέλιξη"
            assert cells[cols.index("outcome_on")] in ("", None)
            late += 1
        else:
            assert status in ("Ολοκληρώθηκε", "Απορρίφθηκε")
    assert late > 10


def test_summary(out):
    base, res = out
    summ = res.summary
    assert summ["files"] == res.files.height == len(files_table(base))
    assert summ["faults"] == _ffaults(base).height
    assert sum(summ["faults_by_kind"].values()) == summ["faults"]


def test_header_profile_switch(out):
    """From the switch month, half the entities (exact count) use another header profile."""
    base, _ = out
    prim = [f for f in files_table(base) if not _b(f["is_empty"]) and not f["wrong_folder_of"]]
    switched = 0
    for ent in {f["entity"] for f in prim}:
        before = {
            f["header_profile"] for f in prim if f["entity"] == ent and f["period"] < "2020-07"
        }
        after = {
            f["header_profile"] for f in prim if f["entity"] == ent and f["period"] >= "2020-07"
        }
        assert len(before) == 1 and len(after) == 1
        switched += before != after
    assert switched == exact(0.5, 8)


def test_row_faults_respect_eligibility(out, world):
    """No fault lands where it cannot: lost zero only on ΑΜΚΑ starting with 0, no fault on rows
    lost by a truncation, amka_missing not injected into requests."""
    base, _ = out
    fa = _ffaults(base)
    prim = _primary_records(base).join(
        world.population.persons.select("person_id", "amka", "afm"), on="person_id", how="left"
    )
    j = fa.join(prim, on=["file", "source_row"], suffix="_rec")
    assert j.filter(pl.col("fault") == "amka_leading_zero_lost")["amka"].str.starts_with("0").all()
    assert j.filter(pl.col("fault") == "afm_leading_zero_lost")["afm"].str.starts_with("0").all()
    assert (
        j.filter((pl.col("fault") == "amka_missing") & (pl.col("entity") == "requests")).height == 0
    )
    assert j.filter(pl.col("fault") == "afm_invalid")["entity"].unique().to_list() == [
        "beneficiaries"
    ]


# --- pure functions -------------------------------------------------------------------------------


def test_text_transforms():
    from synthetic.faults import (
        caps_no_accents,
        double_consonant,
        latin_lookalike,
        transliterate,
    )

    assert caps_no_accents("Κνωσού") == "ΚΝΩΣΟΥ"
    assert caps_no_accents("Μονογονεϊκή Άννα") == "ΜΟΝΟΓΟΝΕΙΚΗ ΑΝΝΑ"
    assert transliterate("Παπαδόπουλος") == "PAPADOPOULOS"
    assert transliterate("Χατζηδάκης") == "CHATZIDAKIS"
    rng = np.random.default_rng(0)
    for _ in range(50):
        s = latin_lookalike("Τζανάκης", rng)
        assert len(s) == len("ΤΖΑΝΑΚΗΣ") and s != "ΤΖΑΝΑΚΗΣ"
        assert all(a == b or (b.isascii() and a != b) for a, b in zip("ΤΖΑΝΑΚΗΣ", s, strict=True))
        d = double_consonant("Κνωσού", rng)
        assert len(d) == 7 and d.replace("σσ", "σ") == "Κνωσού" or d.replace("νν", "ν") == "Κνωσού"


def test_identifier_faults():
    from synthetic.faults import afm_check_digit, afm_invalid, amka_invalid, amka_spaces, luhn_valid

    rng = np.random.default_rng(1)
    for amka in ("01013099997", "21068302674", "20108201821", "09095986684"):
        assert luhn_valid(amka) and luhn_ok(amka)
        bad = amka_invalid(amka, rng)
        assert not luhn_ok(bad) and bad[:6] == amka[:6] and bad[-1] == amka[-1]
        assert re.sub(r"\s", "", amka_spaces(amka, rng)) == amka
    assert afm_check_digit("09425921") == 6 and afm_ok("094259216")
    for _ in range(20):
        bad = afm_invalid("094259216", rng)
        assert bad[:8] == "09425921" and not afm_ok(bad)


def test_exact_count_and_choice():
    from synthetic.faults import choose_exact, exact_count

    assert exact_count(0.25, 10) == 3  # 2.5 rounds half up
    assert exact_count(0.1, 4) == 0 and exact_count(0.0, 100) == 0
    c = choose_exact(np.random.default_rng(0), np.arange(100, 200), 7)
    assert len(c) == len(set(c)) == 7 and (np.diff(c) > 0).all() and c.min() >= 100


def test_number_and_date_rendering():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from synthetic.exports_write import date_expr, datetime_expr, fmt_date_py, money_expr

    df = pl.DataFrame({"m": [0.0, 5.5, 1234.56, 1234567.891, 999.999]})
    assert df.select(money_expr(pl.col("m"), True))["m"].to_list() == [
        "0,00", "5,50", "1.234,56", "1.234.567,89", "1.000,00",
    ]  # fmt: skip
    assert df.select(money_expr(pl.col("m"), False))["m"].to_list() == [
        "0.00", "5.50", "1234.56", "1234567.89", "1000.00",
    ]  # fmt: skip

    @settings(max_examples=60, deadline=None)
    @given(
        st.datetimes(min_value=datetime(1901, 1, 1), max_value=datetime(2099, 12, 31)),
        st.sampled_from(["dd/mm/yyyy", "d/m/yy", "yyyy-mm-dd", "excel_serial"]),
        st.booleans(),
    )
    def check(dt, fmt, full_year):
        dt = dt.replace(second=0, microsecond=0)
        d = dt.date()
        s = pl.DataFrame({"d": [d], "t": [dt]})
        assert s.select(date_expr(pl.col("d"), fmt, full_year))["d"][0] == fmt_date_py(
            d, fmt, full_year, False
        )
        assert s.select(datetime_expr(pl.col("t"), fmt, False))["t"][0] == fmt_date_py(
            dt, fmt, False, False
        )

    check()


def test_rows_xml_paths_agree():
    from synthetic.exports_write import Table, rows_xml

    rng = np.random.default_rng(0)
    n = 300
    cols = []
    for c in range(7):
        if c % 3 == 0:
            v = rng.uniform(0, 50000, n).round(2)
            v[::7] = np.nan
            num = pl.Series("n", v).fill_nan(None)
            txt = pl.Series(
                "t", ["31/02/2020" if i % 50 == 0 else None for i in range(n)], dtype=pl.String
            )
            cols.append((num, txt))
        else:
            vals = [None if i % 5 == 0 else ("" if i % 11 == 0 else " a&b<c> Κ ") for i in range(n)]
            cols.append((None, pl.Series("t", vals, dtype=pl.String)))
    t = Table(kinds=["text"] * 7, columns=cols)
    styles = [None, 2, None, 4, None, None, 5]
    a = rows_xml(t, 3, styles, small=0)
    assert a == rows_xml(t, 3, styles, small=10**9)
    root = ET.fromstring(f'<sheetData xmlns="{NS["m"]}">{a}</sheetData>')
    rows = root.findall("m:row", NS)
    assert len(rows) == n and rows[0].get("r") == "4"


def test_xlsx_readable_by_calamine(out):
    """An independent reader (fastexcel/calamine) opens every XLSX and sees its data rows."""
    import fastexcel

    base, _ = out
    n = 0
    for f in files_table(base):
        if f["format"] != "xlsx" or _b(f["is_empty"]):
            continue
        r = fastexcel.read_excel(base / "exports" / f["path"])
        assert r.sheet_names == f["sheets"].split("|")
        sheet = r.load_sheet(f["data_sheet"], header_row=None).to_polars()
        extra = int(f["header_row"]) + (1 if _b(f["totals_row"]) else 0)
        assert sheet.height == int(f["n_data_rows"]) + extra
        n += 1
    assert n > 5
