"""Bulk steps (several LEAs, or --from FILE) are all or nothing, and every LEA argument takes a unique part of a
district's name; refusals list every problem and leave the ledger as it was."""

from __future__ import annotations

import pytest

from apscn_tracker.config import load_settings
from tests.support.snapshot import snapshot

T = "2026-09-14"


@pytest.fixture
def ready(cli):
    assert cli("init", today=T).exit_code == 0
    assert cli("connect", "--all", today=T).exit_code == 0
    return cli


def refused(cli, *args):
    before = snapshot(load_settings().url)
    result = cli(*args, today=T)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stderr.startswith("error: ") and "Traceback" not in result.output
    assert snapshot(load_settings().url) == before
    return result.stderr


def test_several_leas_are_requested_in_one_go(ready):
    out = ready.json("request", "6001000", "0401000", "springdale", today=T)
    assert [r["lea"] for r in out] == ["6001000", "0401000", "7207000"]
    statuses = {r["lea"]: r["status"] for r in ready.json("status", today=T)}
    assert statuses["7207000"] == statuses["0401000"] == "requested"


def test_one_refused_lea_of_several_records_none_and_every_refusal_is_listed(ready):
    assert ready("request", "6001000", today=T).exit_code == 0
    err = refused(ready, "request", "0401000", "6001000", "9999999", "rock", "0401000")
    assert "nothing was recorded: 4 of 5 refused" in err
    lines = err.splitlines()
    assert any(line.startswith("2 ") and "already requested" in line for line in lines)
    assert any(line.startswith("3 ") and "no district" in line for line in lines)
    assert any(line.startswith("4 ") and "matches" in line and "6001000 LITTLE ROCK" in line for line in lines)
    assert any(line.startswith("5 ") and "listed twice" in line for line in lines)


def test_a_bulk_enable_refuses_districts_without_a_request_and_changes_nothing(ready):
    assert ready("request", "6001000", "0401000", today=T).exit_code == 0
    err = refused(ready, "enable", "6001000", "0401000", "7207000")
    assert "7207000 has no Xello request" in err


def test_steps_from_a_file_take_each_rows_date(ready, tmp_path):
    f = tmp_path / "asked.csv"
    f.write_text("lea_code,on\n6001000,2026-09-01\nbentonville,\n", encoding="utf-8")
    out = ready.json("request", "--from", str(f), today=T)
    assert [(r["lea"], r["requested_on"]) for r in out] == [("6001000", "2026-09-01"), ("0401000", T)]


def test_a_file_with_a_bad_date_and_an_unknown_lea_names_both_lines_and_records_nothing(ready, tmp_path):
    f = tmp_path / "asked.csv"
    f.write_text("lea_code,on\n6001000,2026-13-01\n0401000,2026-09-01\n", encoding="utf-8")
    assert "2     on" in refused(ready, "request", "--from", str(f))
    f.write_text("lea_code,on\n6001000,2026-09-01\nnowhere at all,2026-09-01\n", encoding="utf-8")
    err = refused(ready, "request", "--from", str(f))
    assert "\n3 " in err and "nowhere at all" in err


def test_a_name_that_matches_one_district_works_wherever_an_lea_is_taken(ready):
    assert ready.json("district", "show", "bentonville")["lea"] == "0401000"
    assert ready.json("request", "Harmony Grove School District (Saline)", today=T)["lea"] == "6304000"
    assert ready.json("history", "springdale")[-1]["kind"] == "connected"


def test_a_name_that_matches_several_districts_is_refused_with_the_list(ready):
    err = refused(ready, "request", "harmony grove")
    assert "matches 2 districts" in err and "6304000" in err and err.count("\n") == 1
    assert "matches" in refused(ready, "district", "show", "lakeside")


def test_district_find_searches_codes_nces_ids_and_names(ready):
    assert [r["lea"] for r in ready.json("district", "find", "0500001")] == ["0101000"]
    assert [r["lea"] for r in ready.json("district", "find", "0401000")] == ["0401000"]
    assert len(ready.json("district", "find", "little rock")) == 3
    assert [r["lea"] for r in ready.json("district", "find", "010")] == ["0101000", "0104000"]  # a code's start
    assert "no district's code, NCES LEA ID or name matches 'zzz'" in ready("district", "find", "zzz").stdout
