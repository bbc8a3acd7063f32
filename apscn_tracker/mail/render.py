"""Render an email from its template trio: ``NAME.subject.txt``, ``NAME.body.txt``, ``NAME.body.html``.

Templates are looked up first in the coordinator's own folder (``templates_dir`` in the configuration),
then in the bundled ``templates/email/``; any single file can be overridden, including the shared layouts
``_base.body.txt`` and ``_base.body.html``. Undefined variables are errors (``StrictUndefined``), HTML is
autoescaped, plain text is not. The subject is one line: any line break a value brings in is folded into a
space, so a district name cannot start a new header.

Jinja is imported here only, when the first email is rendered.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from apscn_tracker.errors import UserError
from apscn_tracker.mail.kinds import EMAIL_KINDS
from apscn_tracker.resources import templates_dir

_KIND = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_NAME = re.compile(r"^_?[a-z][a-z0-9_]*\.(subject\.txt|body\.txt|body\.html)$")


class TemplateProblem(UserError):
    """A template is missing, refused or broken; the message names the file and what to fix."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def bundled_dir() -> Path:
    return templates_dir() / "email"


def check_template_name(name: str) -> str:
    """Template names are plain file names inside the template folder: no ``..``, no path, no absolute."""
    if not isinstance(name, str) or "/" in name or "\\" in name or ".." in name or not _NAME.match(name):
        raise TemplateProblem(f"template name {name!r} refused: templates are plain file names like NAME.body.txt")
    return name


def check_kind(kind: str) -> str:
    """A kind is a plain lower-case name (its templates are ``KIND.subject.txt`` ...). Besides the kinds of
    ``mail.kinds``, any kind with a template trio (bundled or in the coordinator's folder) can be rendered."""
    if not isinstance(kind, str) or not _KIND.match(kind):
        raise TemplateProblem(f"email kind {kind!r} refused: kinds are lower-case names like renewal_reminder")
    return kind


def longdate(value: date | datetime | None) -> str:
    """``Tuesday, June 16, 2026``."""
    if value is None:
        return ""
    return f"{value:%A, %B} {value.day}, {value.year}"


def shortdate(value: date | datetime | None) -> str:
    """``Tue, Jun 16``."""
    if value is None:
        return ""
    return f"{value:%a, %b} {value.day}"


def _autoescape(name: str | None) -> bool:
    return bool(name and name.endswith(".html"))


@lru_cache(maxsize=8)
def _environment(override: str | None, bundled: str | None = None):
    from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined  # lazy: ~40 ms, only once an email renders
    from jinja2.sandbox import SandboxedEnvironment

    loaders = []
    if override:
        loaders.append(FileSystemLoader(override, followlinks=False))
    loaders.append(FileSystemLoader(bundled or str(bundled_dir()), followlinks=False))
    env = SandboxedEnvironment(
        loader=ChoiceLoader(loaders),
        undefined=StrictUndefined,
        autoescape=_autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["longdate"] = longdate
    env.filters["shortdate"] = shortdate
    return env


def _render_one(env: Any, name: str, context: dict[str, Any]) -> str:
    from jinja2 import TemplateError, TemplateNotFound, TemplateSyntaxError, UndefinedError  # lazy, as above

    check_template_name(name)
    try:
        return env.get_template(name).render(context)
    except TemplateNotFound as exc:
        hint = "" if name.split(".")[0] in EMAIL_KINDS else f"; known kinds: {', '.join(EMAIL_KINDS)}"
        raise TemplateProblem(f"no template {exc.name} (neither in the templates folder nor bundled){hint}") from None
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"template {exc.filename or exc.name}, line {exc.lineno}: {exc.message}") from None
    except UndefinedError as exc:
        raise TemplateProblem(f"template {name}: {exc.message}") from None
    except TemplateError as exc:
        raise TemplateProblem(f"template {name}: {exc}") from None


WIDTH = 76
_HANGING = re.compile(r"^(\s*)(- |\d+\. |[A-Z][A-Za-z ]{0,20}:\s+(?=\S))")


def _wrap(line: str) -> list[str]:
    """A long line folded at ``WIDTH``; continuation lines hang under the text of a bullet or a label."""
    if len(line) <= WIDTH:
        return [line]
    m = _HANGING.match(line)
    hang = " " * len(m.group(0)) if m else line[: len(line) - len(line.lstrip())]
    return textwrap.wrap(line, width=WIDTH, subsequent_indent=hang, break_long_words=False, break_on_hyphens=False) or [
        line
    ]


def _tidy(text: str) -> str:
    """Plain text as it should be mailed: lines folded at WIDTH, no trailing spaces, one blank line at most."""
    out: list[str] = []
    for raw in text.splitlines():
        for line in _wrap(raw.rstrip()):
            line = line.rstrip()
            if line or (out and out[-1]):
                out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) + "\n"


def _override(templates_dir: Path | None) -> str | None:
    override = str(Path(templates_dir).expanduser()) if templates_dir else None
    if override and not Path(override).is_dir():
        raise TemplateProblem(f"templates folder {override} does not exist; create it or unset templates_dir")
    return override


def template_problems(templates_dir: Path | None, *, bundled: Path | None = None) -> list[str]:
    """What would stop an email from rendering, for every kind of ``mail.kinds``: each file of its trio as
    rendering finds it (``templates_dir`` first, then the bundled folder, or ``bundled``), and every layout or
    part those files extend or include. One line per problem: the missing files, then each syntax error."""
    from jinja2 import TemplateNotFound, TemplateSyntaxError, meta  # lazy, as above

    try:
        env = _environment(_override(templates_dir), str(bundled) if bundled else None)
    except TemplateProblem as exc:
        return [str(exc)]
    wanted = [name for kind in EMAIL_KINDS.values() for name in kind.templates]
    seen = set(wanted)
    missing: list[str] = []
    broken: list[str] = []
    while wanted:
        name = wanted.pop(0)
        try:
            source, filename, _ = env.loader.get_source(env, name)
            tree = env.parse(source, name, filename)
        except TemplateNotFound:
            missing.append(name)
            continue
        except TemplateSyntaxError as exc:
            broken.append(f"template {exc.filename or name}, line {exc.lineno}: {exc.message}")
            continue
        for used in meta.find_referenced_templates(tree):
            if used is not None and used not in seen:
                seen.add(used)
                wanted.append(used)
    found = [f"email templates missing: {', '.join(missing)}"] if missing else []
    return found + broken


def render(kind: str, context: dict[str, Any], *, templates_dir: Path | None = None) -> Rendered:
    """Render the trio of ``kind`` with ``context``. ``templates_dir`` (the coordinator's folder) wins."""
    check_kind(kind)
    env = _environment(_override(templates_dir))
    subject = " ".join(_render_one(env, f"{kind}.subject.txt", context).split())
    if not subject:
        raise TemplateProblem(f"template {kind}.subject.txt rendered an empty subject")
    text = _tidy(_render_one(env, f"{kind}.body.txt", context))
    html = _render_one(env, f"{kind}.body.html", context).strip() + "\n"
    return Rendered(subject=subject, text=text, html=html)
