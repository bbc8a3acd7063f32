"""The layers of docs/architecture.md hold: import-linter checks the contracts of pyproject.toml on the package as
it is, so an upward import (a service importing the scheduler, mail importing a service) fails the suite."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _lint_imports() -> list[str]:
    found = shutil.which("lint-imports")
    if found:
        return [found]
    return [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()"]


def test_every_layer_imports_only_the_layers_below_it():
    if not (ROOT / "pyproject.toml").is_file():
        pytest.skip("run from a source checkout: the contracts live in pyproject.toml")
    done = subprocess.run(
        [*_lint_imports(), str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout, done.stdout[-2000:]


def test_the_contracts_name_every_subpackage_of_the_package():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    package = ROOT / "apscn_tracker"
    parts = sorted(
        p.stem
        for p in package.iterdir()
        if not p.name.startswith(("_", ".")) and (p.suffix == ".py" or (p / "__init__.py").is_file())
    )
    missing = [p for p in parts if f"apscn_tracker.{p}" not in text.split("[tool.importlinter]", 1)[-1]]
    assert missing == [], f"not in any layer of [tool.importlinter]: {missing}"
