"""Every reason ingest gives for refusing a file, rejecting or repairing a row, in Greek and English.

A data steward reads these in the load log and the reject tables; the codes are also the
`expected_reason` vocabulary of the generator's ground truth (docs/design.md).
"""

from __future__ import annotations

from typing import NamedTuple


class Reason(NamedTuple):
    el: str
    en: str


REASONS: dict[str, Reason] = {
    # rows rejected
    "row_incomplete": Reason(
        "Η γραμμή έχει λιγότερα πεδία από την επικεφαλίδα (το αρχείο μάλλον κόπηκε): ξαναστείλτε το αρχείο.",
        "The row has fewer fields than the header (the file was probably cut short): re-send the file.",
    ),
    "required_missing": Reason("Λείπει υποχρεωτική τιμή.", "A required value is missing."),
    "date_invalid": Reason("Μη έγκυρη ημερομηνία (π.χ. 31/02).", "Invalid date (e.g. 31/02)."),
    "date_out_of_range": Reason(
        "Ημερομηνία εκτός επιτρεπτού διαστήματος.", "Date outside the allowed range."
    ),
    "time_invalid": Reason("Μη έγκυρη ώρα.", "Invalid time."),
    "number_invalid": Reason(
        "Ο αριθμός δεν διαβάζεται ή είναι εκτός ορίων.",
        "The number cannot be read or is out of range.",
    ),
    "code_invalid": Reason(
        "Τιμή που δεν προβλέπεται από το συμβόλαιο της πηγής.",
        "A value the source contract does not allow.",
    ),
    "date_order": Reason(
        "Οι ημερομηνίες δεν είναι σε σωστή σειρά (π.χ. έκβαση πριν την παροχή).",
        "Dates out of order (e.g. an outcome before the service).",
    ),
    "count_order": Reason(
        "Τα μέρη υπερβαίνουν το σύνολο (π.χ. ανήλικα μέλη περισσότερα από τα μέλη).",
        "Parts exceed the whole (e.g. more minors than household members).",
    ),
    "amka_invalid": Reason(
        "Μη έγκυρος ΑΜΚΑ (ψηφίο ελέγχου ή ημερομηνία γέννησης): διορθώστε τον στην πηγή.",
        "Invalid ΑΜΚΑ (check digit or birth date): correct it at the source.",
    ),
    "afm_invalid": Reason(
        "Μη έγκυρος ΑΦΜ (ψηφίο ελέγχου): διορθώστε τον στην πηγή.",
        "Invalid ΑΦΜ (check digit): correct it at the source.",
    ),
    # files refused
    "empty_file": Reason("Το αρχείο είναι κενό.", "The file is empty."),
    "no_header": Reason(
        "Δεν βρέθηκε γραμμή επικεφαλίδων που να ταιριάζει με την πηγή.",
        "No header row matching the source was found.",
    ),
    "missing_columns": Reason("Λείπουν υποχρεωτικές στήλες.", "Required columns are missing."),
    "wrong_source": Reason(
        "Το αρχείο ανήκει σε άλλη πηγή από αυτή του φακέλου.",
        "The file belongs to another source than its folder's.",
    ),
    "unreadable": Reason("Το αρχείο δεν διαβάζεται.", "The file cannot be read."),
    "unknown_source": Reason(
        "Ο φάκελος δεν αντιστοιχεί σε γνωστή πηγή (αναμένεται <δήμος>/<πηγή>/<οντότητα>/).",
        "The folder is not a known source (expected <municipality>/<source>/<entity>/).",
    ),
    "no_period": Reason(
        "Δεν προκύπτει ο μήνας αναφοράς (ούτε από το όνομα ούτε από τις ημερομηνίες).",
        "The reporting month cannot be determined (neither from the name nor from the dates).",
    ),
    # rows repaired (loaded)
    "amka_leading_zero_restored": Reason(
        "Αποκαταστάθηκε το αρχικό μηδενικό του ΑΜΚΑ.", "The ΑΜΚΑ's leading zero was restored."
    ),
    "amka_whitespace_removed": Reason(
        "Αφαιρέθηκαν κενά από τον ΑΜΚΑ.", "Spaces were removed from the ΑΜΚΑ."
    ),
    "afm_leading_zero_restored": Reason(
        "Αποκαταστάθηκε το αρχικό μηδενικό του ΑΦΜ.", "The ΑΦΜ's leading zero was restored."
    ),
    "afm_whitespace_removed": Reason(
        "Αφαιρέθηκαν κενά από τον ΑΦΜ.", "Spaces were removed from the ΑΦΜ."
    ),
    # rows skipped (not data)
    "totals_row": Reason("Γραμμή συνόλων (παραλείπεται).", "Totals row (skipped)."),
    # loaded with a note
    "amka_missing": Reason(
        "Χωρίς ΑΜΚΑ: το πρόσωπο ταυτοποιείται ασθενέστερα (όνομα και ημερομηνία γέννησης).",
        "No ΑΜΚΑ: the person is identified more weakly (name and birth date).",
    ),
}


def reason(code: str) -> Reason:
    """The Greek and English text of a reason code (the code itself if it is unknown)."""
    return REASONS.get(code, Reason(code, code))
