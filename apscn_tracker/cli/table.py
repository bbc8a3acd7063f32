"""Tables that fit the terminal: one line per record, at any width.

A column is either fixed (codes, dates, statuses, numbers: never shortened, never split) or flexible (names,
addresses, notes: shortened with an ellipsis down to a minimum width). When even the minimums do not fit, the
columns of lowest priority are left out, and a terminal is told which. The width is the terminal's; ``COLUMNS``
wins, piped or not; piped output without ``COLUMNS`` is not cut at all. Piped output is plain: no colour, no
title, no rule. Characters that could drive the terminal (controls, bidirectional overrides) are shown escaped.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import typer

GAP = "  "
ELLIPSIS = "…"
_RESET = "\x1b[0m"
_COLOURS = {"bold red": "1;31", "red": "31", "yellow": "33", "cyan": "36", "blue": "34", "green": "32"}
_COLOURS |= {"dim": "2", "magenta": "35", "bold": "1"}


@dataclass(frozen=True)
class Col:
    key: str
    header: str
    flex: bool = False  # shortened with an ellipsis when the table is too wide
    min: int = 6  # the narrowest a flexible column gets
    keep: int = 9  # higher is kept longer; the lowest goes first when the minimums do not fit
    short: str = ""  # the header when the column is narrower than its header
    names: bool = False  # district names: the usual words abbreviated before anything is cut


_ABBREVIATIONS = [
    (re.compile(r"\bschool district\b", re.I), "SD"),
    (re.compile(r"\bpublic charter schools?\b", re.I), "PCS"),
    (re.compile(r"\bcharter schools?\b", re.I), "CS"),
    (re.compile(r"\bpublic schools\b", re.I), "PS"),
    (re.compile(r"\bschools?\b", re.I), "Sch"),
    (re.compile(r"\bacademy\b", re.I), "Acad"),
    (re.compile(r"\bcounty\b", re.I), "Co"),
]


def shorter_name(name: str) -> str:
    """A district's name with the words every name shares abbreviated (``LITTLE ROCK SD``)."""
    for pattern, short in _ABBREVIATIONS:
        name = pattern.sub(short, name)
    return name


def escaped(text: str) -> str:
    """``text`` with every control, format or line-separator character written as an escape (``\\x1b``)."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch.isprintable() or ch == " ":
            out.append(ch)
        elif unicodedata.category(ch) == "Zs":
            out.append(" ")
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return "".join(out)


def width_of(text: str) -> int:
    """Columns the text takes on a terminal: wide East Asian characters take two, combining marks none."""
    if text.isascii():
        return len(text)
    return sum(0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` columns, ending in an ellipsis when it was longer."""
    if width_of(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        w = width_of(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + ELLIPSIS


def pad(text: str, width: int, right: bool = False) -> str:
    space = " " * max(0, width - width_of(text))
    return space + text if right else text + space


def terminal_width(stream: TextIO) -> int | None:
    """The width to fit: ``COLUMNS`` if set, else the terminal's; None (no limit) for a pipe or a file."""
    env = os.environ.get("COLUMNS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    if stream.isatty():
        return shutil.get_terminal_size((80, 24)).columns
    return None


def _colour_on(stream: TextIO) -> bool:
    return stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


@dataclass
class Layout:
    columns: list[Col]
    widths: list[int]
    left_out: list[Col]


def layout(cells: list[list[str]], columns: Sequence[Col], limit: int | None) -> Layout:
    """Which columns to show and how wide: everything at its natural width when it fits; else flexible columns
    shrink (widest first) down to their minimum; else the lowest-priority columns are left out."""
    cols = list(columns)
    data = {c.key: max([0] + [width_of(row[i]) for row in cells]) for i, c in enumerate(cols)}
    natural = {c.key: max(width_of(c.header), data[c.key]) for c in cols}
    floor = {c.key: _floor(c, natural[c.key], data[c.key]) for c in cols}
    shown = list(cols)
    left_out: list[Col] = []
    if limit is not None:
        while len(shown) > 1 and _total(floor[c.key] for c in shown) > limit:
            drop = min(reversed(shown), key=lambda c: c.keep)  # the lowest priority, rightmost first
            shown.remove(drop)
            left_out.append(drop)
    widths = {c.key: natural[c.key] for c in shown}
    if limit is not None:
        excess = _total(widths.values()) - limit
        while excess > 0:
            flexible = [c for c in shown if widths[c.key] > floor[c.key]]
            if not flexible:
                break
            widest = max(flexible, key=lambda c: widths[c.key] - floor[c.key])
            widths[widest.key] -= 1
            excess -= 1
    return Layout(shown, [widths[c.key] for c in shown], left_out)


def _floor(col: Col, natural: int, data: int) -> int:
    """The narrowest a column may get: a fixed one its widest value (and its short header); a flexible one its
    minimum, or less when nothing in it is wider."""
    head = width_of(col.short or col.header)
    if not col.flex:
        return max(data, head, 1)
    return min(natural, max(col.min, head))


def _total(widths: Any) -> int:
    values = list(widths)
    return sum(values) + len(GAP) * max(0, len(values) - 1)


def render(
    rows: list[dict[str, Any]],
    columns: Sequence[Col | tuple[str, str]],
    *,
    title: str | None = None,
    styles: dict[str, dict[str, str]] | None = None,
    right: Sequence[str] = (),
    stream: TextIO | None = None,
) -> None:
    """Print ``rows`` as a table of ``columns``: one line per record. ``styles`` colours a column's values on a
    terminal ({key: {value: style}}); ``right`` names the columns aligned right (numbers)."""
    out = stream or sys.stdout
    cols = [c if isinstance(c, Col) else Col(c[0], c[1], flex=True, min=8) for c in columns]
    cells = [[escaped("" if r.get(c.key) is None else str(r.get(c.key))) for c in cols] for r in rows]
    limit = terminal_width(out)
    plan = layout(cells, cols, limit)
    index = [cols.index(c) for c in plan.columns]
    tty, colour = out.isatty(), _colour_on(out)
    lines: list[str] = []
    if title and tty:
        lines.append(_style(cut(title, limit or 10_000), "bold", colour))
    header = GAP.join(
        pad(cut(c.header if width_of(c.header) <= w or not c.short else c.short, w), w, c.key in right)
        for c, w in zip(plan.columns, plan.widths, strict=True)
    )
    lines.append(_style(header.rstrip(), "bold", colour))
    if tty:
        lines.append(GAP.join("-" * w for w in plan.widths))
    for row in cells:
        parts = []
        for c, w, i in zip(plan.columns, plan.widths, index, strict=True):
            value = shorter_name(row[i]) if c.names and width_of(row[i]) > w else row[i]
            text = pad(cut(value, w), w, c.key in right)
            style = (styles or {}).get(c.key, {}).get(row[i])
            parts.append(_style(text, style, colour) if style else text)
        lines.append(GAP.join(parts).rstrip())
    out.write("\n".join(lines) + "\n")
    if not rows and tty:
        typer.echo("(nothing to show)", file=out)
    if plan.left_out and tty:
        names = ", ".join(c.header for c in reversed(plan.left_out))
        note = f"(not shown at {limit} columns: {names}; --json has all)"
        typer.echo(note if limit is None else cut(note, limit), file=out)
    out.flush()


def _style(text: str, style: str | None, colour: bool) -> str:
    code = _COLOURS.get(style or "")
    return f"\x1b[{code}m{text}{_RESET}" if colour and code else text
