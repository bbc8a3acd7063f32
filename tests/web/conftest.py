"""A demo ledger with a coordinator and a viewer, served by a real ``apscn serve`` process."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.web import demo_ledger_with_users, served


@pytest.fixture
def site(home) -> Iterator[str]:
    demo_ledger_with_users()
    with served() as (base, _proc):
        yield base


@pytest.fixture
def client(site) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=site, timeout=30) as c:
        yield c
