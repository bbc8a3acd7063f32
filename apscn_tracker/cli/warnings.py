"""Warnings a command's services log, grouped and counted on stderr when the command ends: one line per kind of
warning, not one per key (``tick`` without a coordinator would say the same thing for every district).

A record may carry ``extra={"group": TEXT}``: records with the same TEXT are one line, with their count; any
other warning is grouped by its own text. The scheduler keeps its own logging (it runs for days)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import typer

LOGGER = "apscn_tracker"


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        group = getattr(record, "group", None)
        self.seen[str(group) if group else record.getMessage()] += 1


@contextmanager
def grouped_warnings() -> Iterator[None]:
    """Collect the package's warnings while the command runs; print each kind once, with its count."""
    logger = logging.getLogger(LOGGER)
    handler = _Collect()
    logger.addHandler(handler)
    was = logger.propagate
    logger.propagate = False  # the lines below replace the one-per-record output of the last-resort handler
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = was
        for text, n in handler.seen.items():
            typer.echo(f"warning: {text}" + (f" ({n} times)" if n > 1 else ""), err=True)
