"""wrap_asgi_with_proxy_headers, driven with scope dicts and a recording inner app."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest

from granian_proxies import wrap_asgi_with_proxy_headers


class Recorder:
    """An ASGI app that keeps the scope it was called with (a copy, and the object itself)."""

    def __init__(self) -> None:
        self.scopes: list[dict[str, Any]] = []
        self.snapshots: list[dict[str, Any]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.scopes.append(scope)
        self.snapshots.append(dict(scope))

    @property
    def scope(self) -> dict[str, Any]:
        return self.snapshots[-1]


def http_scope(
    headers: list[tuple[str, str]] = (),  # type: ignore[assignment]
    client: tuple[str, str] | None = ('127.0.0.1', '54321'),
    kind: str = 'http',
    scheme: str = 'http',
) -> dict[str, Any]:
    return {
        'type': kind,
        'client': client,
        'server': ('127.0.0.1', '8000'),
        'scheme': scheme,
        'headers': [(b'host', b'127.0.0.1:8000')]
        + [(name.encode('latin-1'), value.encode('latin-1')) for name, value in headers],
    }


def call(scope: dict[str, Any], trusted: Any = '127.0.0.1', **options: Any) -> dict[str, Any]:
    inner = Recorder()
    asyncio.run(_drive(wrap_asgi_with_proxy_headers(inner, trusted, **options), scope))
    return inner.scope


async def _drive(app: Any, scope: dict[str, Any]) -> None:
    await app(scope, None, None)


def header(scope: dict[str, Any], name: bytes) -> list[bytes]:
    return [value for key, value in scope['headers'] if key == name]


# -- shape of the wrapper ----------------------------------------------------------------------


def test_wrapper_is_a_sync_function_that_returns_the_apps_coroutine() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        """The app's docstring."""

    wrapped = wrap_asgi_with_proxy_headers(app)
    assert not inspect.iscoroutinefunction(wrapped)
    assert wrapped.__wrapped__ is app  # type: ignore[attr-defined]
    assert wrapped.__name__ == 'app'
    assert wrapped.__doc__ == "The app's docstring."
    result = wrapped(http_scope(), None, None)  # type: ignore[arg-type]
    assert inspect.iscoroutine(result)
    assert result.cr_code is app.__code__  # type: ignore[attr-defined]
    result.close()  # type: ignore[attr-defined]


def test_lifespan_scope_passes_through_untouched() -> None:
    inner = Recorder()
    scope = {'type': 'lifespan', 'asgi': {'version': '3.0'}, 'state': {}}
    original = dict(scope)
    asyncio.run(_drive(wrap_asgi_with_proxy_headers(inner, '*'), scope))
    assert inner.scopes[0] is scope
    assert scope == original


def test_unknown_scope_types_pass_through() -> None:
    scope = {'type': 'custom', 'client': ('127.0.0.1', '1'), 'headers': [(b'x-forwarded-for', b'1.2.3.4')]}
    assert call(dict(scope)) == scope


# -- X-Forwarded-For / X-Forwarded-Proto (upstream) ---------------------------------------------


def test_trusted_peer_rewrites_client_and_scheme() -> None:
    seen = call(http_scope([('x-forwarded-for', '203.0.113.7'), ('x-forwarded-proto', 'https')]))
    assert seen['client'] == ('203.0.113.7', 0)
    assert seen['scheme'] == 'https'


def test_scope_is_changed_in_place() -> None:
    scope = http_scope([('x-forwarded-for', '203.0.113.7')])
    call(scope)
    assert scope['client'] == ('203.0.113.7', 0)


def test_untrusted_peer_changes_nothing() -> None:
    scope = http_scope([('x-forwarded-for', '203.0.113.7'), ('x-forwarded-proto', 'https')])
    original = {**scope, 'headers': list(scope['headers'])}
    assert call(scope, '10.0.0.1') == original


def test_scope_without_client_changes_nothing() -> None:
    scope = http_scope([('x-forwarded-for', '203.0.113.7')], client=None)
    assert call(scope, '*')['client'] is None


def test_literal_trusted_peer() -> None:
    seen = call(http_scope([('x-forwarded-for', '203.0.113.7')], client=('unix', '0')), 'unix')
    assert seen['client'] == ('203.0.113.7', 0)


def test_ipv6_peer_and_entries() -> None:
    scope = http_scope([('x-forwarded-for', '2001:db8::7, fd00::2')], client=('fd00::1', '4000'))
    assert call(scope, 'fd00::/8')['client'] == ('2001:db8::7', 0)


def test_all_x_forwarded_for_headers_are_joined_in_order() -> None:
    scope = http_scope(
        [('x-forwarded-for', '1.1.1.1'), ('x-forwarded-for', ''), ('x-forwarded-for', '2.2.2.2, 10.0.0.2')]
    )
    assert call(scope, '127.0.0.1, 10.0.0.0/8')['client'] == ('2.2.2.2', 0)
    scope = http_scope([('x-forwarded-for', '1.1.1.1'), ('x-forwarded-for', '10.0.0.2')])
    assert call(scope, '127.0.0.1, 10.0.0.0/8')['client'] == ('1.1.1.1', 0)


def test_entries_are_stripped() -> None:
    assert call(http_scope([('x-forwarded-for', '  1.1.1.1  ,  2.2.2.2 ')]))['client'] == ('2.2.2.2', 0)


def test_trust_all_takes_the_left_most_entry() -> None:
    scope = http_scope([('x-forwarded-for', '1.1.1.1, 2.2.2.2, 3.3.3.3')], client=('198.51.100.1', '1'))
    assert call(scope, '*')['client'] == ('1.1.1.1', 0)


def test_empty_right_most_entry_changes_nothing() -> None:
    scope = http_scope([('x-forwarded-for', '1.1.1.1, '), ('x-forwarded-proto', 'https')])
    seen = call(scope)
    assert seen['client'] == ('127.0.0.1', '54321')
    assert seen['scheme'] == 'http'


def test_x_forwarded_proto_alone_is_ignored() -> None:
    assert call(http_scope([('x-forwarded-proto', 'https')]))['scheme'] == 'http'


@pytest.mark.parametrize('proto', ['ftp', 'HTTPS', 'https ,http', 'javascript'])
def test_other_protos_are_ignored(proto: str) -> None:
    seen = call(http_scope([('x-forwarded-for', '1.1.1.1'), ('x-forwarded-proto', proto)]))
    assert seen['client'] == ('1.1.1.1', 0)
    assert seen['scheme'] == 'http'


def test_first_non_empty_x_forwarded_proto_wins() -> None:
    scope = http_scope(
        [
            ('x-forwarded-proto', ''),
            ('x-forwarded-proto', ' https '),
            ('x-forwarded-proto', 'http'),
            ('x-forwarded-for', '1.1.1.1'),
        ]
    )
    assert call(scope)['scheme'] == 'https'


@pytest.mark.parametrize('proto', ['http', 'https', 'ws', 'wss'])
def test_http_scope_takes_the_proto_as_is(proto: str) -> None:
    assert call(http_scope([('x-forwarded-for', '1.1.1.1'), ('x-forwarded-proto', proto)]))['scheme'] == proto


@pytest.mark.parametrize(('proto', 'scheme'), [('http', 'ws'), ('https', 'wss'), ('ws', 'ws'), ('wss', 'wss')])
def test_websocket_scope_maps_http_to_ws(proto: str, scheme: str) -> None:
    scope = http_scope([('x-forwarded-for', '1.1.1.1'), ('x-forwarded-proto', proto)], kind='websocket', scheme='ws')
    seen = call(scope)
    assert seen['scheme'] == scheme
    assert seen['client'] == ('1.1.1.1', 0)


def test_forwarded_header_is_ignored_by_default() -> None:
    seen = call(http_scope([('forwarded', 'for=1.1.1.1;proto=https')]))
    assert seen['client'] == ('127.0.0.1', '54321')
    assert seen['scheme'] == 'http'


def test_forwarded_host_is_off_by_default() -> None:
    scope = http_scope([('x-forwarded-for', '1.1.1.1'), ('x-forwarded-host', 'example.com')])
    seen = call(scope)
    assert header(seen, b'host') == [b'127.0.0.1:8000']
    assert seen['server'] == ('127.0.0.1', '8000')


# -- forwarded_host=True -----------------------------------------------------------------------


def test_x_forwarded_host_rewrites_host_header_and_server() -> None:
    headers = [('x-forwarded-for', '1.1.1.1'), ('x-forwarded-proto', 'https'), ('x-forwarded-host', 'example.com')]
    scope = http_scope(headers)
    original_headers = scope['headers']
    original_copy = list(original_headers)
    seen = call(scope, forwarded_host=True)
    assert header(seen, b'host') == [b'example.com']
    assert seen['headers'][0] == (b'host', b'example.com')  # where the old one was
    assert seen['server'] == ('example.com', '443')  # the port typed like the server's own
    assert original_headers == original_copy  # the server's list is left alone


def test_x_forwarded_host_with_port_and_x_forwarded_port() -> None:
    headers = [('x-forwarded-for', '1.1.1.1'), ('x-forwarded-host', 'example.com:8080')]
    seen = call(http_scope(headers), forwarded_host=True)
    assert header(seen, b'host') == [b'example.com:8080']
    assert seen['server'] == ('example.com', '8080')
    seen = call(http_scope([*headers, ('x-forwarded-port', '9443')]), forwarded_host=True)
    assert header(seen, b'host') == [b'example.com:9443']
    assert seen['server'] == ('example.com', '9443')


def test_x_forwarded_port_alone_changes_the_port_of_the_own_host() -> None:
    seen = call(http_scope([('x-forwarded-for', '1.1.1.1'), ('x-forwarded-port', '8443')]), forwarded_host=True)
    assert header(seen, b'host') == [b'127.0.0.1:8443']
    assert seen['server'] == ('127.0.0.1', '8443')


def test_first_entry_of_x_forwarded_host_is_used() -> None:
    scope = http_scope([('x-forwarded-for', '1.1.1.1'), ('x-forwarded-host', 'a.example, b.example')])
    assert header(call(scope, forwarded_host=True), b'host') == [b'a.example']


def test_ipv6_forwarded_host() -> None:
    scope = http_scope([('x-forwarded-for', '1.1.1.1'), ('x-forwarded-host', '[2001:db8::1]:8080')])
    seen = call(scope, forwarded_host=True)
    assert header(seen, b'host') == [b'[2001:db8::1]:8080']
    assert seen['server'] == ('2001:db8::1', '8080')


def test_server_port_stays_an_int_when_the_server_gave_an_int() -> None:
    scope = http_scope([('x-forwarded-for', '1.1.1.1'), ('x-forwarded-host', 'example.com')])
    scope['server'] = ('127.0.0.1', 8000)
    assert call(scope, forwarded_host=True)['server'] == ('example.com', 80)


def test_missing_host_header_gets_one() -> None:
    scope = http_scope([('x-forwarded-for', '1.1.1.1'), ('x-forwarded-host', 'example.com')])
    scope['headers'] = [item for item in scope['headers'] if item[0] != b'host']
    seen = call(scope, forwarded_host=True)
    assert seen['headers'][0] == (b'host', b'example.com')


def test_duplicate_host_headers_collapse_to_the_forwarded_one() -> None:
    scope = http_scope([('host', 'second'), ('x-forwarded-for', '1.1.1.1'), ('x-forwarded-host', 'example.com')])
    assert header(call(scope, forwarded_host=True), b'host') == [b'example.com']


@pytest.mark.parametrize('bad', ['evil.com/x', 'a b', 'evil.com:99999', 'user@evil.com'])
def test_invalid_forwarded_host_is_ignored(bad: str) -> None:
    seen = call(http_scope([('x-forwarded-for', '1.1.1.1'), ('x-forwarded-host', bad)]), forwarded_host=True)
    assert header(seen, b'host') == [b'127.0.0.1:8000']
    assert seen['client'] == ('1.1.1.1', 0)


def test_x_forwarded_host_needs_x_forwarded_for() -> None:
    seen = call(http_scope([('x-forwarded-host', 'example.com')]), forwarded_host=True)
    assert header(seen, b'host') == [b'127.0.0.1:8000']


# -- forwarded=True (RFC 7239) -----------------------------------------------------------------


def test_forwarded_header_rewrites_client_with_its_port_and_scheme() -> None:
    seen = call(http_scope([('forwarded', 'for="[2001:db8::7]:4711";proto=HTTPS')]), forwarded=True)
    assert seen['client'] == ('2001:db8::7', 4711)
    assert seen['scheme'] == 'https'


def test_forwarded_mode_ignores_x_forwarded_headers() -> None:
    scope = http_scope([('x-forwarded-for', '1.1.1.1'), ('x-forwarded-proto', 'https')])
    seen = call(scope, forwarded=True)
    assert seen['client'] == ('127.0.0.1', '54321')
    assert seen['scheme'] == 'http'


def test_forwarded_scan_over_lines_and_elements() -> None:
    scope = http_scope([('forwarded', 'for=192.0.2.1;proto=https'), ('forwarded', 'for=10.0.0.2, for=10.0.0.1')])
    seen = call(scope, '127.0.0.1, 10.0.0.0/8', forwarded=True)
    assert seen['client'] == ('192.0.2.1', 0)
    assert seen['scheme'] == 'https'


def test_forwarded_hidden_client_keeps_the_peer_but_applies_proto_and_host() -> None:
    scope = http_scope([('forwarded', 'for=_hidden;proto=https;host=example.com')])
    seen = call(scope, forwarded=True, forwarded_host=True)
    assert seen['client'] == ('127.0.0.1', '54321')
    assert seen['scheme'] == 'https'
    assert header(seen, b'host') == [b'example.com']
    assert seen['server'] == ('example.com', '443')


def test_forwarded_element_without_anything_usable_changes_nothing() -> None:
    seen = call(http_scope([('forwarded', 'by=10.0.0.1')]), forwarded=True)
    assert seen['client'] == ('127.0.0.1', '54321')


def test_forwarded_websocket_scheme() -> None:
    seen = call(http_scope([('forwarded', 'for=1.1.1.1;proto=https')], kind='websocket', scheme='ws'), forwarded=True)
    assert seen['scheme'] == 'wss'
