"""Whole numbers given on the command line (ids, limits).

The ledger's ids are INTEGER columns: 32 bits on PostgreSQL (64 on SQLite). A larger number names no row,
and would reach the driver as an overflow (SQLite's ``OverflowError``, PostgreSQL's "integer out of range").
Every integer argument and option takes ``callback=fits_ledger``, which refuses such a number in one line
(exit 1) before the command runs (``tests/cli/test_huge_numbers.py`` checks every integer parameter of every
command, on both databases). One bound for all of them: a limit beyond two billion rows limits nothing.
"""

from __future__ import annotations

import typer

from apscn_tracker.errors import UserError

LARGEST = 2**31 - 1  # PostgreSQL integer, the smallest of the two databases' id columns


def fits_ledger(param: typer.CallbackParam, value: int | None) -> int | None:
    if value is not None and abs(value) > LARGEST:
        name = param.opts[0] if param.param_type_name == "option" else (param.name or "number").upper()
        raise UserError(f"{name} {value} is too large: the largest number the ledger holds is {LARGEST}")
    return value
