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
