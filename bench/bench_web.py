"""The web's status board at national scale, against the time a Python process takes to import sqlmodel.

A synthetic ledger (``generate.py``: 7,000 districts by default, each connected to 5 vendors, 3 school years) is
served by a real ``apscn serve`` process; a signed-in client asks for the board (the current year, page 1: every
connection of the year read, its status decided, counted, one page rendered), the board of one vendor (7,000
connections), a status filter and a search, each ``--repeat`` times after one warm-up. The baseline is the
wall time of ``python -c "import sqlmodel"`` in a fresh process, the same number of times. Medians.

Run: ``python bench/bench_web.py [--districts 7000 --vendors 5 --repeat 9 --workdir DIR]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import TODAY, generate  # noqa: E402 - beside this file

PASSWORD = "benchmark password"
EMAIL = "bench@coop.k12.ar.us"


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APSCN_")}
    return {**env, "APSCN_HOME": str(home), "APSCN_TODAY": TODAY.isoformat(), "APSCN_ACTOR": "bench"}


def _import_sqlmodel(repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import sqlmodel"], check=True)
        times.append(time.perf_counter() - t0)
    return times


def _timed(client: httpx.Client, path: str, repeat: int) -> tuple[list[float], int]:
    client.get(path).raise_for_status()  # warm-up
    times, size = [], 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = client.get(path)
        times.append(time.perf_counter() - t0)
        r.raise_for_status()
        size = len(r.content)
    return times, size


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--districts", type=int, default=7_000)
    p.add_argument("--vendors", type=int, default=5)
    p.add_argument("--years", type=int, default=3)
    p.add_argument("--repeat", type=int, default=9)
    p.add_argument("--workdir", type=Path, default=None)
    a = p.parse_args(argv)
    home = a.workdir or Path(tempfile.mkdtemp(prefix="apscn-bench-web-"))
    home.mkdir(parents=True, exist_ok=True)
    db = home / "apscn.db"
    env = _env(home)
    if not db.exists():
        t0 = time.perf_counter()
        generate(db, districts=a.districts, vendors=a.vendors, years=a.years, seed=20260630, today=TODAY)
        print(f"ledger generated in {time.perf_counter() - t0:.1f} s: {db}", file=sys.stderr)
        subprocess.run(
            [sys.executable, "-m", "apscn_tracker", "user", "add", EMAIL, "--password-stdin"],
            input=PASSWORD + "\n", text=True, env=env, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "apscn_tracker", "serve", "--port", "0"], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert server.stdout is not None
        base = server.stdout.readline().split()[4]
        with httpx.Client(base_url=base, timeout=60) as c:
            for _ in range(200):
                try:
                    c.get("/healthz")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            import re

            token = re.search(r'name="csrf" value="([^"]+)"', c.get("/signin").text).group(1)  # type: ignore[union-attr]
            assert c.post("/signin", data={"email": EMAIL, "password": PASSWORD, "csrf": token}).status_code == 303
            pages = {
                f"board, all vendors ({a.districts * a.vendors:,} connections)": "/",
                f"board, one vendor ({a.districts:,} connections)": "/?vendor=Xello",
                "board, status overdue": "/?status=overdue",
                "board, search by name": "/?q=cedar",
            }
            results = {name: _timed(c, path, a.repeat) for name, path in pages.items()}
    finally:
        server.terminate()
        server.wait(timeout=60)
    baseline = statistics.median(_import_sqlmodel(a.repeat))
    print(f'`python -c "import sqlmodel"` (process, wall): {baseline * 1000:.1f} ms (median of {a.repeat})')
    print("| page | median | slowest | bytes | ratio to `import sqlmodel` |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, (times, size) in results.items():
        med = statistics.median(times)
        print(f"| {name} | {med * 1000:.1f} ms | {max(times) * 1000:.1f} ms | {size:,} | {med / baseline:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
