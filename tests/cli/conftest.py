"""Fixtures of the command tests."""

import pytest

from tests.support.cli import make_ready


@pytest.fixture
def ready(cli):
    """``init`` and two connections (6001000 by API, 0401000 by SFTP with course planning) on September 14."""
    return make_ready(cli)
