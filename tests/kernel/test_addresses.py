"""Which addresses can receive mail: the table every entry point and the message builder share."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apscn_tracker.addresses import address_problem

DELIVERABLE = [
    "pat@lrsd.k12.ar.us",
    "Pat.Lee@LRSD.K12.AR.US",
    "o'brien@district.example",
    "first.last+renewals@coop.example",
    "a!#$%&'*+/=?^_`{|}~-z@x.example",
    "x@xn--exmple-cua.example",  # a Unicode domain, given in its ASCII (punycode) form
    "x@mail.xn--p1ai",  # a Unicode top-level domain, ASCII form
    "x@a-b.c-d.example",
    f"{'l' * 64}@{'d' * 63}.example",
]
# (address, words of the reason)
UNDELIVERABLE = [
    ("a:b@x.example", "cannot hold ':'"),
    ("a(x)@x.example", "cannot hold '('"),
    ('"a b"@x.example', "space"),
    ('"ab"@x.example', "cannot hold '\"'"),
    ("a<b@x.example", "cannot hold '<'"),
    ("a,b@x.example", "cannot hold ','"),
    ("a;b@x.example", "cannot hold ';'"),
    ("a\\b@x.example", "cannot hold '\\\\'"),
    ("a[b]@x.example", "cannot hold '['"),
    ("josé@x.example", "outside ASCII ('é')"),
    ("jose@exämple.example", "outside ASCII ('ä'); give the domain in its ASCII form (xn--"),
    ("jose@example.рф", "outside ASCII"),
    ("ｐａｔ@x.example", "outside ASCII"),  # full-width letters
    ("a..b@x.example", "two dots"),
    (".a@x.example", "start or end with a dot"),
    ("a.@x.example", "start or end with a dot"),
    ("a@x..example", "two dots"),
    ("a@.x.example", "start or end with a dot"),
    ("a@x.example.", "start or end with a dot"),
    ("a@-x.example", "hyphen"),
    ("a@x-.example", "hyphen"),
    ("a@x_y.example", "cannot hold '_'"),
    ("a@[192.0.2.1]", "cannot hold '['"),
    ("a@192.0.2.1", "no top-level domain"),
    ("a@x.e", "no top-level domain"),
    ("a@x.c0m", "no top-level domain"),
    ("a@localhost", "no dot"),
    ("a@b@x.example", "more than one @"),
    ("ax.example", "no @"),
    ("@x.example", "nothing comes before"),
    ("a@", "nothing comes after"),
    ("", "empty"),
    ("a b@x.example", "space"),
    ("a@x.example\r\nBcc: y@z.example", "line break"),
    (f"{'l' * 65}@x.example", "longer than 64"),
    (f"a@{'d' * 64}.example", "longer than"),
    (f"a@{'d.' * 126}example", "longer than 254"),
]


@pytest.mark.parametrize("address", DELIVERABLE)
def test_an_address_any_server_takes_is_accepted(address):
    assert address_problem(address) is None


@pytest.mark.parametrize(("address", "reason"), UNDELIVERABLE)
def test_an_address_that_cannot_receive_mail_is_refused_with_its_reason(address, reason):
    problem = address_problem(address)
    assert problem is not None and reason in problem, problem


def test_a_domain_without_a_dot_is_accepted_only_where_the_caller_allows_it():
    assert address_problem("tracker@localhost", local_domain=True) is None
    assert address_problem("tracker@local-host", local_domain=True) is None
    assert address_problem("tracker@-localhost", local_domain=True) is not None


@settings(max_examples=600, deadline=None)
@given(
    st.text(alphabet="aZ09.-_+'@!é ", min_size=0, max_size=30)
    | st.from_regex(r"[a-z.]{1,8}@[a-z0-9.-]{1,12}\.[a-z-]{1,6}", fullmatch=True)
)
def test_the_quick_match_accepts_only_what_the_full_checks_accept(address):
    from apscn_tracker.addresses import _problem

    assert (address_problem(address) is None) == (_problem(address, local_domain=False) is None)
