"""granian-rsgi-spec's concrete parts, the ``granian.rsgi`` re-exports, and the server's header mapping."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

import granian.rsgi
import granian_rsgi_spec as spec
from granian_server.interfaces.rsgi_headers import RSGIHeaders
from granian_server.interfaces.rsgi_http import RSGIHTTPProtocol, RSGIStreamTransport, format_address


def test_errors_are_runtime_errors_with_upstream_messages() -> None:
    assert issubclass(spec.ProtocolError, RuntimeError)
    assert issubclass(spec.ProtocolClosed, RuntimeError)
    assert str(spec.ProtocolError()) == 'RSGI protocol error'
    assert str(spec.ProtocolClosed()) == 'RSGI transport is closed'
    assert not issubclass(spec.ProtocolError, spec.ProtocolClosed)
    assert not issubclass(spec.ProtocolClosed, spec.ProtocolError)


def test_granian_rsgi_reexports_the_spec_objects() -> None:
    for name in spec.__all__:
        assert getattr(granian.rsgi, name) is getattr(spec, name), name
    assert set(granian.rsgi.__all__) == set(spec.__all__)
    upstream = {
        'Headers',
        'HTTPProtocol',
        'ProtocolClosed',
        'ProtocolError',
        'WebsocketProtocol',
        'Scope',
        'WebsocketMessageType',
        'WebsocketMessage',
    }
    assert upstream <= set(granian.rsgi.__all__)


def test_websocket_message_types() -> None:
    assert [(kind.name, int(kind)) for kind in spec.WebsocketMessageType] == [('close', 0), ('bytes', 1), ('string', 2)]
    message = spec.WebsocketMessage(spec.WebsocketMessageType.string, 'hi')
    assert message.kind == 2 and message.data == 'hi'
    assert message == spec.WebsocketMessage(2, 'hi')
    assert spec.WebsocketMessage(0).data is None
    assert repr(spec.WebsocketMessage(1, b'x')) == "WebsocketMessage(kind=1, data=b'x')"


def test_version() -> None:
    assert spec.RSGI_VERSION == '1.6'


def test_spec_imports_alone() -> None:
    # No dependencies: importing the spec must not pull in the server or the protocol layer.
    code = 'import sys, granian_rsgi_spec; print(sorted(m for m in sys.modules if m.startswith("granian")))'
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout
    loaded = out.strip().strip('[]').replace("'", '').split(', ')
    assert 'granian_rsgi_spec' in loaded
    assert all(name.split('.')[0] == 'granian_rsgi_spec' for name in loaded), loaded


def test_server_classes_satisfy_the_protocols() -> None:
    headers = RSGIHeaders([])
    assert isinstance(headers, spec.Headers)
    assert issubclass(RSGIHTTPProtocol, spec.HTTPProtocol)
    assert issubclass(RSGIStreamTransport, spec.HTTPStreamTransport)


def test_app_shapes_are_runtime_checkable() -> None:
    class Hooked:
        async def __rsgi__(self, scope: spec.Scope, protocol: spec.RSGIProtocol) -> None: ...

        def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None: ...

        def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None: ...

    async def plain(scope: spec.Scope, protocol: spec.RSGIProtocol) -> None: ...

    assert isinstance(Hooked(), spec.RSGIAppObject)
    assert isinstance(Hooked(), spec.RSGIInit)
    assert isinstance(Hooked(), spec.RSGIDel)
    assert isinstance(plain, spec.RSGIApp)
    assert not isinstance(plain, spec.RSGIInit)


# -- the server's Headers -------------------------------------------------------------------------

RAW = [
    (b'host', b'example.com'),
    (b'x-multi', b'one'),
    (b'accept', b'*/*'),
    (b'x-multi', b'two'),
    (b'x-latin', 'café'.encode('latin-1')),
]


def test_headers_distinct_keys_and_duplicate_values() -> None:
    headers = RSGIHeaders(RAW)
    assert headers.keys() == ['host', 'x-multi', 'accept', 'x-latin']
    assert list(headers) == headers.keys()
    assert len(headers) == 4
    assert headers.values() == ['example.com', 'one', 'two', '*/*', 'café']
    assert headers.items() == [
        ('host', 'example.com'),
        ('x-multi', 'one'),
        ('x-multi', 'two'),
        ('accept', '*/*'),
        ('x-latin', 'café'),
    ]


def test_headers_lookups() -> None:
    headers = RSGIHeaders(RAW)
    assert headers.get('x-multi') == 'one'
    assert headers.get('X-Multi') == 'one'  # names are case-insensitive, as in upstream's map
    assert headers.get('absent') is None
    assert headers.get('absent', 'default') == 'default'
    assert headers.get_all('x-multi') == ['one', 'two']
    assert headers.get_all('absent') == []
    assert headers['accept'] == '*/*'
    with pytest.raises(KeyError):
        headers['absent']
    assert 'host' in headers
    assert 'absent' not in headers
    assert 42 not in headers


def test_headers_copies_are_independent() -> None:
    headers = RSGIHeaders(RAW)
    headers.get_all('x-multi').append('three')
    headers.keys().append('extra')
    assert headers.get_all('x-multi') == ['one', 'two']
    assert len(headers) == 4


def test_headers_empty() -> None:
    headers = RSGIHeaders([])
    assert (headers.keys(), headers.values(), headers.items(), len(headers)) == ([], [], [], 0)


@pytest.mark.parametrize(
    ('address', 'text'),
    [
        (('127.0.0.1', 8000), '127.0.0.1:8000'),
        (('::1', 8000), '[::1]:8000'),
        (('fe80::1%lo', 443), '[fe80::1%lo]:443'),
        (None, ''),
    ],
)
def test_format_address(address: tuple[str, int] | None, text: str) -> None:
    assert format_address(address) == text
