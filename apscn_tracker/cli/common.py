"""What every command shares: options, the app context, JSON and table output, error handling."""

from __future__ import annotations

import sys
from collections.abc import Iterator, MutableMapping
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import typer
from typer.core import TyperCommand, TyperGroup

if TYPE_CHECKING:
    from apscn_tracker.services.app import App

TodayOpt = Annotated[
    str | None,
    typer.Option("--today", help="Act as if today were this date (YYYY-MM-DD). Also APSCN_TODAY.", show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts) instead of a table.")]
LeaArg = Annotated[str, typer.Argument(help="7-digit LEA code.")]
VendorOpt = Annotated[str, typer.Option("--vendor", help="Vendor name.")]
YearOpt = Annotated[
    str | None,
    typer.Option("--year", help="School year, like 2026-27 (default: the current one).", show_default=False),
]


def parse_day(text: str | None, what: str = "date") -> date | None:
    if text is None:
        return None
    from apscn_tracker.config import parse_date

    return parse_date(text, what)


def make_app(today: str | None = None) -> App:
    from apscn_tracker.services.app import App

    return App.from_env(today=parse_day(today, "--today"))


def emit_json(data: Any) -> None:
    import json

    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


class Progress:
    """A progress bar on stderr for work that takes more than ``delay`` seconds, on a terminal only.

    ``update(done, total)`` moves the bar; before the first update (or with ``total`` 0) it shows the elapsed
    time. Nothing is drawn when stderr is not a terminal (scripts, ``--json`` pipelines, tests) or when the
    work ends within ``delay``. A thread redraws once a second, so a long step without updates still shows
    that it is alive. No dependency: ``rich`` is not loaded for it.
    """

    def __init__(self, label: str, *, delay: float = 1.0, stream: Any = None) -> None:
        self.label = label
        self.delay = delay
        self.stream = stream or sys.stderr
        self.done = 0
        self.total = 0
        self._shown = False
        self._stop: Any = None
        self._thread: Any = None
        self._lock: Any = None
        self._started = 0.0

    def __enter__(self) -> Progress:
        import threading
        import time

        self._started = time.monotonic()
        self._lock = threading.Lock()
        if self.stream.isatty():
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._tick, name="progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
        if self._shown:
            with self._lock:
                self.stream.write("\r\x1b[2K")
                self.stream.flush()

    def update(self, done: int, total: int) -> None:
        self.done, self.total = done, total
        if self._shown:
            self._draw()

    def _tick(self) -> None:
        import time

        while not self._stop.wait(min(self.delay, 1.0) if not self._shown else 1.0):
            if time.monotonic() - self._started >= self.delay:
                self._shown = True
                self._draw()

    def _draw(self) -> None:
        import time

        elapsed = int(time.monotonic() - self._started)
        if self.total:
            width = 30
            filled = min(width, width * self.done // self.total)
            bar = "#" * filled + "." * (width - filled)
            text = f"{self.label} [{bar}] {100 * self.done // self.total:3d}% {self.done:,}/{self.total:,} {elapsed}s"
        else:
            text = f"{self.label} ... {elapsed}s"
        with self._lock:
            self.stream.write("\r\x1b[2K" + text)
            self.stream.flush()


def print_checks(result: dict[str, Any], *, marks: dict[str, str], ok: str, bad: str, as_json: bool) -> None:
    """A list of named checks (``doctor``, ``db check``): JSON or one line each; exit 1 unless all are fine."""
    if as_json:
        emit_json(result)
    else:
        for check in result["checks"]:
            typer.echo(f"{marks.get(check['status'], '??')} {check['name']}: {check['message']}")
            for line in check["details"]:
                typer.echo(f"     {line}")
        typer.echo(ok if result["ok"] else bad)
    if not result["ok"]:
        raise typer.Exit(1)


def warn(message: str) -> None:
    typer.echo(f"warning: {message}", err=True)


def print_table(
    rows: list[dict[str, Any]],
    columns: list[tuple[str, str]],
    *,
    title: str | None = None,
    styles: dict[str, dict[str, str]] | None = None,
) -> None:
    """A rich table; ``styles`` maps a column key to {value: style}."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, header_style="bold")
    for _, header in columns:
        table.add_column(header, overflow="fold")
    for row in rows:
        cells = []
        for key, _ in columns:
            value = row.get(key)
            text = "" if value is None else str(value)
            style = (styles or {}).get(key, {}).get(text)
            cells.append(f"[{style}]{text}[/]" if style else text.replace("[", r"\["))
        table.add_row(*cells)
    console = Console()
    if not console.is_terminal:  # piped or captured: don't fold cells to 80 columns
        console = Console(width=200)
    console.print(table)
    if not rows:
        typer.echo("(nothing to show)")


def _one_line(exc: BaseException) -> str | None:
    """The message for an error a user can act on, or None for a bug."""
    from apscn_tracker.config import ConfigError
    from apscn_tracker.errors import UserError

    if isinstance(exc, UserError | ConfigError):  # LedgerError included
        return str(exc)
    module = type(exc).__module__
    if module.startswith("sqlalchemy"):
        from apscn_tracker.ledger.db import describe_db_error

        return describe_db_error(exc)
    if module.startswith("jinja2"):  # a coordinator's own template: missing include, syntax, sandbox refusal
        from jinja2 import TemplateNotFound

        if isinstance(exc, TemplateNotFound):
            return f"template {exc.name!r} not found: a template includes only files of its own folder"
        where = getattr(exc, "filename", None) or getattr(exc, "name", None)
        return f"template problem{f' in {where}' if where else ''}: {exc}"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return None


class ApscnGroup(TyperGroup):
    """Turns the errors a user can act on into one line on stderr and exit code 1."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            message = _one_line(exc)
            if message is None:
                raise
            typer.echo(f"error: {message}", err=True)
            raise typer.Exit(1) from None


class LazyCommands(MutableMapping[str, Any]):
    """The root group's commands: Typer command infos, turned into click commands the first time each is used.

    Typer converts every command of an app before it parses anything (each signature read, each annotation
    resolved): about as much time as importing Typer itself. ``apscn status`` needs one command, ``apscn --help``
    none: its listing is made from the infos (see ``LazyGroup.format_commands``).
    """

    def __init__(self, built: dict[str, Any], infos: dict[str, Any], build: Any) -> None:
        self._built = dict(built)
        self._infos = {name: info for name, info in infos.items() if name not in self._built}
        self._order = [*self._built, *self._infos]
        self._build = build

    def __getitem__(self, name: str) -> Any:
        found = self._built.get(name)
        if found is None:
            found = self._built[name] = self._build(self._infos.pop(name))  # KeyError: no such command
        return found

    def __setitem__(self, name: str, command: Any) -> None:
        if name not in self._built and name not in self._infos:
            self._order.append(name)
        self._infos.pop(name, None)
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        if self._built.pop(name, None) is None:
            del self._infos[name]
        self._order.remove(name)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._order))

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, name: object) -> bool:
        return name in self._built or name in self._infos

    def built(self, name: str) -> Any:
        """The click command if it was built already, else None (builds nothing)."""
        return self._built.get(name)

    def info(self, name: str) -> Any:
        return self._infos.get(name)


class LazyGroup(ApscnGroup):
    """A root group whose commands come from ``source`` (a plain ``typer.Typer`` the command modules register
    on) and are built on first use. Subclass it with ``source`` set, and give the subclass as the app's ``cls``."""

    source: ClassVar[typer.Typer]

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        from typer.main import get_command_name

        infos: dict[str, Any] = {}
        for command in self.source.registered_commands:
            infos[command.name or get_command_name(command.callback.__name__)] = command  # type: ignore[union-attr]
        for group in self.source.registered_groups:
            if not group.name:
                raise ValueError("a lazily built command group needs a name (add_typer(..., name=...))")
            infos[group.name] = group
        self.commands = LazyCommands(dict(self.commands), infos, self._build)
        self._listing = False

    def _build(self, info: Any) -> Any:
        from typer.main import get_command_from_info, get_group_from_info
        from typer.models import CommandInfo

        short = self.source.pretty_exceptions_short
        if isinstance(info, CommandInfo):
            return get_command_from_info(info, pretty_exceptions_short=short, rich_markup_mode=self.rich_markup_mode)
        return get_group_from_info(
            info,
            pretty_exceptions_short=short,
            rich_markup_mode=self.rich_markup_mode,
            suggest_commands=self.suggest_commands,
        )

    def _stub(self, name: str, info: Any) -> Any:
        """A parameterless stand-in with the command's name and help, for the listing of ``--help``."""
        import inspect

        from typer.main import solve_typer_info_defaults
        from typer.models import CommandInfo

        if isinstance(info, CommandInfo):
            text = inspect.cleandoc(info.help) if info.help is not None else inspect.getdoc(info.callback)
            return TyperCommand(
                name=name, help=text, short_help=info.short_help, hidden=info.hidden, deprecated=info.deprecated
            )
        solved = solve_typer_info_defaults(info)
        return TyperGroup(
            name=name,
            help=solved.help,
            short_help=solved.short_help,
            hidden=solved.hidden,
            deprecated=solved.deprecated,
        )

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)  # the names, in the order of registration, without building anything

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        commands: LazyCommands = self.commands  # type: ignore[assignment]
        if self._listing and cmd_name in commands and commands.built(cmd_name) is None:
            return self._stub(cmd_name, commands.info(cmd_name))
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_commands(ctx, formatter)
        finally:
            self._listing = False
