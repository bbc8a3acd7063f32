"""Whole numbers given on the command line (ids, limits).

The ledger stores 64-bit integers: a larger number can neither name a row nor limit a query, and the driver
would raise ``OverflowError``. Every integer argument and option takes ``callback=fits_ledger``, which
refuses such a number in one line (exit 1) before the command runs (``tests/cli/test_huge_numbers.py`` checks
every integer parameter of every command).
"""

from __future__ import annotations

import typer

from apscn_tracker.errors import UserError

LARGEST = 2**63 - 1  # SQLite INTEGER, PostgreSQL bigint


def fits_ledger(param: typer.CallbackParam, value: int | None) -> int | None:
    if value is not None and abs(value) > LARGEST:
        name = param.opts[0] if param.param_type_name == "option" else (param.name or "number").upper()
        raise UserError(f"{name} {value} is too large: the largest number the ledger holds is {LARGEST}")
    return value
