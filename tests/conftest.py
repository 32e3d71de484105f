"""Fixtures shared by the tests. Helper functions live in ``tests.helpers``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from SocketLibrary import SocketLibrary
from tests.helpers import keyword_library


@pytest.fixture
def lib() -> Iterator[SocketLibrary]:
    """A keyword library with a 2 s default timeout, closed like a suite's teardown."""
    with keyword_library(timeout="2s") as library:
        yield library
