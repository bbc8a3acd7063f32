"""The bundled roster is every current Arkansas LEA (data/arkansas-lea-roster.md says where each row came from),
and `init` seeds every one of them with its NCES LEA ID."""

from __future__ import annotations

import csv
from collections import Counter

from apscn_tracker.resources import data_dir
from apscn_tracker.services.districts import list_districts, show_district

ROSTER = data_dir() / "arkansas-lea-roster.csv"


def rows() -> list[dict[str, str]]:
    with ROSTER.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_the_bundled_roster_has_257_leas_234_districts_and_23_charters_without_duplicates():
    found = rows()
    codes = [r["lea_code"] for r in found]
    assert len(found) == 257 and len(set(codes)) == 257
    assert Counter(c[4:] for c in codes) == {"000": 234, "700": 23}
    assert Counter(r["kind"] for r in found) == {"regular": 234, "charter": 23}
    assert all(r["as_of"] == "2025-26" for r in found)


def test_every_lea_has_its_own_arkansas_nces_id_and_its_sources():
    found = rows()
    nces = [r["nces_leaid"] for r in found]
    assert len(set(nces)) == 257 and all(n.isdigit() and len(n) == 7 and n.startswith("05") for n in nces)
    assert all(r["source"] and int(r["confirmations"]) >= 2 for r in found)
    # pairs the roster's notes single out (renamed, new, or found through one source only)
    pairs = {r["lea_code"]: r["nces_leaid"] for r in found}
    assert pairs["3840700"] == "0500061"  # Imboden, a charter code
    assert pairs["6058700"] == "0500420"  # The Excel Center: the weakest row, two sources
    assert pairs["6641700"] == "0514500"  # Institute for the Creative Arts, new in 2024-25
    assert pairs["0442700"] == "0500409"
    assert pairs["0401000"] == "0503060"  # Bentonville, as the earlier roster had it


def test_init_seeds_every_lea_with_its_nces_id(ledger_app):
    listed = list_districts(ledger_app)
    assert [d["lea"] for d in listed] == sorted(r["lea_code"] for r in rows())
    shown = show_district(ledger_app, lea="6058700")
    assert shown["nces_leaid"] == "0500420" and "CCDM" in shown["source"]
