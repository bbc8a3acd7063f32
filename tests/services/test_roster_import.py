"""Roster files: both formats, every validation, all-or-nothing writes."""

import json
from pathlib import Path

import pytest

from apscn_tracker.domain.roster import RosterError, parse_roster


def write(tmp_path: Path, text: str, name="roster.csv", encoding="utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def test_the_project_format_merges_several_contacts_of_one_district():
    roster = parse_roster(
        b"lea_code,name,county,contact_name,contact_email,contact_role\n"
        b"6001000,Little Rock,Pulaski,Ann,ann@lrsd.org,IT\n"
        b"6001000,Little Rock,Pulaski,Bob,BOB@lrsd.org,Data\n"
    )
    assert [d.lea for d in roster.districts] == ["6001000"]
    assert [c.email for c in roster.districts[0].contacts] == ["ann@lrsd.org", "bob@lrsd.org"]


def test_the_nces_format_reads_arkansas_rows_and_skips_other_states():
    roster = parse_roster(
        b"ST_LEAID,LEA_NAME,LEAID,CONAME\nAR-0401000,Bentonville School District,0503060,Benton County\n"
        b"TX-101912,Houston ISD,4823640,Harris County\n"
    )
    assert [(d.lea, d.county) for d in roster.districts] == [("0401000", "Benton County")]
    assert roster.skipped == 1 and roster.format == "nces"


def test_a_utf8_bom_and_windows_1252_accents_are_read():
    assert parse_roster("\ufefflea_code,name\n0101000,DeWitt\n".encode()).districts[0].name == "DeWitt"
    roster = parse_roster("lea_code,name\n0101000,Núñez Academy\n".encode("cp1252"))
    assert roster.districts[0].name == "Núñez Academy" and "Windows-1252" in roster.warnings[0]


def test_a_six_digit_code_gets_its_leading_zero_back_with_a_warning():
    roster = parse_roster(b"lea_code,name\n101000,DeWitt\n")
    assert roster.districts[0].lea == "0101000" and "6 digits" in roster.warnings[0]


def test_an_unusual_school_part_is_accepted_with_a_warning():
    roster = parse_roster(b"lea_code,name\n6001012,A school\n")
    assert "neither 000" in roster.warnings[0]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"lea_code,name\n12345,X\n", "7 digits"),
        (b"lea_code,name\n9901000,X\n", "county"),
        (b"lea_code,name\n6001000,\n", "no name"),
        (b"lea_code,name\n6001000,A\n6001000,B\n", "appears again"),
        (b"lea_code,name,contact_email\n6001000,A,not-an-email\n", "not an email"),
        (b"lea_code,name\n6001000,=cmd|' /C calc'!A0\n", "formula"),
        (b"code,title\n6001000,A\n", "unknown columns"),
        (b"", "empty"),
        (b"lea_code,name\n", "no district rows"),
        (b"lea_code,name\n6001000,A,extra\n", "more cells"),
        (b"lea_code,name,contact_name\n6001000,A,Ann\n", "contact_email"),
    ],
)
def test_a_bad_roster_is_refused_with_the_line_and_the_reason(body, message):
    with pytest.raises(RosterError, match=message):
        parse_roster(body)


def test_a_refused_import_writes_nothing(ledger_app, cli, tmp_path):
    before = cli.json("district", "list")
    bad = write(tmp_path, "lea_code,name\n0999000,New One\n0401000,\n")
    result = cli("district", "import", str(bad))
    assert result.exit_code == 1
    assert "nothing was imported (1 problem)" in result.stderr and "\n3     name" in result.stderr
    assert cli.json("district", "list") == before


def test_a_dry_run_shows_the_changes_and_writes_nothing(ledger_app, cli, tmp_path):
    f = write(tmp_path, "lea_code,name\n0999000,New One\n0401000,Bentonville Public Schools\n")
    out = cli.json("district", "import", str(f), "--dry-run")
    assert (out["added"], out["updated"]) == (1, 1)
    assert any(c.startswith("change 0401000 name ") for c in out["changes"])
    assert len(cli.json("district", "list")) == 257


def test_a_reimport_updates_names_and_keeps_the_history(ledger_app, cli, tmp_path):
    f = write(tmp_path, "lea_code,name,contact_email\n0401000,Bentonville Public Schools,it@bentonville.example\n")
    out = cli.json("district", "import", str(f))
    assert (out["added"], out["updated"], out["contacts_added"]) == (0, 1, 1)
    again = cli.json("district", "import", str(f))
    assert (again["added"], again["updated"], again["contacts_added"]) == (0, 0, 0)
    show = cli.json("district", "show", "0401000")
    assert show["name"] == "Bentonville Public Schools" and show["contacts"][0]["email"] == "it@bentonville.example"
    kinds = [e["kind"] for e in cli.json("history", "0401000")]
    assert kinds == ["district_added", "district_edited"]
    edited = [e for e in ledger_history(ledger_app, "0401000") if e["kind"] == "district_edited"][0]
    assert edited["data"]["name"] == ["BENTONVILLE SCHOOL DISTRICT", "Bentonville Public Schools"]


def ledger_history(app, lea):
    from apscn_tracker.services.status import history

    return history(app, lea=lea)


def test_a_missing_file_is_one_clear_line(ledger_app, cli, tmp_path):
    result = cli("district", "import", str(tmp_path / "nope.csv"))
    assert result.exit_code == 1 and "no file" in result.stderr


def test_the_bundled_roster_keeps_its_sources(ledger_app):
    rows = json.loads(json.dumps(ledger_app and None)) or None  # noqa: F841 - the ledger is initialised
    from apscn_tracker.services.districts import show_district

    shown = show_district(ledger_app, lea="0101000")
    assert "OEP" in shown["source"] and "arkansas-lea-roster.md" in shown["source"]
    assert shown["nces_leaid"] == "0500001"


def test_every_problem_of_a_roster_is_listed_at_once_with_its_line_and_column(ledger_app, cli, tmp_path):
    f = write(
        tmp_path,
        "lea_code,name,county,contact_email\n"
        "7207000,SPRINGDALE SCHOOL DISTRICT,Washington,\n"
        "12345,X,,\n"
        "6001000,,Pulaski,\n"
        "6001000,LITTLE ROCK SCHOOL DISTRICT,Pulaski,not-an-email\n"
        "7207000,SPRINGDALE SCHOOL DISTRICT,Benton,\n",
    )
    result = cli("district", "import", str(f))
    assert result.exit_code == 1 and "nothing was imported (4 problems)" in result.stderr
    found = [line.split(None, 2)[:2] for line in result.stderr.splitlines()[2:]]
    assert found == [["3", "lea_code"], ["4", "name"], ["5", "contact_email"], ["6", "county"]]
    assert "appears again with county 'Benton'; line 2 gave 'Washington'" in result.stderr


def test_a_dry_run_lists_each_change_field_by_field(ledger_app, cli, tmp_path):
    f = write(tmp_path, "lea_code,name,county,nces_leaid\n0401000,BENTONVILLE SCHOOL DISTRICT,Washington,0503061\n")
    out = cli.json("district", "import", str(f), "--dry-run")
    assert out["changes"] == [
        "change 0401000 county 'Benton' -> 'Washington'",
        "change 0401000 nces_leaid '0503060' -> '0503061'",
    ]


def test_an_nces_ccd_file_gives_each_district_its_nces_id(ledger_app, cli, tmp_path):
    f = write(tmp_path, "ST_LEAID,LEA_NAME,LEAID,CONAME\nAR-7598000,A NEW DISTRICT,0599999,Yell\nTX-1,X,4800001,Y\n")
    out = cli.json("district", "import", str(f))
    assert (out["added"], out["skipped_other_states"]) == (1, 1)
    assert cli.json("district", "show", "7598000")["nces_leaid"] == "0599999"


def test_a_new_code_with_the_nces_id_of_a_known_district_is_added_with_a_warning(ledger_app, cli, tmp_path):
    f = write(tmp_path, "ST_LEAID,LEA_NAME,LEAID\nAR-7598000,BENTONVILLE RENUMBERED,0503060\n")
    out = cli.json("district", "import", str(f))
    assert out["added"] == 1 and any("NCES LEA ID 0503060 of 0401000" in w for w in out["warnings"])
