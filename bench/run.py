"""Benchmarks: each operation of the project against a plain-``sqlite3`` baseline doing the same work, in one run.

Every measurement runs in a fresh child process; its wall time (or the time of the operation inside it) and its
peak memory (``ru_maxrss`` from ``wait4``) are taken, the median over ``--repeat`` runs is kept, and the results
are printed and written between the markers of ``bench/RESULTS.md``.

Operations (project / baseline):

- ``import``: ``apscn district import roster.csv`` into an empty ledger (the service call) / ``csv`` +
  ``executemany`` of the same district, contact and event rows into the same schema;
- ``status-one``: ``status`` of one district (open the ledger, the query, the status decision) / the same join
  and decision with ``sqlite3``;
- ``status-year``: ``status --json`` of every connection for the current school year (rows and the JSON text) /
  the same join, the same decision in plain Python, ``json.dumps``;
- ``tick`` (when ``services/tick.py`` exists): the first tick over the whole ledger (rollover, every due reminder
  queued), then the next day's / the same candidate query, the same pure rules, ``INSERT OR IGNORE`` of the
  outbox rows with plain ``str.format`` bodies;
- ``report-json``, ``report-html``: the yearly report of the last finished school year / the same rows read with
  ``sqlite3`` (one hand-written select), the same pure statistics, ``json.dumps`` (or a plain HTML table);
- ``add_working_days``: 10,000 calls on warm caches / ``numpy.busday_offset`` per call (if numpy is importable);
- ``cli-help``: ``apscn --help`` / ``python -c "import typer"`` (whole processes);
- ``cli-status``: ``apscn status --lea X`` on the ledger / ``python -c "import sqlmodel"`` (whole processes).

Run: ``python bench/run.py`` (national scale: 13,000 districts; the ledger is generated once into ``--workdir``)
or ``python bench/run.py --scale small`` (300 districts, a few seconds).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCALES = {"national": 13_000, "small": 300}
CLI_RUNS = 21


# ---------------------------------------------------------------------------------------------------------------
# children: one operation, one side, one process


def clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def done(start: tuple[float, float], **info) -> dict:
    """Wall and CPU seconds since ``start`` (CPU: this process only, what a busy machine disturbs least)."""
    return {"seconds": time.perf_counter() - start[0], "cpu": time.process_time() - start[1], **info}


def _settings(home: Path, db: Path, today: date):
    from apscn_tracker.config import load_settings

    return load_settings(
        env={"APSCN_HOME": str(home), "APSCN_DATABASE_URL": f"sqlite:///{db}", "APSCN_TODAY": today.isoformat()}
    )


def _project_app(args):
    from apscn_tracker.services.app import App

    return App(_settings(args.db.parent, args.db, args.today), today=args.today, actor="bench")


def _baseline_db(path: Path):
    import sqlite3

    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA busy_timeout=30000")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


def _plain_status(method, year_begins, year_ends, today, req, exp, ena, conf):
    """The status decision (domain.status), written out in plain Python on ISO strings."""
    if method == "sftp":
        return "scripted"
    if today > year_ends:
        return "disconnected"
    if req is None:
        return "lapsed" if today >= year_begins else "not_requested"
    if ena is None:
        return "overdue" if exp is not None and today > exp else "requested"
    return "enabled" if conf is None else "confirmed"


STATUS_SQL = """
SELECT d.lea_code, d.name, v.name, c.method, r.requested_on, r.expected_enabled_by, r.enabled_on, r.confirmed_on
FROM connection c
JOIN district d ON d.id = c.district_id
JOIN vendor v ON v.id = c.vendor_id
LEFT JOIN renewal r ON r.connection_id = c.id AND r.school_year = ?
WHERE c.retired_on IS NULL AND (c.created_on <= ? OR r.id IS NOT NULL) {extra}
ORDER BY d.lea_code, v.name
"""


def _baseline_status(db, today: date, *, district_id: int | None = None) -> list[dict]:
    from apscn_tracker.domain.schoolyear import SchoolYear
    from apscn_tracker.domain.workdays import StateCalendar

    cal = StateCalendar()
    sy = SchoolYear.of(today)
    begins, ends, t = sy.begins.isoformat(), sy.ends.isoformat(), today.isoformat()
    params: list = [sy.start, ends]
    extra = ""
    if district_id is not None:
        extra, params = "AND c.district_id = ?", [*params, district_id]
    fromiso = date.fromisoformat
    out = []
    for lea, dname, vname, method, req, exp, ena, conf in db.execute(STATUS_SQL.format(extra=extra), params):
        out.append(
            {
                "lea": lea,
                "district": dname,
                "vendor": vname,
                "school_year": sy.label,
                "method": method,
                "status": _plain_status(method, begins, ends, t, req, exp, ena, conf),
                "requested_on": req,
                "expected_enabled_by": exp,
                "enabled_on": ena,
                "confirmed_on": conf,
                "disconnect_on": ends if method == "api" else None,
                "working_days_to_enable": cal.working_days_between(fromiso(req), fromiso(ena)) if req and ena else None,
            }
        )
    return out


def op_import(args, side: str) -> dict:
    roster = args.roster
    if side == "project":
        from apscn_tracker.services.roster import import_roster

        app = _project_app(args)
        t0 = clock()
        result = import_roster(app, path=roster)
        took = done(t0, rows=result["added"] + result["contacts_added"])
        app.close()
        return took
    import csv

    t0 = clock()
    db = _baseline_db(args.db)
    districts: dict[str, list] = {}
    with roster.open(newline="", encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            entry = districts.setdefault(row["lea_code"], [row["name"], row["county"] or None, []])
            if row.get("contact_email"):
                entry[2].append(
                    (row["contact_name"] or None, row["contact_email"].lower(), row["contact_role"] or None)
                )
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO district (lea_code, name, county, source, created_at, updated_at) VALUES (?, ?, ?, NULL, ?, ?)",
        [(lea, name, county, now, now) for lea, (name, county, _) in districts.items()],
    )
    ids = dict(db.execute("SELECT lea_code, id FROM district"))
    db.executemany(
        "INSERT INTO contact (district_id, name, email, role) VALUES (?, ?, ?, ?)",
        [(ids[lea], n, e, r) for lea, (_, _, contacts) in districts.items() for n, e, r in contacts],
    )
    events = [(now, "district_added", ids[lea], "bench", "from roster.csv") for lea in districts]
    events.append((now, "roster_imported", None, "bench", "roster.csv"))
    db.executemany("INSERT INTO event (at, kind, district_id, actor, note) VALUES (?, ?, ?, ?, ?)", events)
    db.execute("COMMIT")
    db.close()
    return done(t0, rows=len(districts) + sum(len(c) for _, _, c in districts.values()))


def op_status_one(args, side: str) -> dict:
    if side == "project":
        from apscn_tracker.services.status import status_rows

        t0 = clock()
        app = _project_app(args)
        rows = status_rows(app, lea=args.lea)
        return done(t0, rows=len(rows))
    t0 = clock()
    db = _baseline_db(args.db)
    (district_id,) = db.execute("SELECT id FROM district WHERE lea_code = ?", (args.lea,)).fetchone()
    rows = _baseline_status(db, args.today, district_id=district_id)
    return done(t0, rows=len(rows))


def op_status_year(args, side: str) -> dict:
    if side == "project":
        from apscn_tracker.services.status import status_rows

        t0 = clock()
        app = _project_app(args)
        rows = status_rows(app)
        text = json.dumps(rows, indent=2, ensure_ascii=False, default=str)
        return done(t0, rows=len(rows), bytes=len(text))
    t0 = clock()
    db = _baseline_db(args.db)
    rows = _baseline_status(db, args.today)
    text = json.dumps(rows, indent=2, ensure_ascii=False, default=str)
    return done(t0, rows=len(rows), bytes=len(text))


REPORT_SQL = """
SELECT d.lea_code, d.name, d.county, v.name, c.method,
       r.requested_on, r.expected_enabled_by, r.enabled_on, r.confirmed_on,
       coalesce(rem.n, 0), ct.district_id IS NOT NULL
FROM connection c
JOIN district d ON d.id = c.district_id
JOIN vendor v ON v.id = c.vendor_id
LEFT JOIN renewal r ON r.connection_id = c.id AND r.school_year = :y
LEFT JOIN (SELECT district_id, vendor_id, count(*) AS n FROM outbox
           WHERE status = 'sent' AND school_year = :y
             AND kind IN ('renewal_reminder', 'lapsed_notice', 'activation_overdue', 'send_details_reminder')
           GROUP BY district_id, vendor_id) rem
       ON rem.district_id = c.district_id AND rem.vendor_id = c.vendor_id
LEFT JOIN (SELECT district_id FROM contact GROUP BY district_id) ct ON ct.district_id = c.district_id
WHERE r.requested_on IS NOT NULL OR (c.created_on <= :ends AND (c.retired_on IS NULL OR c.retired_on >= :begins))
ORDER BY d.lea_code, v.name
"""


def _baseline_report(args):
    from apscn_tracker.domain.schoolyear import SchoolYear
    from apscn_tracker.domain.workdays import StateCalendar
    from apscn_tracker.report.stats import ReportRow, compute_report

    db = _baseline_db(args.db)
    year = SchoolYear.of(args.today).previous
    d = lambda s: date.fromisoformat(s) if s else None  # noqa: E731

    def rows(sy):
        p = {"y": sy.start, "ends": sy.ends.isoformat(), "begins": sy.begins.isoformat()}
        return [
            ReportRow(lea, name, county, vendor, method, d(req), d(exp), d(ena), d(conf), sent, bool(has))
            for lea, name, county, vendor, method, req, exp, ena, conf, sent, has in db.execute(REPORT_SQL, p)
        ]

    current, previous = rows(year), rows(year.previous)
    return compute_report(current, year=year, today=args.today, calendar=StateCalendar(), previous_rows=previous)


def _report(args, side: str, fmt: str) -> dict:
    if side == "project":
        from apscn_tracker.domain.schoolyear import SchoolYear
        from apscn_tracker.services.report import write_report

        t0 = clock()
        app = _project_app(args)
        text = write_report(app, year=SchoolYear.of(args.today).previous.label, fmt=fmt)
        return done(t0, bytes=len(text))
    t0 = clock()
    report = _baseline_report(args)
    if fmt == "json":
        text = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    else:
        from html import escape

        cells = "".join(
            "<tr>" + "".join(f"<td>{escape(str(v)) if v is not None else ''}</td>" for v in r.values()) + "</tr>\n"
            for r in report["rows"]
        )
        text = f"<!doctype html><html><body><h1>{report['school_year']}</h1><table>\n{cells}</table></body></html>"
    return done(t0, rows=len(report["rows"]), bytes=len(text))


def op_report_json(args, side: str) -> dict:
    return _report(args, side, "json")


def op_report_html(args, side: str) -> dict:
    return _report(args, side, "html")


def op_add_working_days(args, side: str) -> dict:
    sys.path.insert(0, str(HERE))
    from bench_calendar import CALLS, cases

    from apscn_tracker.domain.workdays import StateCalendar

    work = cases()
    cal = StateCalendar()
    for d, n in work:  # warm the per-year caches on both sides
        cal.add_working_days(d, n)
    if side == "project":
        add = cal.add_working_days
        t0 = clock()
        for d, n in work:
            add(d, n)
        return done(t0, rows=CALLS)
    try:
        import numpy as np
    except ImportError:
        return {"skipped": "numpy is not installed"}
    holidays = [h.day for y in range(1998, 2103) for h in cal.holidays(y)]
    busdays = np.busdaycalendar(weekmask="1111100", holidays=np.array(holidays, dtype="datetime64[D]"))
    offset = np.busday_offset
    calls = [(np.datetime64(d, "D"), n, "backward" if n > 0 else "forward") for d, n in work]
    t0 = clock()
    for d, n, roll in calls:
        offset(d, n, roll=roll, busdaycal=busdays)
    return done(t0, rows=CALLS)


def op_tick(args, side: str) -> dict:
    try:
        import apscn_tracker.services.tick  # noqa: F401
    except ModuleNotFoundError:
        return {"skipped": "services/tick.py is not there yet"}
    from bench_tick import baseline_tick, project_tick  # the tick's own module, kept apart

    return project_tick(args) if side == "project" else baseline_tick(args)


OPS = {
    "import": op_import,
    "status-one": op_status_one,
    "status-year": op_status_year,
    "tick": op_tick,
    "report-json": op_report_json,
    "report-html": op_report_html,
    "add_working_days": op_add_working_days,
}
MUTATES = {"import", "tick"}


def child(argv: list[str]) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--op", required=True)
    p.add_argument("--side", required=True)
    p.add_argument("--db", type=Path, required=True)
    p.add_argument("--roster", type=Path)
    p.add_argument("--lea")
    p.add_argument("--today", type=date.fromisoformat, required=True)
    p.add_argument("--extra-path", default=None)
    args = p.parse_args(argv)
    if args.extra_path:
        sys.path.append(args.extra_path)
    sys.path.insert(0, str(HERE))
    result = OPS[args.op](args, args.side)
    result["peak_mb"] = peak_mb()
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM: reset at exec, unlike ru_maxrss)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------------------------------------------------------
# the parent: generate, run, compare, write


@dataclass
class Sample:
    wall: float
    cpu: float
    rss_mb: float
    info: dict

    def value(self, metric: str) -> float:
        return self.cpu if metric == "cpu" else self.wall


REPO = HERE.parent  # the source tree this script belongs to: what is measured unless --project-src says otherwise
PROJECT_SRC: Path | None = None  # the tree measured: put first on the children's path, so that an installed copy
# of apscn_tracker (a wheel from another day) is never what gets measured


def child_env(workdir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The children's environment: no APSCN_* from this shell, and bytecode cached (in the work folder) as an
    installed wheel has it; without it every import of the project compiles its source again."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("APSCN_") and k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(workdir / "pycache")
    if PROJECT_SRC is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_SRC), env.get("PYTHONPATH")]))
    return env | (extra or {})


def run_child(cmd: list[str], env: dict[str, str], *, quiet: bool = False) -> Sample:
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL if quiet else subprocess.PIPE,
        env=env,
        cwd=tempfile.gettempdir(),
    )
    out = proc.stdout.read() if proc.stdout else b""  # type: ignore[union-attr]
    err = proc.stderr.read() if proc.stderr else b""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err.decode(errors='replace')[-3000:]}")
    info: dict = {}
    if not quiet:
        last = out.decode().strip().splitlines()[-1]
        info = json.loads(last)
    # Whole processes: wall time, and CPU time (user + system) from wait4. In-process operations report their own.
    # ru_maxrss of a child starts from the parent's size at fork: the parent stays small (no project imports),
    # and the in-process children report their own VmHWM.
    return Sample(
        wall=info.get("seconds", wall),
        cpu=info.get("cpu", usage.ru_utime + usage.ru_stime),
        rss_mb=info.get("peak_mb", usage.ru_maxrss / 1024),
        info=info,
    )


def migrations_head() -> str:
    """The newest migration's revision, read from the file names (the parent imports nothing of the project)."""
    if PROJECT_SRC is not None:
        package = PROJECT_SRC / "apscn_tracker"
    else:
        import apscn_tracker

        package = Path(apscn_tracker.__file__).parent
    versions = package / "ledger" / "migrations" / "versions"
    return sorted(p.name for p in versions.glob("[0-9]*.py"))[-1].split("_", 1)[0]


def ensure_ledger(workdir: Path, districts: int, seed: int, regenerate: bool) -> dict:
    head = migrations_head()
    db = workdir / "ledger" / "apscn.db"
    meta_path = Path(f"{db}.meta.json")
    if not regenerate and meta_path.is_file():
        meta = json.loads(meta_path.read_text())
        if meta["scale"]["districts"] == districts and meta["seed"] == seed and meta.get("head") == head:
            return meta
    print(f"generating a ledger of {districts:,} districts in {db.parent} ...", file=sys.stderr)
    subprocess.run(
        [
            sys.executable,
            str(HERE / "generate.py"),
            "--districts",
            str(districts),
            "--seed",
            str(seed),
            "--out",
            str(db),
        ],
        check=True,
        stderr=subprocess.DEVNULL,
        env=child_env(workdir),
    )
    meta = json.loads(meta_path.read_text())
    meta["head"] = head
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    empty = workdir / "empty" / "apscn.db"
    subprocess.run(
        [sys.executable, str(HERE / "generate.py"), "--empty", "--out", str(empty)], check=True, env=child_env(workdir)
    )
    return meta


def fresh_copy(src: Path, dst_dir: Path) -> Path:
    if dst_dir.exists():
        shutil.rmtree(dst_dir)
    dst_dir.mkdir(parents=True)
    dst = dst_dir / "apscn.db"
    shutil.copyfile(src, dst)
    return dst


def machine() -> dict[str, str]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    import sqlite3

    return {
        "uname": " ".join(part for part in platform.uname() if part),
        "cpu": f"{cpu}, {os.cpu_count()} cores" + (f", {mem} RAM" if mem else ""),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return child(argv[1:])
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", choices=sorted(SCALES), default="national")
    p.add_argument("--districts", type=int, help="override the scale's number of districts")
    p.add_argument("--seed", type=int, default=20260630)
    p.add_argument("--repeat", type=int, default=3, help="runs per operation and side (the median is kept)")
    p.add_argument("--tick-repeat", type=int, default=1, help="runs of the tick per side (each one is long)")
    p.add_argument("--ops", default=",".join([*OPS, "cli-help", "cli-status"]), help="comma-separated")
    p.add_argument("--workdir", type=Path, help="where the generated ledger is kept between runs")
    p.add_argument("--regenerate", action="store_true")
    p.add_argument("--extra-path", help="a folder added to sys.path of the numpy baseline (numpy installed there)")
    p.add_argument("--results", type=Path, default=HERE / "RESULTS.md", help="file to update ('-' for none)")
    p.add_argument(
        "--project-src", type=Path, help="measure the project from this source tree (say, an export of an older commit)"
    )
    a = p.parse_args(argv)
    global PROJECT_SRC
    PROJECT_SRC = a.project_src.resolve() if a.project_src else REPO
    districts = a.districts or SCALES[a.scale]
    workdir = a.workdir or Path(tempfile.gettempdir()) / f"apscn-bench-{districts}"
    meta = ensure_ledger(workdir, districts, a.seed, a.regenerate)
    today = meta["today"]
    pristine = workdir / "ledger" / "apscn.db"
    roster = workdir / "ledger" / "roster.csv"
    ops = [o.strip() for o in a.ops.split(",") if o.strip()]
    results: list[dict] = []
    for op in ops:
        if op in ("cli-help", "cli-status"):
            got = [run_cli(op, pristine, workdir, meta, runs=max(CLI_RUNS, a.repeat))]
        else:
            got = run_op(op, a, pristine, roster, workdir, meta)
        for r in got:
            print(format_row(r), file=sys.stderr)
        results.extend(got)
    table = format_table(results)
    print(table)
    if str(a.results) != "-":
        write_results(a.results, table, meta, argv, today)
    return 0


def run_op(op: str, a, pristine: Path, roster: Path, workdir: Path, meta: dict) -> list[dict]:
    samples: dict[str, list[Sample]] = {"project": [], "baseline": []}
    skipped = None
    for _ in range(a.tick_repeat if op == "tick" else a.repeat):
        for side in ("project", "baseline"):
            if op == "import":
                db = fresh_copy(workdir / "empty" / "apscn.db", workdir / f"run-{side}")
            elif op in MUTATES:
                db = fresh_copy(pristine, workdir / f"run-{side}")
            else:
                db = pristine
            cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--op", op, "--side", side]
            cmd += ["--db", str(db), "--roster", str(roster), "--lea", meta["sample_lea"], "--today", meta["today"]]
            if a.extra_path:
                cmd += ["--extra-path", a.extra_path]
            s = run_child(cmd, child_env(workdir))
            if "skipped" in s.info:
                skipped = s.info["skipped"]
                if side == "project":
                    break
                continue
            samples[side].append(s)
        if skipped and not samples["project"]:
            break
    out = [summarise(op, samples, skipped)]
    if op == "tick" and samples["project"] and samples["baseline"]:
        next_day = {
            side: [
                Sample(d["seconds"], d.get("cpu", d["seconds"]), s.rss_mb, d)
                for s in got
                for d in [s.info["days"]["next_day"]]
            ]
            for side, got in samples.items()
        }
        out.append(summarise("tick-next-day", next_day, None))
    return out


def run_cli(op: str, pristine: Path, workdir: Path, meta: dict, runs: int) -> dict:
    exe = Path(sys.executable).parent / "apscn"
    apscn = [str(exe)] if exe.exists() else [sys.executable, "-m", "apscn_tracker"]
    env = child_env(workdir, {"APSCN_HOME": str(pristine.parent), "APSCN_TODAY": meta["today"]})
    if op == "cli-help":
        project, baseline = [*apscn, "--help"], [sys.executable, "-c", "import typer"]
    else:
        project, baseline = [*apscn, "status", "--lea", meta["sample_lea"]], [sys.executable, "-c", "import sqlmodel"]
    run_child(project, env, quiet=True)  # warm the file and bytecode caches
    run_child(baseline, env, quiet=True)
    samples: dict[str, list[Sample]] = {"project": [], "baseline": []}
    for _ in range(runs):  # interleaved, so that a busy moment hits both sides
        samples["project"].append(run_child(project, env, quiet=True))
        samples["baseline"].append(run_child(baseline, env, quiet=True))
    return summarise(op, samples, None)


LABELS = {
    "import": "bulk roster import (districts + contacts)",
    "status-one": "status, one district",
    "status-year": "status --json, all of a year",
    "tick": "tick, first run (catch-up)",
    "tick-next-day": "tick, the next day",
    "report-json": "yearly report, JSON",
    "report-html": "yearly report, HTML",
    "add_working_days": "add_working_days x 10,000",
    "cli-help": "`apscn --help` (process)",
    "cli-status": "`apscn status --lea X` (process)",
}
BASELINES = {
    "import": "sqlite3 executemany",
    "status-one": "sqlite3 same join",
    "status-year": "sqlite3 same join + json",
    "tick": "sqlite3 same candidates + inserts + delivery",
    "tick-next-day": "the same",
    "report-json": "sqlite3 same rows + stats + json",
    "report-html": "sqlite3 same rows + stats + plain HTML",
    "add_working_days": "numpy.busday_offset per call",
    "cli-help": '`python -c "import typer"`',
    "cli-status": '`python -c "import sqlmodel"`',
}
TARGETS = {"import": 3.0, "tick": 3.0, "report-json": 3.0, "add_working_days": 1.0, "cli-help": 1.3, "cli-status": 1.3}


# Operations that write wait on the disk (WAL, checkpoints, the tick's fsync of each email): CPU time would leave
# that out, on both sides, so they are timed by the wall clock.
WALL_CLOCK = {"import", "tick", "tick-next-day"}


def summarise(op: str, samples: dict[str, list[Sample]], skipped: str | None) -> dict:
    metric = "wall" if op in WALL_CLOCK else "cpu"
    out = {"op": op, "label": LABELS.get(op, op), "baseline_label": BASELINES.get(op, ""), "metric": metric}
    p, b = samples["project"], samples["baseline"]
    if p:
        out["project_s"] = statistics.median(s.value(metric) for s in p)
        out["project_wall"] = statistics.median(s.wall for s in p)
        out["project_mb"] = max(s.rss_mb for s in p)
        out["info"] = p[-1].info
    if b:
        out["baseline_s"] = statistics.median(s.value(metric) for s in b)
        out["baseline_wall"] = statistics.median(s.wall for s in b)
        out["baseline_mb"] = max(s.rss_mb for s in b)
    if p and b:
        other = "wall" if metric == "cpu" else "cpu"
        out["ratio"] = out["project_s"] / out["baseline_s"]
        out["other_ratio"] = statistics.median(s.value(other) for s in p) / statistics.median(s.value(other) for s in b)
    if skipped:
        out["skipped"] = skipped
    if op in TARGETS:
        out["target"] = TARGETS[op]
    return out


def _t(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 0.001:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def format_row(r: dict) -> str:
    ratio = f"{r['ratio']:.2f}x" if "ratio" in r else r.get("skipped", "-")
    return f"{r['label']:<42} {_t(r.get('project_s')):>10} {_t(r.get('baseline_s')):>10} {ratio:>8}"


def format_table(results: list[dict]) -> str:
    lines = [
        "| operation | project | baseline | ratio | target | ratio by the other clock | peak MB project / baseline |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        if "ratio" in r:
            ratio = f"{r['ratio']:.2f}x"
            target = r.get("target")
            verdict = ""
            if target is not None:
                verdict = f"<= {target:g}x " + ("ok" if r["ratio"] <= target else "**missed**")
                if r["op"] == "add_working_days":
                    verdict = "< 1x " + ("ok" if r["ratio"] < 1 else "**missed**")
        else:
            ratio, verdict = "-", r.get("skipped", "")
        mem = f"{r.get('project_mb', 0):.0f} / {r.get('baseline_mb', 0):.0f}" if "project_mb" in r else "-"
        baseline = f"{_t(r.get('baseline_s'))} ({r['baseline_label']})"
        other = "wall" if r.get("metric") == "cpu" else "CPU"
        wall = f"{r['other_ratio']:.2f}x ({other})" if "other_ratio" in r else "-"
        project = _t(r.get("project_s")) + (" (wall)" if r.get("metric") == "wall" and "project_s" in r else "")
        lines.append(f"| {r['label']} | {project} | {baseline} | {ratio} | {verdict} | {wall} | {mem} |")
    return "\n".join(lines)


BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


PATH_OPTIONS = {"--workdir": "DIR", "--extra-path": "DIR", "--results": "FILE", "--project-src": "DIR"}


def shown_command(argv: list[str]) -> str:
    """The command line as run, folders and files replaced by placeholders (they say nothing of the results)."""
    out: list[str] = []
    for arg in argv:
        name, eq, _ = arg.partition("=")
        if out and out[-1] in PATH_OPTIONS:
            out.append(PATH_OPTIONS[out[-1]])
        elif eq and name in PATH_OPTIONS:
            out.append(f"{name}={PATH_OPTIONS[name]}")
        else:
            out.append(arg)
    return " ".join(["python bench/run.py", *out])


def write_results(path: Path, table: str, meta: dict, argv: list[str], today: str) -> None:
    m = machine()
    rows = meta["rows"]
    block = "\n".join(
        [
            BEGIN,
            f"Measured {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} with `{shown_command(argv)}`"
            + (f" (the project from {PROJECT_SRC.name}/)" if PROJECT_SRC not in (None, REPO) else "")
            + f"; load average {os.getloadavg()[0]:.1f} at the end.",
            "",
            f"- Machine: `{m['uname']}`; {m['cpu']}; Python {m['python']}, SQLite {m['sqlite']}.",
            f"- Ledger: {meta['scale']['districts']:,} districts x {meta['scale']['vendors']} vendors x "
            f"{meta['scale']['years']} school years = {meta['connection_years']:,} connection-years; "
            f"{rows['renewal']:,} renewal rows, {rows['event']:,} events, {rows['outbox']:,} outbox rows, "
            f"{rows['contact']:,} contacts ({meta['bytes'] / 1e6:.0f} MB); as of {today}; "
            f"generated in {meta['seconds']:.0f} s.",
            "- Times: median of the runs, each in a fresh process, project and baseline interleaved. Reads by CPU "
            "time (user + system of the process), which other load on the machine disturbs least; the import and "
            "the tick, which write and wait on the disk, by wall clock. In-process operations are timed inside "
            "the process (imports done); the two `apscn` rows are whole processes. The ratio by the other clock is "
            "given beside. Memory: peak RSS of the process.",
            "",
            table,
            END,
        ]
    )
    text = path.read_text(encoding="utf-8") if path.is_file() else "# Benchmarks\n\n" + BEGIN + "\n" + END + "\n"
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    path.write_text(head + block + tail, encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
