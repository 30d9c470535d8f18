"""Every HTTP/1.1 protocol test runs against every request parser behind the seam.

The parsers must give the same answers for the same bytes (granian_http/h1/_events.py): each test
here is run once per parser, on a memory transport (testkit.h1.Server), h11 being the reference.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testkit import h1


@pytest.fixture(autouse=True, params=['h11', 'httptools'])
def h1_parser(request: pytest.FixtureRequest) -> Iterator[str]:
    previous = h1.DEFAULT_PARSER
    h1.DEFAULT_PARSER = request.param
    try:
        yield request.param
    finally:
        h1.DEFAULT_PARSER = previous
