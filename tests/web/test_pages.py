"""The pages over HTTP: no script anywhere, what a district brings in is escaped, filters in the query string."""

from __future__ import annotations

import re

from tests.support.web import VIEWER, sign_in


def test_no_page_has_a_script_and_each_sends_a_policy_that_forbids_one(client):
    sign_in(client, VIEWER)
    for path in ("/", "/?status=overdue&q=a", "/districts/6001000", "/outbox", "/signin"):
        r = client.get(path)
        assert r.status_code == 200 and "<script" not in r.text.lower(), path
        assert "default-src 'none'" in r.headers["content-security-policy"], path
        assert r.headers["x-content-type-options"] == "nosniff"


def test_a_name_with_markup_is_shown_as_text(client, cli):
    assert cli("district", "add", "6099000", "<script>alert(1)</script> <b>ACADEMY</b>").exit_code == 0
    assert cli("connect", "6099000").exit_code == 0
    sign_in(client, VIEWER)
    for path in ("/?q=6099000", "/districts/6099000"):
        text = client.get(path).text
        assert "<script>alert" not in text and "&lt;script&gt;alert(1)&lt;/script&gt; &lt;b&gt;ACADEMY" in text


def test_the_board_filters_and_counts_through_the_query_string(client):
    sign_in(client, VIEWER)
    text = client.get("/?status=overdue").text
    statuses = re.findall(r'<td><span class="status s-(\w+)">', text)
    assert statuses and set(statuses) == {"overdue"}
    assert re.search(r"overdue \d+</span>", text) and re.search(r"confirmed \d+</span>", text)
    assert client.get("/?status=late").status_code == 400
    assert client.get("/?vendor=Nobody").status_code == 404
    assert client.get("/?page=abc").status_code == 200
