"""One error root: every error a user can be told, the domain's included, is a UserError."""

from __future__ import annotations

import pytest

from apscn_tracker.config import ConfigError
from apscn_tracker.domain.lea import LeaError
from apscn_tracker.domain.roster import RosterError
from apscn_tracker.domain.schoolyear import SchoolYearError
from apscn_tracker.domain.steps import StepRefused
from apscn_tracker.errors import InputError, Refused, UserError


@pytest.mark.parametrize("error", [ConfigError, LeaError, RosterError, SchoolYearError])
def test_a_value_that_is_not_valid_is_an_input_error(error):
    assert issubclass(error, InputError) and issubclass(error, UserError)


def test_a_step_the_rules_refuse_is_a_refused_action():
    assert issubclass(StepRefused, Refused) and issubclass(StepRefused, UserError)
