"""The names of the reminder rules, which are also the names of the emails they queue (``mail.kinds`` says who
gets them, ``domain.reminders`` when each is due). Apart from the rules so that the command line, which names
the kinds in its help, does not load them."""

from __future__ import annotations

RENEWAL_REMINDER = "renewal_reminder"
LAPSED_NOTICE = "lapsed_notice"
ACTIVATION_OVERDUE = "activation_overdue"
SEND_DETAILS_REMINDER = "send_details_reminder"
REMINDER_KINDS = (RENEWAL_REMINDER, LAPSED_NOTICE, ACTIVATION_OVERDUE, SEND_DETAILS_REMINDER)
