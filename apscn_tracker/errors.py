"""Errors a coordinator sees as one line (exit code 1). Anything else is a bug."""


class UserError(Exception):
    """Bad input or a refused action. The message says what is wrong and what to do next."""


class NotFound(UserError):
    pass


class LedgerError(UserError):
    """The ledger cannot be opened or used (a path, a server, a migration); the message says what to do."""
