"""The h11 parser adapter (granian_http/h1/_h11.py) still matches the installed h11."""

from __future__ import annotations

import h11
import h11._connection
import h11._readers
import h11._receivebuffer
import h11._state

from granian_http.h1._h11 import WRITTEN_FOR, H11Parser
from testkit.adapters import check_attributes, check_installed, check_pin


def test_installed_h11_is_one_the_adapter_was_written_for() -> None:
    check_installed('h11', WRITTEN_FOR)


def test_granian_http_pins_h11_to_those_versions() -> None:
    check_pin('h11', WRITTEN_FOR)


def test_the_internals_the_adapter_uses_are_there() -> None:
    check_attributes(h11._readers, 'READERS', 'maybe_read_from_IDLE_client')
    check_attributes(h11._connection, '_body_framing')
    check_attributes(h11._receivebuffer, 'ReceiveBuffer')
    body_readers = h11._readers.READERS[h11._state.SEND_BODY]
    assert {'chunked', 'content-length', 'http/1.0'} <= set(body_readers)
    request = h11.Request(method='GET', target='/', headers=[('Host', 'x'), ('X-A', 'b')])
    # The raw name, the lower-case name and the value, in that order.
    assert request.headers._full_items == [(b'Host', b'host', b'x'), (b'X-A', b'x-a', b'b')]


def test_the_adapter_parses_through_them() -> None:
    parser = H11Parser(65536)
    data = b'POST /a?b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc'
    head = parser.read_head(data, data.index(b'abc'))
    assert (head.method, head.target, head.http11, head.headers) == (
        b'POST',
        b'/a?b',
        True,
        [(b'host', b'x'), (b'content-length', b'3')],
    )
    assert bytes(parser.next_event()) == b'abc'  # type: ignore[arg-type]
    assert repr(parser.next_event()) == 'END_OF_MESSAGE'
