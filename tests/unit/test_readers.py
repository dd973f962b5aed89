"""File readers and value parsers, on small files written under tmp_path.

Expected values are worked out by hand (row numbers counted in the fixture text, Excel serials
from the 1900 date system, byte values from the cp1253 / ISO-8859-7 code charts).
"""

from __future__ import annotations

import datetime as dt
from datetime import date

import hypothesis.strategies as st
import polars as pl
import pytest
import xlsxwriter
from hypothesis import given, settings

from ingest.contracts import load_contract, load_contracts
from ingest.readers import (
    UnreadableFile,
    decode_bytes,
    detect_delimiter,
    parse_booleans,
    parse_code_lists,
    parse_codes,
    parse_column,
    parse_columns,
    parse_dates,
    parse_datetimes,
    parse_decimals,
    parse_integers,
    parse_times,
    read_file,
    read_table,
)

TODAY = date(2024, 6, 15)

CLIENT_HEADER = [
    "ΑΜΚΑ",
    "Επώνυμο",
    "Όνομα",
    "Ημερομηνία Γέννησης",
    "Φύλο",
    "Τηλέφωνο",
    "Οδός",
    "Αριθμός",
    "Τ.Κ.",
    "Περιοχή",
    "Μένει Μόνος/η",
    "Ποσοστό Αναπηρίας (%)",
    "Μηνιαίο Εισόδημα (€)",
    "Ημ. Ένταξης",
    "Ημ. Αποχώρησης",
    "Λόγος Αποχώρησης",
]
CLIENT_ROWS = [
    ["01015012345", "Άγγελου", "Άννα", "01/01/1950", "Γυναίκα", "2810123456", "Λ. Κνωσού",
     "12Α", "71305", "Άγιος Ιωάννης", "Ναι", "67", "1.234,56", "05/03/2020", "", ""],
    ["02024812345", "Ωραιόπουλος", "Ήλιας", "2/2/48", "Άνδρας", "", "Έβανς", "3", "71202",
     "Κέντρο", "Όχι", "", "€ 480,00", "01/02/2019", "20/03/2020", "Ίδρυμα"],
]  # fmt: skip

VISIT_HEADER = ["ΑΜΚΑ", "Ημερομηνία", "Ειδικότητα", "Είδος Υπηρεσίας", "Διάρκεια (λεπτά)"]


def _csv(header, rows, delimiter=";", title_lines=(), quote_all=False) -> str:
    def cell(v):
        if quote_all or delimiter in v or '"' in v or "\n" in v:
            return '"' + v.replace('"', '""') + '"'
        return v

    lines = list(title_lines) + [delimiter.join(cell(h) for h in header)]
    lines += [delimiter.join(cell(v) for v in r) for r in rows]
    return "\n".join(lines) + "\n"


# --- encodings -------------------------------------------------------------------------------


def test_decode_bytes_hand_worked_greek_code_pages():
    # Ά ν δ ρ α ς: Ά is 0xA2 in cp1253 and 0xB6 in ISO-8859-7; the rest agree (0xED ...)
    assert decode_bytes(b"\xa2\xed\xe4\xf1\xe1\xf2") == ("Άνδρας", "cp1253")
    assert decode_bytes(b"\xb6\xed\xe4\xf1\xe1\xf2") == ("Άνδρας", "iso8859-7")
    # € is 0x80 in cp1253 (a C1 control in ISO-8859-7) and 0xA4 in ISO-8859-7 (¤ in cp1253)
    assert decode_bytes("Αξία (€)".encode("cp1253")) == ("Αξία (€)", "cp1253")
    assert decode_bytes("Αξία (€)".encode("iso8859_7")) == ("Αξία (€)", "iso8859-7")
    assert decode_bytes("Αξία (€)".encode("cp1253"))[0].encode("cp1253")[-2] == 0x80
    assert decode_bytes(b"\xef\xbb\xbf\xce\x86") == ("Ά", "utf-8-sig")
    assert decode_bytes("Ά".encode()) == ("Ά", "utf-8")
    assert decode_bytes("Ά;β".encode("utf-16")) == ("Ά;β", "utf-16")


@pytest.mark.parametrize(
    ("encoding", "label"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("cp1253", "cp1253"),
        ("iso8859_7", "iso8859-7"),
    ],
)
def test_csv_in_each_encoding_reads_back_exactly(tmp_path, encoding, label):
    text = _csv(CLIENT_HEADER, CLIENT_ROWS)
    p = tmp_path / f"clients_2020-03_{label}.csv"
    p.write_bytes(text.encode(encoding))
    t = read_file(p, load_contract("home_help.clients"))
    assert t.encoding == label
    assert t.delimiter == ";"
    assert t.data["surname"].to_list() == ["Άγγελου", "Ωραιόπουλος"]
    assert t.data["exit_reason"].to_list() == [None, "Ίδρυμα"]
    assert t.data["monthly_income_eur"].to_list() == ["1.234,56", "€ 480,00"]
    assert t.mapping.matched["monthly_income_eur"] == "Μηνιαίο Εισόδημα (€)"
    assert t.data["source_row"].to_list() == [2, 3]


# --- delimiters, title rows, line numbers ----------------------------------------------------


def test_comma_delimited_with_quoted_fields(tmp_path):
    rows = [
        ["12345678901", "01/03/2020", "Νοσηλευτής/τρια", "Οικιακή βοήθεια", "45"],
        ["12345678902", "02/03/2020", "Κοινωνικός Λειτουργός", "Συνοδεία, με ΙΧ", "60"],
    ]
    p = tmp_path / "visits.csv"
    p.write_text(_csv(VISIT_HEADER, rows, delimiter=","), encoding="utf-8")
    t = read_file(p, load_contract("home_help.visits"))
    assert t.delimiter == ","
    assert t.data["service_type"].to_list() == ["Οικιακή βοήθεια", "Συνοδεία, με ΙΧ"]
    assert t.data["_field_count"].to_list() == [5, 5]
    assert not t.data["_incomplete"].any()


def test_detect_delimiter_is_not_fooled_by_decimal_commas_or_titles():
    sample = "Διανομές, Μάρτιος 2020\nΑρ. Μητρώου;Ποσότητα;Αξία\nΜ-1;2,5;12,40\nΜ-2;1,0;3,10\n"
    assert detect_delimiter(sample) == ";"
    assert detect_delimiter('a,b,c\n"1;2",3,4\n5,6,7\n') == ","
    assert detect_delimiter("a\tb\tc\n1\t2\t3\n") == "\t"


def test_title_rows_blank_lines_and_quoted_everything(tmp_path):
    rows = [
        ["12345678901", "01/03/2020", "Νοσηλευτής/τρια", "Οικιακή βοήθεια", "45"],
        ["12345678902", "02/03/2020", "Κοινωνικός Λειτουργός", "Συνοδεία", "60"],
    ]
    text = _csv(
        VISIT_HEADER, rows, title_lines=["ΔΗΜΟΣ ΗΡΑΚΛΕΙΟΥ", "Επισκέψεις Μαρτίου 2020", ""],
        quote_all=True,
    )  # fmt: skip
    # lines: 1-2 titles, 3 blank, 4 header, 5 row, 6 blank, 7 only delimiters, 8 row
    lines = text.splitlines()
    lines.insert(5, "")
    lines.insert(6, ";;;;")
    p = tmp_path / "visits.csv"
    p.write_text("\r\n".join(lines) + "\r\n", encoding="cp1253")
    t = read_file(p, load_contract("home_help.visits"))
    assert t.header_row == 4
    assert t.data["source_row"].to_list() == [5, 8]
    assert t.data["amka"].to_list() == ["12345678901", "12345678902"]
    assert t.empty_rows == 2
    assert t.skipped_rows == []


def test_line_break_inside_a_quoted_field_keeps_line_numbers(tmp_path):
    header = ["Κωδικός Ωφελούμενου", "Ημερομηνία", "Κατηγορία Υπηρεσίας", "Παραπομπή σε Φορέα"]
    text = (
        ";".join(header) + "\n"
        + 'Κ-1;01/03/2020;Παραπομπή;"ΚΕΠ Ηρακλείου\nγραφείο 2"\n'
        + "Κ-2;02/03/2020;Ενημέρωση;\n"
    )  # fmt: skip
    p = tmp_path / "services.csv"
    p.write_text(text, encoding="utf-8")
    t = read_file(p, load_contract("community_centre.services"))
    assert t.data["source_row"].to_list() == [2, 4]
    assert t.data["referral_body"].to_list() == ["ΚΕΠ Ηρακλείου\nγραφείο 2", None]
    assert t.data["_field_count"].to_list() == [4, 4]


def test_truncated_csv_row_is_kept_and_marked(tmp_path):
    rows = [
        ["12345678901", "01/03/2020", "Νοσηλευτής/τρια", "Οικιακή βοήθεια", "45"],
        ["12345678902", "02/03/2020", "Κοινωνικός Λειτουργός", "Συνοδεία", "60"],
    ]
    text = _csv(VISIT_HEADER, rows) + "12345678903;03/03/2020;Κοινωνι"  # cut mid-field
    p = tmp_path / "visits.csv"
    p.write_text(text, encoding="utf-8")
    t = read_file(p, load_contract("home_help.visits"))
    assert t.data["source_row"].to_list() == [2, 3, 4]
    assert t.data["_field_count"].to_list() == [5, 5, 3]
    assert t.data["_incomplete"].to_list() == [False, False, True]
    assert t.data["staff_role"][2] == "Κοινωνι"
    assert t.data["service_type"][2] is None
    assert t.incomplete_rows == 1 and t.skipped_rows == []


def test_truncated_inside_quotes_is_marked(tmp_path):
    text = _csv(VISIT_HEADER, [["1", "01/03/2020", "Νοσηλευτής/τρια", "Συνοδεία", "45"]])
    text += '2;02/03/2020;"Κοινων'
    p = tmp_path / "visits.csv"
    p.write_text(text, encoding="utf-8")
    t = read_file(p, load_contract("home_help.visits"))
    assert t.data["_incomplete"].to_list() == [False, True]
    assert t.data["source_row"].to_list() == [2, 3]


def test_totals_row_at_the_bottom_of_a_csv_is_skipped(tmp_path):
    header = ["Αρ. Μητρώου", "Ημερομηνία Διανομής", "Κατηγορία Ειδών", "Ποσότητα", "Μονάδα",
              "Αξία (€)"]  # fmt: skip
    rows = [
        ["Μ-1", "02/03/2020", "Τρόφιμα", "2,5", "κιλά", "12,40"],
        ["104", "", "", "2", "", ""],  # sparse, numbers only, but not at the bottom: data
        ["Μ-2", "03/03/2020", "Βρεφικά", "1", "τεμ.", "3,10"],
        ["ΣΥΝΟΛΑ", "", "", "5,5", "", "15,50"],
        ["", "", "", "", "", ""],
        ["", "", "", "5,5", "", "15,50"],  # unlabelled, in the block at the bottom
    ]
    p = tmp_path / "distributions.csv"
    p.write_text(_csv(header, rows), encoding="utf-8")
    t = read_file(p, load_contract("social_grocery.distributions"))
    assert t.data["source_row"].to_list() == [2, 3, 4]
    assert t.skipped_rows == [(5, "totals_row"), (7, "totals_row")]
    assert t.empty_rows == 1


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"", b"   \r\n\r\n", b"\xef\xbb\xbf"])
def test_empty_file_is_refused(tmp_path, content):
    p = tmp_path / "visits_2020-03.csv"
    p.write_bytes(content)
    with pytest.raises(UnreadableFile) as e:
        read_file(p, load_contract("home_help.visits"))
    assert e.value.reason_code == "empty_file"
    assert "visits_2020-03.csv" in e.value.message_en and "visits_2020-03.csv" in e.value.message_el


def test_header_only_file_loads_as_zero_rows(tmp_path):
    # a month with nothing to report is not an empty file
    p = tmp_path / "visits.csv"
    p.write_text("Επισκέψεις\n" + ";".join(VISIT_HEADER) + "\n\n", encoding="utf-8")
    t = read_file(p, load_contract("home_help.visits"))
    assert (t.rows_read, t.header_row, t.skipped_rows) == (0, 2, [])
    assert t.data.columns[0] == "source_row" and t.data.columns[-1] == "_incomplete"
    vals, errs = parse_columns(t.data, load_contract("home_help.visits"), today=TODAY)
    assert vals.height == 0 and errs.height == 0


def test_file_in_the_wrong_folder_names_what_it_is(tmp_path):
    rows = [["12345678901", "01/03/2020", "Νοσηλευτής/τρια", "Οικιακή βοήθεια", "45"]]
    p = tmp_path / "intake_2020-03.csv"
    p.write_text(_csv(VISIT_HEADER, rows), encoding="utf-8")
    with pytest.raises(UnreadableFile) as e:
        read_file(p, load_contract("community_centre.intake"))
    err = e.value
    assert err.reason_code == "wrong_source"
    assert err.expected == "community_centre.intake"
    assert err.found == "home_help.visits"
    assert "expected community_centre.intake" in err.message_en
    assert "home_help.visits" in err.message_en
    assert "Επισκέψεις της Βοήθειας στο Σπίτι" in err.message_el


def test_beneficiaries_in_the_clients_folder_is_wrong_source(tmp_path):
    header = ["Κωδικός Ωφελούμενου", "ΑΜΚΑ", "Επώνυμο", "Όνομα", "Φύλο", "Ημερομηνία Γέννησης",
              "Οδός", "Αριθμός", "Τ.Κ.", "Ημερομηνία Εγγραφής", "Δομή"]  # fmt: skip
    row = ["Κ-1", "01015012345", "Α", "Β", "Άνδρας", "01/01/1950", "Έβανς", "1", "71202",
           "02/03/2020", "Κέντρο Κοινότητας"]  # fmt: skip
    p = tmp_path / "clients.csv"
    p.write_text(_csv(header, [row]), encoding="utf-8")
    with pytest.raises(UnreadableFile) as e:
        read_file(p, load_contract("home_help.clients"))
    assert (e.value.reason_code, e.value.found) == (
        "wrong_source",
        "community_centre.beneficiaries",
    )
    # and in its own folder it reads
    assert read_file(p, load_contract("community_centre.beneficiaries")).rows_read == 1


def test_no_header_says_what_was_expected_and_found(tmp_path):
    p = tmp_path / "visits.csv"
    p.write_text("Επισκέψεις\nΑΜΚΑ;Σημειώσεις;Παρατηρήσεις\n12345678901;α;β\n", encoding="utf-8")
    with pytest.raises(UnreadableFile) as e:
        read_file(p, load_contract("home_help.visits"))
    assert e.value.reason_code == "no_header"
    assert "Ειδικότητα" in e.value.message_en and "Ειδικότητα" in e.value.message_el
    assert "ΑΜΚΑ | Σημειώσεις | Παρατηρήσεις" in e.value.message_en


def test_no_header_never_echoes_a_data_row(tmp_path):
    p = tmp_path / "visits.csv"
    p.write_text("12345678901;Παπαδόπουλος;01/03/2020\n", encoding="utf-8")
    with pytest.raises(UnreadableFile) as e:
        read_file(p, load_contract("home_help.visits"))
    assert e.value.reason_code == "no_header"
    for text in (e.value.message_en, e.value.message_el, str(e.value.found)):
        assert "12345678901" not in text and "Παπαδόπουλος" not in text


def test_missing_required_column_is_named(tmp_path):
    p = tmp_path / "visits.csv"
    p.write_text(_csv(VISIT_HEADER[:4], [["1", "01/03/2020", "Νοσηλευτής", "Συνοδεία"]]),
                 encoding="utf-8")  # fmt: skip
    with pytest.raises(UnreadableFile) as e:
        read_file(p, load_contract("home_help.visits"))
    assert e.value.reason_code == "missing_columns"
    assert "duration_minutes" in e.value.message_en and "Διάρκεια (λεπτά)" in e.value.message_el


def test_unknown_and_missing_optional_columns_are_reported(tmp_path):
    header = VISIT_HEADER[1:] + ["Σχόλια"]
    p = tmp_path / "visits.csv"
    p.write_text(_csv(header, [["01/03/2020", "Νοσηλευτής", "Συνοδεία", "30", "καλά"]]),
                 encoding="utf-8")  # fmt: skip
    t = read_file(p, load_contract("home_help.visits"))
    assert t.mapping.unknown == ("Σχόλια",)
    assert t.mapping.missing_optional == ("amka",)
    assert t.data["amka"].to_list() == [None]  # absent optional column: present, all empty
    assert t.data.columns == [
        "source_row", "amka", "visit_on", "staff_role", "service_type", "duration_minutes",
        "_field_count", "_incomplete",
    ]  # fmt: skip


def test_corrupt_xlsx_is_unreadable(tmp_path):
    p = tmp_path / "distributions.xlsx"
    p.write_bytes(b"PK\x03\x04" + b"\x00garbage" * 50)
    with pytest.raises(UnreadableFile) as e:
        read_file(p, load_contract("social_grocery.distributions"))
    assert e.value.reason_code == "unreadable"
    q = tmp_path / "renamed.xlsx"
    q.write_text("not a workbook", encoding="utf-8")
    with pytest.raises(UnreadableFile) as e:
        read_file(q, load_contract("social_grocery.distributions"))
    assert e.value.reason_code == "unreadable"


# --- XLSX ------------------------------------------------------------------------------------


def _grocery_workbook(path):
    wb = xlsxwriter.Workbook(str(path))
    notes = wb.add_worksheet("Οδηγίες")
    notes.write(0, 0, "Συμπληρώστε μία γραμμή ανά διανομή.")
    ws = wb.add_worksheet("Διανομές 2020")
    datefmt = wb.add_format({"num_format": "dd/mm/yyyy"})
    ws.write(0, 0, "ΚΟΙΝΩΝΙΚΟ ΠΑΝΤΟΠΩΛΕΙΟ ΔΗΜΟΥ ΗΡΑΚΛΕΙΟΥ")  # Excel row 1
    ws.write(1, 0, "Διανομές Μαρτίου 2020")  # row 2; row 3 empty
    # rows 4-5: a header split over two rows under merged cells
    ws.merge_range(3, 0, 4, 0, "Αρ. Μητρώου")  # vertical merge: text in row 4 only
    ws.merge_range(3, 1, 3, 2, "Ημερομηνία")  # group over two columns
    ws.write(4, 1, "Διανομής")  # -> "Ημερομηνία Διανομής"
    ws.write(4, 2, "Καταχώρισης")  # -> "Ημερομηνία Καταχώρισης" (unknown)
    ws.merge_range(3, 3, 3, 5, "Είδη")
    ws.write(4, 3, "Κατηγορία Ειδών")
    ws.write(4, 4, "Ποσότητα")
    ws.write(4, 5, "Μονάδα")
    ws.merge_range(3, 6, 4, 6, "Αξία (€)")
    for i in range(3):  # Excel rows 6, 7, 8
        r = 5 + i
        ws.write_string(r, 0, f"Μ-{100 + i}")
        ws.write_datetime(r, 1, dt.datetime(2020, 3, 2 + i), datefmt)
        ws.write_number(r, 2, 43892 + i)  # a serial number without a date format
        ws.write(r, 3, "Τρόφιμα")
        ws.write_number(r, 4, 2.5)
        ws.write(r, 5, "κιλά")
        ws.write_number(r, 6, 12.4)
    ws.write(8, 3, "Σύνολο")  # row 9: labelled totals
    ws.write_formula(8, 4, "=SUM(E6:E8)", None, 7.5)
    ws.write_formula(8, 6, "=SUM(G6:G8)", None, 37.2)
    ws.write_number(9, 4, 7.5)  # row 10: unlabelled totals (numbers only) at the bottom
    ws.write_number(9, 6, 37.2)
    other = wb.add_worksheet("Οικογένειες")
    for j, h in enumerate(["Αρ. Μητρώου", "Ονοματεπώνυμο", "Μέλη", "Ημερομηνία Αίτησης",
                           "Απόφαση"]):  # fmt: skip
        other.write(0, j, h)
    wb.close()


def test_xlsx_title_rows_merged_header_totals_and_sheets(tmp_path):
    p = tmp_path / "diannomes_03-2020.xlsx"
    _grocery_workbook(p)
    t = read_file(p, load_contract("social_grocery.distributions"))
    assert t.format == "xlsx" and t.encoding is None and t.decimal_mark == "."
    assert t.sheet == "Διανομές 2020"
    assert t.other_sheets == [("Οδηγίες", "no_header"), ("Οικογένειες", "wrong_source")]
    assert (t.header_row, t.header_rows) == (5, 2)
    assert t.mapping.matched == {
        "registry_no": "Αρ. Μητρώου",
        "distributed_on": "Ημερομηνία Διανομής",
        "category": "Κατηγορία Ειδών",
        "quantity": "Ποσότητα",
        "unit": "Μονάδα",
        "value_eur": "Αξία (€)",
    }
    assert t.mapping.unknown == ("Ημερομηνία Καταχώρισης",)
    assert t.data["source_row"].to_list() == [6, 7, 8]
    assert t.skipped_rows == [(9, "totals_row"), (10, "totals_row")]
    assert t.data["distributed_on"].to_list() == ["2020-03-02", "2020-03-03", "2020-03-04"]
    assert t.data["registry_no"].to_list() == ["Μ-100", "Μ-101", "Μ-102"]
    assert t.data["quantity"].to_list() == ["2.5"] * 3
    assert t.data["value_eur"].to_list() == ["12.4"] * 3
    assert not t.data["_incomplete"].any()
    vals, errs = parse_columns(t.data, load_contract("social_grocery.distributions"), today=TODAY,
                               decimal_mark=t.decimal_mark)  # fmt: skip
    assert vals["distributed_on"].to_list() == [
        date(2020, 3, 2),
        date(2020, 3, 3),
        date(2020, 3, 4),
    ]
    assert vals["value_eur"].to_list() == [12.4] * 3
    assert vals["unit"].to_list() == ["kg"] * 3
    assert errs.drop("source_row").null_count().sum_horizontal().item() == 3 * 6


def test_xlsx_file_of_another_source_is_refused(tmp_path):
    p = tmp_path / "oikogeneies.xlsx"
    wb = xlsxwriter.Workbook(str(p))
    ws = wb.add_worksheet("Μητρώο")
    header = ["Αρ. Μητρώου", "ΑΜΚΑ Αιτούντος", "Ονοματεπώνυμο", "Μέλη", "Ημερομηνία Αίτησης",
              "Απόφαση", "Ημερομηνία Απόφασης"]  # fmt: skip
    for j, h in enumerate(header):
        ws.write(0, j, h)
        ws.write(1, j, "x")
    wb.close()
    with pytest.raises(UnreadableFile) as e:
        read_file(p, load_contract("social_grocery.distributions"))
    assert (e.value.reason_code, e.value.found) == ("wrong_source", "social_grocery.households")
    t = read_table(p, load_contract("social_grocery.households"))
    assert (t.sheet, t.header_row, t.data["source_row"].to_list()) == ("Μητρώο", 1, [2])


def test_xlsx_with_only_empty_sheets_is_empty(tmp_path):
    p = tmp_path / "empty.xlsx"
    wb = xlsxwriter.Workbook(str(p))
    wb.add_worksheet("Φύλλο1")
    wb.close()
    with pytest.raises(UnreadableFile) as e:
        read_file(p, load_contract("social_grocery.distributions"))
    assert e.value.reason_code == "empty_file"


def test_xlsx_time_cells_and_booleans(tmp_path):
    p = tmp_path / "intake.xlsx"
    wb = xlsxwriter.Workbook(str(p))
    ws = wb.add_worksheet()
    tf = wb.add_format({"num_format": "hh:mm"})
    df = wb.add_format({"num_format": "dd/mm/yyyy hh:mm"})
    for j, h in enumerate(["Ημερομηνία", "Ώρα", "Δομή", "Νέος/Υφιστάμενος", "Λόγος Προσέλευσης"]):
        ws.write(0, j, h)
    ws.write_datetime(1, 0, dt.datetime(2020, 3, 2, 9, 15), df)
    ws.write_datetime(1, 1, dt.time(10, 30), tf)
    ws.write(1, 2, "Κέντρο Κοινότητας")
    ws.write_boolean(1, 3, True)
    ws.write(1, 4, "Αίτηση ΚΕΑ")
    wb.close()
    t = read_file(p, load_contract("community_centre.intake"))
    assert t.data.row(0, named=True)["visit_on"] == "2020-03-02 09:15:00"
    assert t.data.row(0, named=True)["visit_time"] == "10:30:00"
    assert t.data.row(0, named=True)["is_new"] == "true"
    vals, errs = parse_columns(t.data, load_contract("community_centre.intake"), today=TODAY)
    assert vals.row(0, named=True) == {
        "source_row": 2,
        "visit_on": date(2020, 3, 2),
        "visit_time": dt.time(10, 30),
        "structure": "main",
        "is_new": True,
        "reason": "kea_application",
    }


# --- a larger file through the vectorised path ---------------------------------------------


def test_many_rows_keep_their_line_numbers(tmp_path):
    n = 20_000
    lines = ["Επισκέψεις", ";".join(VISIT_HEADER)]
    lines += [f"{10**10 + i};{1 + i % 28:02d}/03/2020;Νοσηλευτής/τρια;Συνοδεία;{30 + i % 50}"
              for i in range(n)]  # fmt: skip
    lines[5000] = ""  # a blank line at physical line 5001
    p = tmp_path / "visits.csv"
    p.write_text("\n".join(lines) + "\n", encoding="iso8859_7")
    t = read_file(p, load_contract("home_help.visits"))
    assert t.rows_read == n - 1 and t.empty_rows == 1
    rows = t.data["source_row"].to_list()
    assert rows[0] == 3 and rows[-1] == n + 2 and 5001 not in rows and 5002 in rows
    amka = dict(zip(t.data["source_row"].to_list(), t.data["amka"].to_list(), strict=True))
    assert amka[5002] == str(10**10 + 4999)


# --- value parsing ---------------------------------------------------------------------------


def _p(fn, values, **kw):
    p = fn(pl.Series("x", values), **kw)
    return p.values.to_list(), p.errors.to_list()


def test_parse_dates_hand_worked():
    values, errors = _p(
        parse_dates,
        ["01/02/2020", "1/2/20", "2020-01-05", "05-03-2021", "05.03.2021", " 3/4/2019 ",
         "2020-01-05 00:00:00", "29/02/2020", "31/02/2020", "29/02/2021", "12/13/2020", "abc",
         "", None, "1/1/35", "1/1/24"],
        min_value=date(1900, 1, 1), max_value=date(2024, 6, 15),
    )  # fmt: skip
    assert values == [
        date(2020, 2, 1), date(2020, 2, 1), date(2020, 1, 5), date(2021, 3, 5), date(2021, 3, 5),
        date(2019, 4, 3), date(2020, 1, 5), date(2020, 2, 29), None, None, None, None, None, None,
        date(1935, 1, 1), date(2024, 1, 1),
    ]  # fmt: skip
    assert errors == [None] * 8 + ["date_invalid"] * 4 + [None] * 4


def test_parse_dates_excel_serials():
    # Excel's 1900 system: 1 = 1900-01-01, 59 = 1900-02-28, 60 = the phantom 1900-02-29,
    # 61 = 1900-03-01, 43831 = 2020-01-01 (43830 days after 1899-12-31, less the phantom day)
    values, errors = _p(parse_dates, ["1", "59", "60", "61", "43831", "43831.75", "0", "80001"])
    assert values == [
        date(1900, 1, 1), date(1900, 2, 28), None, date(1900, 3, 1), date(2020, 1, 1),
        date(2020, 1, 1), None, None,
    ]  # fmt: skip
    assert errors == [None, None, "date_invalid", None, None, None, "date_invalid", "date_invalid"]


def test_parse_dates_bounds_and_century_pivot():
    values, errors = _p(
        parse_dates, ["31/12/1999", "01/01/2000", "15/06/2025", "16/06/2025", "1/1/25"],
        min_value=date(2000, 1, 1), max_value=date(2025, 6, 15),
    )  # fmt: skip
    assert errors == ["date_out_of_range", None, None, "date_out_of_range", None]
    assert values[-1] == date(2025, 1, 1)
    # birth dates: nothing after today, so '25' in 2024 is 1925
    values, _ = _p(parse_dates, ["1/1/25", "1/1/24"], max_value=date(2024, 6, 15))
    assert values == [date(1925, 1, 1), date(2024, 1, 1)]
    values, _ = _p(parse_dates, ["1/1/25"], century_pivot=2030)
    assert values == [date(2025, 1, 1)]


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=date(1900, 3, 1), max_value=date(2099, 12, 31)))
def test_parse_dates_round_trips_every_format(d):
    serial = (d - date(1899, 12, 30)).days
    texts = [d.strftime("%d/%m/%Y"), d.isoformat(), d.strftime("%d.%m.%Y"),
             f"{d.day}/{d.month}/{d.year}", str(serial)]  # fmt: skip
    values, errors = _p(parse_dates, texts)
    assert values == [d] * len(texts) and errors == [None] * len(texts)


def test_parse_datetimes_and_times():
    values, errors = _p(
        parse_datetimes,
        ["12/03/2020 10:30", "2020-03-12T10:30:15", "2020-03-12 10:30:00", "12/03/2020",
         "43831.5", "12/03/2020 25:10", "bad"],
    )  # fmt: skip
    assert values[:5] == [
        dt.datetime(2020, 3, 12, 10, 30), dt.datetime(2020, 3, 12, 10, 30, 15),
        dt.datetime(2020, 3, 12, 10, 30), dt.datetime(2020, 3, 12), dt.datetime(2020, 1, 1, 12),
    ]  # fmt: skip
    assert errors == [None] * 5 + ["date_invalid"] * 2
    values, errors = _p(
        parse_times, ["10:30", "9.05", "10:30:15", "0.4375", "25:00", "10:61", "x", ""]
    )
    assert values[:4] == [dt.time(10, 30), dt.time(9, 5), dt.time(10, 30, 15), dt.time(10, 30)]
    assert errors == [None] * 4 + ["time_invalid"] * 3 + [None]


def test_parse_decimals_hand_worked():
    values, errors = _p(
        parse_decimals,
        ["1.234,56", "1,234.56", "1234,5", "€ 12,00", "12,00 €", "67%", "-3", "1 234,50",
         "1.234", "abc", "1.2,3", ""],
    )  # fmt: skip
    assert values == [1234.56, 1234.56, 1234.5, 12.0, 12.0, 67.0, -3.0, 1234.5, 1234.0, None,
                      None, None]  # fmt: skip
    assert errors == [None] * 9 + ["number_invalid"] * 2 + [None]
    # an ambiguous "1.234" follows the column: here the unambiguous values use a point
    values, _ = _p(parse_decimals, ["1.234", "0.5", "12.75"])
    assert values == [1.234, 0.5, 12.75]
    # ... or the reader's hint (spreadsheet cells)
    values, _ = _p(parse_decimals, ["1.234", "1,5"], decimal_mark=".")
    assert values == [1.234, 1.5]
    values, errors = _p(parse_decimals, ["-1", "0", "100", "100,5"], min_value=0, max_value=100)
    assert errors == ["number_invalid", None, None, "number_invalid"]


def test_parse_integers():
    values, errors = _p(parse_integers, ["3", "3,0", "1.000", "2,5", "x", "", "-1"], min_value=0)
    assert values == [3, 3, 1000, None, None, None, -1]
    assert errors == [None, None, None, "number_invalid", "number_invalid", None,
                      "number_invalid"]  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=-(10**9), max_value=10**9))
def test_parse_decimals_greek_format_round_trips(cents):
    x = cents / 100
    whole, frac = f"{abs(x):,.2f}".split(".")
    greek = ("-" if x < 0 else "") + whole.replace(",", ".") + "," + frac
    english = f"{x:,.2f}"
    values, errors = _p(parse_decimals, [greek, english])
    assert values == [pytest.approx(x), pytest.approx(x)] and errors == [None, None]


def test_parse_booleans_codes_and_lists():
    values, errors = _p(
        parse_booleans, ["Ναι", "Όχι", "ΝΑΙ", "ΟΧΙ", "Ν", "Ο", "1", "0", "✓", " ναι ", "ίσως", None]
    )
    assert values == [True, False, True, False, True, False, True, False, True, True, None, None]
    assert errors == [None] * 10 + ["code_invalid", None]
    sex = load_contract("community_centre.beneficiaries").column("sex").spellings()
    values, errors = _p(parse_codes, ["Άνδρας", "ΓΥΝΑΙΚΑ", "α", "Γ.", "Χ"], spellings=sex)
    assert values == ["M", "F", "M", "F", None]
    assert errors == [None, None, None, None, "code_invalid"]
    groups = load_contract("community_centre.beneficiaries").column("vulnerable_groups")
    values, errors = _p(
        parse_code_lists,
        ["Ρομά;ΑμεΑ", "ΡΟΜΑ ; αμεα ; Ρομά", "Μονογονεϊκή οικογένεια", "Ρομά;Άγνωστο", None],
        spellings=groups.spellings(),
    )
    assert values == [["roma", "disability"], ["roma", "disability"], ["single_parent"], None,
                      None]  # fmt: skip
    assert errors == [None, None, None, "code_invalid", None]


def test_parse_column_required_and_passthrough():
    c = load_contract("home_help.visits")
    p = parse_column(pl.Series(["45", "", None, "x"]), c.column("duration_minutes"), today=TODAY)
    assert p.values.to_list() == [45, None, None, None]
    assert p.errors.to_list() == [None, "required_missing", "required_missing", "number_invalid"]
    p = parse_column(pl.Series(["0123 456 7890", " ", None]), c.column("amka"), today=TODAY)
    assert p.values.to_list() == ["0123 456 7890", None, None]  # identifiers are left as written
    assert p.errors.to_list() == [None, None, None]


def test_all_contracts_parse_their_own_columns():
    # every column type of every contract goes through parse_column without error on blanks
    for c in load_contracts().values():
        raw = pl.DataFrame({"source_row": [1]} | {col.name: [None] for col in c.columns},
                           schema={"source_row": pl.Int64} | {col.name: pl.String
                                                              for col in c.columns})  # fmt: skip
        vals, errs = parse_columns(raw, c, today=TODAY)
        assert vals.columns == ["source_row", *c.column_names]
        got = {k: v for k, v in errs.row(0, named=True).items() if v}
        assert got == {n: "required_missing" for n in c.required_columns} | {"source_row": 1}


def test_sheets_that_all_fit_prefer_the_month_of_the_period(tmp_path):
    p = tmp_path / "visits_2020-10.xlsx"
    wb = xlsxwriter.Workbook(str(p))
    for name, day in [("Σεπτέμβριος 2020", "01/09/2020"), ("ΟΚΤΩΒΡΙΟΣ 2020", "01/10/2020")]:
        ws = wb.add_worksheet(name)
        for j, h in enumerate(VISIT_HEADER):
            ws.write(0, j, h)
        for j, v in enumerate(["12345678901", day, "Νοσηλευτής/τρια", "Συνοδεία", "45"]):
            ws.write_string(1, j, v)
    wb.close()
    c = load_contract("home_help.visits")
    t = read_file(p, c, period="2020-10")
    assert (t.sheet, t.data["visit_on"].to_list()) == ("ΟΚΤΩΒΡΙΟΣ 2020", ["01/10/2020"])
    assert t.other_sheets == [("Σεπτέμβριος 2020", "also matches the contract; not read")]
    assert read_file(p, c).sheet == "Σεπτέμβριος 2020"  # no period: the first that fits
