"""Progress bars: on a terminal only, after a second, fed by the services' progress callbacks."""

from __future__ import annotations

import io
import time
from pathlib import Path

from apscn_tracker.cli.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_is_drawn_on_a_terminal_once_the_delay_has_passed_and_cleared_at_the_end():
    out = Terminal()
    with Progress("importing roster.csv", delay=0.0, stream=out) as bar:
        bar.update(2_500, 10_000)
        time.sleep(0.05)
        bar.update(5_000, 10_000)
    text = out.getvalue()
    assert "importing roster.csv [" in text and " 50% 5,000/10,000" in text
    assert text.endswith("\r\x1b[2K")


def test_nothing_is_drawn_when_the_work_ends_before_the_delay():
    out = Terminal()
    with Progress("importing", delay=5.0, stream=out) as bar:
        bar.update(1, 2)
    assert out.getvalue() == ""


def test_nothing_is_drawn_when_stderr_is_not_a_terminal():
    out = io.StringIO()
    with Progress("importing", delay=0.0, stream=out) as bar:
        time.sleep(0.05)
        bar.update(1, 2)
    assert out.getvalue() == ""


def test_the_roster_import_reports_its_progress_up_to_the_total(ledger_app, tmp_path: Path):
    from apscn_tracker.services.roster import import_roster

    rows = "\n".join(
        f"{c:02d}{d:02d}700,District {c}-{d},County,,d{c}{d}@x.k12.ar.us," for c in (1, 2) for d in range(50)
    )
    roster = tmp_path / "roster.csv"
    roster.write_text("lea_code,name,county,contact_name,contact_email,contact_role\n" + rows + "\n")
    seen: list[tuple[int, int]] = []
    result = import_roster(ledger_app, path=roster, progress=lambda done, total: seen.append((done, total)))
    assert result["added"] == 100
    assert seen and seen[-1][0] == seen[-1][1] == 2 * 100 + 100 + 1
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_the_report_reports_each_of_its_steps_up_to_the_total(ledger_app, tmp_path: Path):
    from apscn_tracker.services.report import REPORT_STEPS, stream_report, write_report

    to_file: list[tuple[int, int]] = []
    write_report(ledger_app, fmt="json", output=tmp_path / "r.json", progress=lambda d, t: to_file.append((d, t)))
    assert to_file == [(step, REPORT_STEPS) for step in range(REPORT_STEPS + 1)]
    assert (tmp_path / "r.json").stat().st_size > 0

    streamed: list[tuple[int, int]] = []
    out = io.BytesIO()
    stream_report(ledger_app, fmt="csv", out=out, progress=lambda d, t: streamed.append((d, t)))
    assert streamed == to_file and out.getvalue()
