"""HTTP/1.1 heads with HTTP/3 on: the context's date line carries the alt-svc line after it, and the
head builder sends it whatever the app does with its own ``date``, without weakening its checks."""

from __future__ import annotations

import pytest

from granian_http.h1._response import build_head

DATE = b'date: Thu, 03 Dec 2026 13:13:08 GMT\r\n'
WITH_ALT_SVC = DATE + b'alt-svc: h3=":8443"; ma=86400\r\n'


def _head(headers: list[tuple[bytes, bytes]], date: bytes) -> bytes:
    return build_head(200, headers, True, True, False, 2, date)[0]


def test_the_alt_svc_line_follows_the_date() -> None:
    head = _head([(b'content-type', b'text/plain')], WITH_ALT_SVC)
    assert head.endswith(WITH_ALT_SVC + b'\r\n')
    assert _head([], DATE).endswith(DATE + b'\r\n')  # HTTP/3 off: the date alone


def test_an_app_date_replaces_ours_but_alt_svc_stays() -> None:
    head = _head([(b'date', b'Mon, 01 Jan 2024 00:00:00 GMT')], WITH_ALT_SVC)
    assert head.count(b'date: ') == 1 and b'date: Mon, 01 Jan 2024' in head
    assert head.count(b'alt-svc: h3=":8443"; ma=86400\r\n') == 1


@pytest.mark.parametrize('date', [DATE, WITH_ALT_SVC])
@pytest.mark.parametrize('value', [b'a\r\nx-injected: 1', b'a\nb', b'a\rb', b'a\x00b'])
def test_line_breaks_in_values_are_still_refused(date: bytes, value: bytes) -> None:
    with pytest.raises(ValueError):
        _head([(b'x-app', value)], date)
    with pytest.raises(ValueError):
        _head([(b'date', value)], date)
