"""Arkansas LEA codes: 7 digits = county (2) + district (2) + school (3).

District-level codes end in ``000``; open-enrollment charters seen in ADE listings end in ``700``.
Other school parts are accepted with a warning (an observed pattern, not a documented rule).
"""

from __future__ import annotations

import re

from apscn_tracker.errors import InputError

_DIGITS = re.compile(r"[0-9]{7}")  # ASCII only: \d and str.isdigit take the digits of every script


class LeaError(InputError):
    """An LEA code that is not 7 digits of an Arkansas county; the message says why."""


def normalize_lea(text: str) -> tuple[str, list[str]]:
    """Return the 7-digit code and warnings. Accepts ``AR-0401000`` (NCES ST_LEAID) and a 6-digit code
    whose leading zero a spreadsheet dropped."""
    raw = (text or "").strip()
    warnings: list[str] = []
    code = raw[3:] if raw.upper().startswith("AR-") else raw
    if len(code) == 6 and code.isascii() and code.isdigit():
        warnings.append(f"LEA {raw!r} has 6 digits; read as 0{code} (a spreadsheet drops leading zeros)")
        code = "0" + code
    if not _DIGITS.fullmatch(code):
        raise LeaError(f"LEA code {raw!r} must be 7 digits 0-9 (county, district, school), like 6001000")
    county = int(code[:2])
    if not 1 <= county <= 75:
        raise LeaError(f"LEA code {code}: county digits {code[:2]} are not an Arkansas county (01-75)")
    if code[4:] not in ("000", "700"):
        warnings.append(
            f"LEA {code}: school part {code[4:]} is neither 000 (district) nor 700 (charter); check the code"
        )
    return code, warnings


def lookup_code(text: str) -> str:
    """The code a lookup by LEA searches for: the normalized code, or the text as typed when it is not a valid
    one (the lookup then finds nothing and says so, with its suggestions)."""
    try:
        return normalize_lea(text)[0]
    except LeaError:
        return text.strip()
