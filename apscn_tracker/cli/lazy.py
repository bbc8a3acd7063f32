"""The root command group, whose commands are built from their functions the first time each is used.

Typer reads every parameter of every command (signatures, annotations) when it builds a command group: about as
long as importing Typer itself. The command modules therefore register on ``LazyCommands`` instead of on the root
``typer.Typer``; ``LazyGroup`` (the root's ``cls``) lists the names and builds only the command that runs, so
``apscn status`` builds one command and ``apscn --help`` none: its listing is made from the docstrings and the
help given to ``add_typer``.

Public Typer API only: ``typer.Typer(cls=...)`` with a subclass of ``typer.core.TyperGroup`` (the type Typer
documents for ``cls``), the group's command lookup it overrides or calls (``list_commands``, ``get_command``,
``format_commands``, ``resolve_command``, ``add_command``, ``commands``), and ``typer.main.get_command``, which
turns a ``typer.Typer`` into its command as ``app()`` and ``typer.testing`` do. No command infos, no private
converters. Nothing imports ``click``: Typer carries its own copy of it since 0.26.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup

from apscn_tracker.cli.options import name_values

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class _Entry:
    name: str
    help: str
    target: Callable[..., Any] | typer.Typer  # a command's function, or a command group (a sub-app)

    @property
    def is_group(self) -> bool:
        return isinstance(self.target, typer.Typer)


class LazyCommands:
    """Where the command modules register, with the two calls of ``typer.Typer`` they use: ``command`` and
    ``add_typer``. Nothing is built here. Listed as Typer lists an app: the commands, then the groups, each in
    the order of registration."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}

    def command(self, name: str | None = None) -> Callable[[F], F]:
        """Register a function as a command; its name defaults to the function's, with dashes (as Typer's)."""

        def register(fn: F) -> F:
            command_name = name or fn.__name__.lower().replace("_", "-")
            self._add(_Entry(command_name, inspect.getdoc(fn) or "", fn))
            return fn

        return register

    def add_typer(self, sub: typer.Typer, *, name: str, help: str) -> None:
        """Register a command group. Its help is given here (where Typer also takes it) so that ``--help`` can
        list the group without building it."""
        self._add(_Entry(name, help, sub))

    def _add(self, entry: _Entry) -> None:
        if entry.name in self._entries:
            raise ValueError(f"two commands are named {entry.name!r}")
        self._entries[entry.name] = entry

    def names(self) -> list[str]:
        commands = [e.name for e in self._entries.values() if not e.is_group]
        return commands + [e.name for e in self._entries.values() if e.is_group]

    def get(self, name: str) -> _Entry | None:
        return self._entries.get(name)


def build(entry: _Entry) -> Any:
    """The command Typer makes of the entry, built on its own (no completion options, no rich markup: the
    root's settings)."""
    holder = typer.Typer(add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False)
    if not isinstance(entry.target, typer.Typer):
        holder.command(entry.name)(entry.target)  # one command: Typer makes the app that command
        command = typer.main.get_command(holder)
    else:
        holder.add_typer(entry.target, name=entry.name, help=entry.help)  # a group: the app is a group of it
        wrapper = typer.main.get_command(holder)
        assert isinstance(wrapper, TyperGroup)
        command = wrapper.commands[entry.name]
    name_values(command)
    return command


class LazyGroup(TyperGroup):
    """A root group whose commands come from ``lazy`` and are built on first use. Subclass it with ``lazy`` set
    and give the subclass as the app's ``cls``."""

    lazy: ClassVar[LazyCommands]
    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:  # in the order of registration, built or not
        own = [name for name in super().list_commands(ctx) if self.lazy.get(name) is None]
        return own + self.lazy.names()

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        found = super().get_command(ctx, cmd_name)
        entry = self.lazy.get(cmd_name) if found is None else None
        if entry is None:
            return found
        if self._listing:  # the --help listing needs the name and the help only
            return TyperCommand(entry.name, help=entry.help, rich_markup_mode=None)
        command = build(entry)
        self.add_command(command, entry.name)
        return command

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_commands(ctx, formatter)
        finally:
            self._listing = False

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] not in self.list_commands(ctx):
            # a mistyped command: Typer suggests the close names among the commands built, so build them all
            for name in self.list_commands(ctx):
                self.get_command(ctx, name)
        return super().resolve_command(ctx, args)
