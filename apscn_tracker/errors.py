"""Errors a coordinator sees as one line (exit code 1). Anything else is a bug.

``UserError`` is the one root of everything a user can be told: the command line prints its message, the tick
and the scheduler log it as one line. Every layer raises its own subclasses (the domain included: this module is
part of the shared kernel below it), so a service never re-wraps an error that already says the right thing.
"""


class UserError(Exception):
    """Bad input or a refused action. The message says what is wrong and what to do next."""


class InputError(UserError):
    """A value given by the user (a school year, an LEA code, a roster file, a setting) is not valid."""


class Refused(UserError):
    """A well-formed action the rules refuse (a step out of order, a date that cannot be)."""


class NotFound(UserError):
    pass


class LedgerError(UserError):
    """The ledger cannot be opened or used (a path, a server, a migration); the message says what to do."""


SHOWN = 200  # problems listed in the message (all of them stay in ``problems``)


class Problems(InputError):
    """Every problem of a file at once, as a table of (line or row, column, problem): a file is checked in full
    before anything is written, so one round of fixes is enough."""

    def __init__(
        self, heading: str, problems: list[tuple[int, str, str]], *, where: str = "line", what: str = "column"
    ) -> None:
        self.heading, self.problems, self.where = heading, problems, where
        width = max([len(column) for _, column, _ in problems] + [len(what)])
        lines = [f"{where:<5} {what:<{width}} problem"]
        lines += [f"{at:<5} {column:<{width}} {problem}" for at, column, problem in problems[:SHOWN]]
        if len(problems) > SHOWN:
            lines.append(f"... and {len(problems) - SHOWN} more")
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(f"{heading} ({count}):\n" + "\n".join(lines))
