"""The cache of checked response heads in granian_http/h1/_response.py.

A head the app sends again is not serialized and checked again; what must still hold: the date
and the other default fields are the current ones, whatever was cached; a bad field is refused
every time, also right after the same head with good fields was cached; fields given in forms that
cannot be a cache key are served the same; and past the cache's bound every head is still right.
Checked against h11 as a client, the reference for what we write.
"""

from __future__ import annotations

import h11
import pytest

from granian_http.context import ResponseDefaults
from granian_http.h1 import _response
from granian_http.h1._response import FRAMING_LENGTH, build_head


def _defaults(date: bytes, extra: tuple[tuple[bytes, bytes], ...] = ()) -> ResponseDefaults:
    return ResponseDefaults(((b'server', b'granian'), (b'date', date), *extra), frozenset(n for n, _ in extra))


MONDAY = _defaults(b'Mon, 01 Dec 2026 10:00:00 GMT')
TUESDAY = _defaults(b'Tue, 02 Dec 2026 10:00:00 GMT')


def _read(head: bytes) -> h11.Response:
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method='GET', target='/', headers=[('host', 'x')]))
    client.receive_data(head)
    event = client.next_event()
    assert isinstance(event, h11.Response), event
    return event


def test_a_cached_head_carries_the_current_date() -> None:
    fields = [(b'content-type', b'text/plain'), (b'content-length', b'5')]
    first = build_head(200, fields, True, True, False, 5, MONDAY)
    again = build_head(200, list(fields), True, True, False, 5, TUESDAY)
    assert (first[1:], again[1:]) == ((FRAMING_LENGTH, 5, True), (FRAMING_LENGTH, 5, True))
    assert dict(_read(first[0]).headers)[b'date'] == b'Mon, 01 Dec 2026 10:00:00 GMT'
    assert dict(_read(again[0]).headers)[b'date'] == b'Tue, 02 Dec 2026 10:00:00 GMT'
    assert first[0].replace(b'Mon, 01', b'Tue, 02') == again[0]


def test_a_bad_value_is_refused_every_time_beside_a_cached_good_one() -> None:
    good = [(b'x-a', b'fine')]
    build_head(200, good, True, True, False, 0, MONDAY)
    for _ in range(2):
        with pytest.raises(ValueError, match='line breaks'):
            build_head(200, [(b'x-a', b'fine\r\nx-evil: 1')], True, True, False, 0, MONDAY)
        with pytest.raises(ValueError, match='Invalid HTTP header name'):
            build_head(200, [(b'x a', b'fine')], True, True, False, 0, MONDAY)


def test_fields_that_cannot_be_a_key_are_served_the_same() -> None:
    as_tuples = build_head(200, [(b'x-a', b'1')], True, True, False, 2, MONDAY)
    as_lists = build_head(200, [[b'x-a', b'1']], True, True, False, 2, MONDAY)  # type: ignore[list-item]
    as_bytearray = build_head(200, [(b'x-a', bytearray(b'1'))], True, True, False, 2, MONDAY)  # type: ignore[list-item]
    from_generator = build_head(200, iter([(b'x-a', b'1')]), True, True, False, 2, MONDAY)
    assert as_tuples == as_lists == as_bytearray == from_generator


def test_what_the_app_overrides_stays_its_own_when_cached() -> None:
    worker = _defaults(b'Mon, 01 Dec 2026 10:00:00 GMT', ((b'x-frame-options', b'DENY'),))
    app_fields = [(b'server', b'app'), (b'x-frame-options', b'SAMEORIGIN')]
    for _ in range(2):
        head = build_head(200, app_fields, True, True, False, 0, worker)[0]
        fields = _read(head).headers
        assert (fields.count((b'server', b'app')), fields.count((b'x-frame-options', b'SAMEORIGIN'))) == (1, 1)
        assert (b'server', b'granian') not in fields and (b'x-frame-options', b'DENY') not in fields


def test_the_connection_decision_is_part_of_the_key() -> None:
    fields = [(b'content-type', b'text/plain')]
    open_ = build_head(200, fields, True, True, False, 0, MONDAY)
    closing = build_head(200, fields, True, False, False, 0, MONDAY)
    assert open_[3] is True and b'connection: close' not in open_[0]
    assert closing[3] is False and b'connection: close\r\n' in closing[0]
    asked = build_head(200, [*fields, (b'connection', b'close')], True, True, False, 0, MONDAY)
    assert asked[3] is False and asked[0].count(b'connection: close\r\n') == 1


def test_past_its_bound_every_head_is_still_right(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_response, '_CACHE', {})
    monkeypatch.setattr(_response, '_CACHE_MAX', 4)
    for number in range(10):
        value = b'%d' % number
        head = build_head(200, [(b'etag', value)], True, True, False, 0, MONDAY)[0]
        assert (b'etag', value) in _read(head).headers
    assert len(_response._CACHE) == 4
