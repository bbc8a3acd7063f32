def test_init_then_status_lists_every_bundled_district(cli):
    assert cli("init", today="2026-11-02").exit_code == 0
    assert cli("connect", "--all", today="2026-11-02").exit_code == 0
    rows = cli.json("status", today="2026-11-02")
    assert len(rows) == 257
    assert {r["status"] for r in rows} == {"lapsed"}


def test_an_unknown_district_is_one_line_on_stderr(cli):
    cli("init")
    result = cli("request", "9999999")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "error:" in result.stderr
