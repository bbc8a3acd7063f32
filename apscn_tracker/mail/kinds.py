"""Every email the tracker sends, defined once: who gets it, its templates, what sends it, how to preview it.

Everything else reads this registry: rendering (the template trio), the recipients (the roles), the tick (the
kinds it queues), ``apscn preview`` and ``apscn send`` (which kinds, for whom), ``apscn doctor`` (every kind's
templates) and the coordinator digest. The reminder rules themselves stay in ``domain.reminders`` (pure, below
mail); the kinds here triggered by a reminder rule are exactly its ``REMINDER_KINDS`` (``domain.reminder_kinds``).

=======================  ============================  ==============================  ===================
kind                     to                            cc                              sent by
=======================  ============================  ==============================  ===================
renewal_reminder         district contacts             coordinator                     a reminder rule
lapsed_notice            district contacts             coordinator                     a reminder rule
activation_overdue       coordinator                   district contacts               a reminder rule
send_details_reminder    district contacts             -                               a reminder rule
coordinator_digest       coordinator                   -                               the daily digest
request_form             district contacts             coordinator                     a coordinator
powerschool_activation   district contacts             coordinator                     a coordinator
upload_complete          vendor's Onboarding Manager   district contacts, coordinator  a coordinator
delivery_failed          coordinator                   -                               a refused delivery
report_ready             coordinator                   -                               the yearly report
=======================  ============================  ==============================  ===================

Light on purpose (no Jinja, no database): the command line reads it to describe the kinds in its help.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from apscn_tracker.domain.reminder_kinds import (
    ACTIVATION_OVERDUE,
    LAPSED_NOTICE,
    RENEWAL_REMINDER,
    SEND_DETAILS_REMINDER,
)
from apscn_tracker.errors import UserError

PARTS: tuple[str, ...] = ("subject.txt", "body.txt", "body.html")
"""The template trio of a kind: ``KIND.subject.txt``, ``KIND.body.txt``, ``KIND.body.html``."""


class Role(StrEnum):
    """Who an email can be addressed to."""

    DISTRICT = "district"  # the district's contacts
    COORDINATOR = "coordinator"  # coordinator_email of the configuration
    ONBOARDING = "onboarding"  # the vendor's Onboarding Manager


class Trigger(StrEnum):
    """What makes the tracker queue an email."""

    REMINDER_RULE = "reminder_rule"  # the tick, by a rule of domain.reminders
    DAILY_DIGEST = "daily_digest"  # the tick, at most once a day, when reminders went out
    ON_DEMAND = "on_demand"  # a coordinator: `apscn send KIND LEA` (`apscn request-form` for the form)
    DELIVERY_FAILURE = "delivery_failure"  # delivery, when a server refuses a message for good
    YEARLY_REPORT = "yearly_report"  # the tick, when it writes the report of the year that ended


@dataclass(frozen=True)
class EmailKind:
    """One kind of email.

    - ``to``, ``cc``: the roles it is addressed to (``services.recipients`` turns them into addresses).
    - ``trigger``: what queues it. ``summary``: one line for the help.
    - ``about_district``: its context is built around one district (and vendor): a preview or a send needs
      the LEA.
    - ``act_next_working_day``: what it asks for is due the next state working day (``dates.act_by`` of the
      context; else by the school year's request date).
    - ``method``: sent on demand, the connection method it belongs to (``api``: the APSCN request route;
      ``sftp``: the scripted upload route). ``yearly``: sent on demand once per school year (else once per
      district and vendor).
    - ``previewable``: ``apscn preview`` shows it. ``sample``: the context values the ledger may not have
      (the failed message of a ``delivery_failed``, the path and summary of a ``report_ready``), for a
      preview with nothing real to show and for the template checks.
    """

    name: str
    to: tuple[Role, ...]
    cc: tuple[Role, ...]
    trigger: Trigger
    about_district: bool
    summary: str
    act_next_working_day: bool = False
    method: str | None = None
    yearly: bool = True
    previewable: bool = True
    sample: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def templates(self) -> tuple[str, ...]:
        """Its template trio's file names."""
        return tuple(f"{self.name}.{part}" for part in PARTS)

    @property
    def roles(self) -> tuple[Role, ...]:
        return self.to + self.cc

    def sample_context(self) -> dict[str, Any]:
        """A fresh, deep copy of ``sample`` (the caller may change it)."""
        return copy.deepcopy(dict(self.sample))


# The names of the kinds that are not reminder rules (those are the domain's), for the modules that send them.
COORDINATOR_DIGEST = "coordinator_digest"
REQUEST_FORM = "request_form"
POWERSCHOOL_ACTIVATION = "powerschool_activation"
UPLOAD_COMPLETE = "upload_complete"
DELIVERY_FAILED = "delivery_failed"
REPORT_READY = "report_ready"


_SAMPLE_FAILED = MappingProxyType(
    {
        "failed": {
            "id": 0,
            "kind": RENEWAL_REMINDER,
            "subject": "(an example) Renew the Xello API connection",
            "to": "District Contact <contact@district.example>",
            "cc": "",
            "error": "550 5.1.1 mailbox unavailable (an example: no message has failed)",
            "refused": [],
            "partial": False,
            "sent": False,
            "created_at": datetime(2026, 6, 1, 13, 0, tzinfo=UTC),
            "message_id": "<example@apscn-tracker.invalid>",
        }
    }
)

# The shape of the yearly report's summary block (report.stats), with the figures the email shows.
_SAMPLE_REPORT = MappingProxyType(
    {
        "path": "reports/apscn-report-2025-26.html",
        "summary": {
            "connections": 0,
            "api_connections": 0,
            "scripted_connections": 0,
            "districts": 0,
            "by_status": {"lapsed": 0},
            "requested_before_july1": {"count": 0, "of": 0, "share": None},
            "enabled_before_july1": {"count": 0, "of": 0, "share": None},
            "working_days_to_enable": {"count": 0, "median": None, "p90": None},
            "activations": {"enabled": 0, "on_time": 0, "late": 0, "still_overdue": 0},
            "days_without_data": {"connections_with_gap": 0, "total_days": 0},
            "districts_without_contact": {"count": 0},
        },
    }
)

_D, _C, _O = Role.DISTRICT, Role.COORDINATOR, Role.ONBOARDING

_ALL = (
    EmailKind(
        name=RENEWAL_REMINDER,
        to=(_D,),
        cc=(_C,),
        trigger=Trigger.REMINDER_RULE,
        about_district=True,
        summary="before June 30: request next school year's renewal",
    ),
    EmailKind(
        name=LAPSED_NOTICE,
        to=(_D,),
        cc=(_C,),
        trigger=Trigger.REMINDER_RULE,
        about_district=True,
        summary="the school year began without a request: the connection is down",
    ),
    EmailKind(
        name=ACTIVATION_OVERDUE,
        to=(_C,),
        cc=(_D,),
        trigger=Trigger.REMINDER_RULE,
        about_district=True,
        summary="APSCN has not enabled a request within its working days",
        act_next_working_day=True,
    ),
    EmailKind(
        name=SEND_DETAILS_REMINDER,
        to=(_D,),
        cc=(),
        trigger=Trigger.REMINDER_RULE,
        about_district=True,
        summary="enabled: send the connection details to the Onboarding Manager",
        act_next_working_day=True,
    ),
    EmailKind(
        name=COORDINATOR_DIGEST,
        to=(_C,),
        cc=(),
        trigger=Trigger.DAILY_DIGEST,
        about_district=False,
        summary="what needs follow-up today",
        act_next_working_day=True,
    ),
    EmailKind(
        name=REQUEST_FORM,
        to=(_D,),
        cc=(_C,),
        trigger=Trigger.ON_DEMAND,
        about_district=True,
        summary='the pre-filled "APSCN: eSchoolPLUS API Request"',
        method="api",
    ),
    EmailKind(
        name=POWERSCHOOL_ACTIVATION,
        to=(_D,),
        cc=(_C,),
        trigger=Trigger.ON_DEMAND,
        about_district=True,
        summary='the one-time eSchoolPLUS activation request ("Xello Data Exchange")',
        method="api",
        yearly=False,
    ),
    EmailKind(
        name=UPLOAD_COMPLETE,
        to=(_O,),
        cc=(_D, _C),
        trigger=Trigger.ON_DEMAND,
        about_district=True,
        summary="a scripted SFTP upload is complete: tell the Onboarding Manager",
        act_next_working_day=True,
        method="sftp",
    ),
    EmailKind(
        name=DELIVERY_FAILED,
        to=(_C,),
        cc=(),
        trigger=Trigger.DELIVERY_FAILURE,
        about_district=False,
        summary="a message could not be delivered",
        act_next_working_day=True,
        sample=_SAMPLE_FAILED,
    ),
    EmailKind(
        name=REPORT_READY,
        to=(_C,),
        cc=(),
        trigger=Trigger.YEARLY_REPORT,
        about_district=False,
        summary="the yearly report of the school year that ended is written",
        sample=_SAMPLE_REPORT,
    ),
)

EMAIL_KINDS: Mapping[str, EmailKind] = MappingProxyType({k.name: k for k in _ALL})
"""Every email kind by name, in the order above."""


def names(*triggers: Trigger) -> tuple[str, ...]:
    """The kinds sent by any of ``triggers`` (every kind when none is given), in registry order."""
    return tuple(k.name for k in _ALL if not triggers or k.trigger in triggers)


def email_kind(name: str) -> EmailKind:
    """The registry entry of ``name``; an unknown name is refused with the list of kinds."""
    found = EMAIL_KINDS.get(name)
    if found is None:
        raise UserError(f"unknown email kind {name!r}; kinds: {', '.join(EMAIL_KINDS)}")
    return found


def on_demand(name: str) -> EmailKind:
    """The entry of a kind a coordinator can send (``apscn send``); any other kind is refused."""
    kind = email_kind(name)
    if kind.trigger is not Trigger.ON_DEMAND:
        sendable = ", ".join(names(Trigger.ON_DEMAND))
        raise UserError(f"{name} is not sent on demand (it goes out by {kind.trigger.value}); sendable: {sendable}")
    return kind


TICK_KINDS: tuple[str, ...] = names(Trigger.REMINDER_RULE, Trigger.DAILY_DIGEST, Trigger.YEARLY_REPORT)
"""What the tick queues (the keys of ``queued`` in ``apscn tick --json``)."""
