"""HTTP/1.1 heads with HTTP/3 on: the worker's default fields carry the alt-svc line right after the
date, the head builder sends it whatever the app does with its own ``date``, without weakening its
checks; HTTP/3's own responses do not advertise HTTP/3 again."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from granian_http import ServeContext
from granian_http.context import ResponseDefaults
from granian_http.h1._response import build_head

pytestmark = pytest.mark.anyio

ALT_SVC = b'h3=":8443"; ma=86400'
LINE = b'alt-svc: h3=":8443"; ma=86400\r\n'


def _defaults(alt_svc: bytes | None, **options: Any) -> tuple[ResponseDefaults, ResponseDefaults]:
    """The HTTP/1.1-and-2 snapshot and the HTTP/3 one of a worker advertising ``alt_svc``."""
    ctx = ServeContext(lambda exchange: None, loop=asyncio.get_running_loop(), **options)
    ctx.advertise(alt_svc)
    ctx.close()
    return ctx.response_defaults, ctx.h3_response_defaults


def _head(headers: list[tuple[bytes, bytes]], defaults: ResponseDefaults) -> bytes:
    return build_head(200, headers, True, True, False, 2, defaults)[0]


async def test_the_alt_svc_line_follows_the_date() -> None:
    defaults, _ = _defaults(ALT_SVC)
    head = _head([(b'content-type', b'text/plain')], defaults)
    date_at = head.index(b'date: ')
    assert head[head.index(b'\r\n', date_at) + 2 :] == LINE + b'\r\n'
    off, _ = _defaults(None)
    assert b'alt-svc' not in _head([], off)  # HTTP/3 off: the date alone


async def test_an_app_date_replaces_ours_but_alt_svc_stays() -> None:
    defaults, _ = _defaults(ALT_SVC)
    head = _head([(b'date', b'Mon, 01 Jan 2024 00:00:00 GMT')], defaults)
    assert head.count(b'date: ') == 1 and b'date: Mon, 01 Jan 2024' in head
    assert head.count(LINE) == 1


async def test_alt_svc_without_a_date_header() -> None:
    defaults, _ = _defaults(ALT_SVC, date_header=False)
    head = _head([], defaults)
    assert b'date: ' not in head and head.count(LINE) == 1


async def test_http3_responses_carry_the_defaults_without_alt_svc() -> None:
    h12, h3 = _defaults(ALT_SVC, default_headers=[(b'x-frame-options', b'DENY')])
    assert [name for name, _ in h12.fields] == [b'server', b'date', b'alt-svc', b'x-frame-options']
    assert [name for name, _ in h3.fields] == [b'server', b'date', b'x-frame-options']
    off_12, off_3 = _defaults(None)
    assert off_12 is off_3


async def test_a_configured_alt_svc_replaces_ours() -> None:
    defaults, _ = _defaults(ALT_SVC, default_headers=[(b'alt-svc', b'clear')])
    head = _head([], defaults)
    assert head.count(b'alt-svc: ') == 1 and b'alt-svc: clear\r\n' in head


@pytest.mark.parametrize('alt_svc', [None, ALT_SVC])
@pytest.mark.parametrize('value', [b'a\r\nx-injected: 1', b'a\nb', b'a\rb', b'a\x00b'])
async def test_line_breaks_in_values_are_still_refused(alt_svc: bytes | None, value: bytes) -> None:
    defaults, _ = _defaults(alt_svc)
    with pytest.raises(ValueError):
        _head([(b'x-app', value)], defaults)
    with pytest.raises(ValueError):
        _head([(b'date', value)], defaults)
