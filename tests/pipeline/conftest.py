"""Fixtures shared by the pipeline tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask


@pytest.fixture
def ctx(app: Flask, session: Any) -> Iterator[None]:
    """A request context for service calls: messages are translated per request (locale)."""
    with app.test_request_context():
        yield
