"""A district's contacts are de-duplicated with a set: the parse of a roster grows linearly with its contacts."""

from __future__ import annotations

import time

from apscn_tracker.domain.roster import parse_roster

SMALL, LARGE = 2_500, 20_000  # eight times the contacts: eight times the time when linear, 64 when quadratic


def one_district(contacts: int) -> bytes:
    rows = [f"6001000,LITTLE ROCK,PULASKI,P {i},p{i}@lrsd.k12.ar.us" for i in range(contacts)]
    rows.append("6001000,LITTLE ROCK,PULASKI,P 0,P0@LRSD.k12.ar.us")  # the first contact again, in capitals
    return ("lea_code,name,county,contact_name,contact_email\n" + "\n".join(rows) + "\n").encode()


def best_time(data: bytes, runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        parse_roster(data)
        best = min(best, time.perf_counter() - t0)
    return best


def test_a_contact_listed_twice_is_kept_once_with_a_warning():
    roster = parse_roster(one_district(3))
    assert [c.email for c in roster.districts[0].contacts] == [
        "p0@lrsd.k12.ar.us",
        "p1@lrsd.k12.ar.us",
        "p2@lrsd.k12.ar.us",
    ]
    assert roster.warnings == ["line 5: contact p0@lrsd.k12.ar.us is listed twice for 6001000"]


def test_twenty_thousand_contacts_of_one_district_parse_in_linear_time():
    small, large = one_district(SMALL), one_district(LARGE)
    assert len(parse_roster(large).districts[0].contacts) == LARGE
    ratio = best_time(large, 1) / best_time(small, 3)
    if ratio >= 20:  # a busy machine: measure the large one again before judging
        ratio = min(ratio, best_time(large, 1) / best_time(small, 3))
    assert ratio < 20, f"{LARGE} contacts took {ratio:.0f} times as long as {SMALL}: not linear"
