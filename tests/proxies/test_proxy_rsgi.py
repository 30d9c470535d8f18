"""wrap_rsgi_with_proxy_headers, driven with read-only RSGI scope objects and a recording app
(the end-to-end tests through the server's RSGI interface are in test_proxy_e2e.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from granian_proxies import wrap_rsgi_with_proxy_headers
from granian_proxies.rsgi import ForwardedScope, HostOverrideHeaders, split_hostport

MakeScope = Callable[..., Any]


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, Any]] = []

    async def __call__(self, scope: Any, protocol: Any) -> None:
        self.calls.append((scope, protocol))


def call(scope: Any, trusted: Any = '127.0.0.1', **options: Any) -> Any:
    inner = Recorder()
    protocol = object()
    asyncio.run(_drive(wrap_rsgi_with_proxy_headers(inner, trusted, **options), scope, protocol))
    seen_scope, seen_protocol = inner.calls[0]
    assert seen_protocol is protocol
    return seen_scope


async def _drive(app: Any, scope: Any, protocol: Any) -> None:
    await app(scope, protocol)


def test_trusted_peer_gets_a_scope_with_client_and_scheme_rewritten(make_rsgi_scope: MakeScope) -> None:
    scope = make_rsgi_scope(
        '127.0.0.1:54321',
        [('host', 'localhost'), ('x-forwarded-for', '203.0.113.7'), ('x-forwarded-proto', 'https')],
        path='/p',
        query_string='a=1',
    )
    seen = call(scope)
    assert isinstance(seen, ForwardedScope)
    assert seen.client == '203.0.113.7:0'
    assert seen.scheme == 'https'
    # Everything else is the server's.
    assert (seen.proto, seen.path, seen.query_string, seen.method) == ('http', '/p', 'a=1', 'GET')
    assert (seen.rsgi_version, seen.http_version, seen.server, seen.authority) == ('1.6', '1.1', '127.0.0.1:8000', None)
    assert seen.headers is scope.headers


def test_untrusted_peer_gets_the_servers_scope_object(make_rsgi_scope: MakeScope) -> None:
    scope = make_rsgi_scope('198.51.100.1:1', [('x-forwarded-for', '203.0.113.7')])
    assert call(scope) is scope


def test_trusted_peer_without_forwarding_headers_gets_the_servers_scope_object(make_rsgi_scope: MakeScope) -> None:
    scope = make_rsgi_scope('127.0.0.1:1', [('x-forwarded-proto', 'https')])
    assert call(scope) is scope


def test_forwarded_scope_is_read_only(make_rsgi_scope: MakeScope) -> None:
    seen = call(make_rsgi_scope('127.0.0.1:1', [('x-forwarded-for', '1.1.1.1')]))
    with pytest.raises(AttributeError):
        seen.client = 'x'
    with pytest.raises(AttributeError):
        seen.path = '/x'
    with pytest.raises(AttributeError):
        del seen.scheme
    with pytest.raises(AttributeError):
        _ = seen.no_such_attribute


def test_ipv6_client_is_bracketed(make_rsgi_scope: MakeScope) -> None:
    scope = make_rsgi_scope('[fd00::1]:4000', [('x-forwarded-for', '2001:db8::7, fd00::2')])
    assert call(scope, 'fd00::/8').client == '[2001:db8::7]:0'


@pytest.mark.parametrize(('proto', 'scheme'), [('http', 'http'), ('https', 'https'), ('ws', 'http'), ('wss', 'https')])
def test_schemes_stay_http_or_https_also_for_websockets(make_rsgi_scope: MakeScope, proto: str, scheme: str) -> None:
    headers = [('x-forwarded-for', '1.1.1.1'), ('x-forwarded-proto', proto)]
    assert call(make_rsgi_scope('127.0.0.1:1', headers, proto='ws')).scheme == scheme


def test_forwarded_client_port_and_ipv6(make_rsgi_scope: MakeScope) -> None:
    scope = make_rsgi_scope('127.0.0.1:1', [('forwarded', 'for="[2001:db8::7]:4711";proto=https')])
    seen = call(scope, forwarded=True)
    assert seen.client == '[2001:db8::7]:4711'
    assert seen.scheme == 'https'


def test_forwarded_host_rewrites_server_and_the_host_header(make_rsgi_scope: MakeScope) -> None:
    headers = [
        ('host', '127.0.0.1:8000'),
        ('x-forwarded-for', '1.1.1.1'),
        ('x-forwarded-proto', 'https'),
        ('x-forwarded-host', 'example.com'),
        ('accept', 'a'),
        ('accept', 'b'),
    ]
    seen = call(make_rsgi_scope('127.0.0.1:1', headers), forwarded_host=True)
    assert seen.server == 'example.com:443'
    assert seen.authority is None
    assert seen.headers.get('host') == 'example.com'
    assert seen.headers['host'] == 'example.com'
    assert seen.headers.get_all('host') == ['example.com']
    assert seen.headers.get('accept') == 'a'
    assert seen.headers.get_all('accept') == ['a', 'b']
    assert seen.headers.get('missing', 'default') == 'default'
    assert 'host' in seen.headers
    assert 'accept' in seen.headers
    assert 'missing' not in seen.headers


def test_forwarded_host_replaces_an_http2_authority(make_rsgi_scope: MakeScope) -> None:
    headers = [('x-forwarded-for', '1.1.1.1'), ('x-forwarded-host', 'example.com:8443')]
    seen = call(
        make_rsgi_scope('127.0.0.1:1', headers, authority='127.0.0.1:8000', http_version='2'), forwarded_host=True
    )
    assert seen.authority == 'example.com:8443'
    assert seen.server == 'example.com:8443'
    assert seen.headers.keys()[0] == 'host'  # it had no host header: one is added


def test_forwarded_port_alone_uses_the_authority_when_there_is_no_host_header(make_rsgi_scope: MakeScope) -> None:
    headers = [('x-forwarded-for', '1.1.1.1'), ('x-forwarded-port', '9443')]
    seen = call(make_rsgi_scope('127.0.0.1:1', headers, authority='example.com'), forwarded_host=True)
    assert seen.authority == 'example.com:9443'
    assert seen.headers.get('host') == 'example.com:9443'


def test_host_override_headers_mapping() -> None:
    class Base:
        pairs = [('host', 'old'), ('a', '1'), ('host', 'old2'), ('a', '2')]

        def keys(self) -> list[str]:
            return ['host', 'a']

        def items(self) -> list[tuple[str, str]]:
            return [('host', 'old'), ('host', 'old2'), ('a', '1'), ('a', '2')]

        def get(self, key: str, default: Any = None) -> Any:
            return {'host': 'old', 'a': '1'}.get(key, default)

        def get_all(self, key: str) -> list[str]:
            return [value for name, value in self.items() if name == key]

        def __contains__(self, key: object) -> bool:
            return key in ('host', 'a')

        def __getitem__(self, key: str) -> str:
            return {'host': 'old', 'a': '1'}[key]

    headers = HostOverrideHeaders(Base(), 'new')
    assert headers.keys() == ['host', 'a']
    assert list(headers) == ['host', 'a']
    assert len(headers) == 2
    assert headers.items() == [('host', 'new'), ('a', '1'), ('a', '2')]
    assert headers.values() == ['new', '1', '2']
    assert headers.get('Host') == 'new'
    assert headers['a'] == '1'
    with pytest.raises(KeyError):
        headers['b']


@pytest.mark.parametrize(
    ('address', 'parts'),
    [
        ('127.0.0.1:80', ('127.0.0.1', '80')),
        ('[::1]:80', ('::1', '80')),
        ('[::1]', ('::1', '')),
        ('unix', ('unix', '')),
        ('', ('', '')),
        ('::1', ('::1', '')),
    ],
)
def test_split_hostport(address: str, parts: tuple[str, str]) -> None:
    assert split_hostport(address) == parts


# -- the app's hooks ---------------------------------------------------------------------------


def test_plain_function_app_keeps_its_identity(make_rsgi_scope: MakeScope) -> None:
    async def app(scope: Any, protocol: Any) -> None:
        """Doc."""

    wrapped = wrap_rsgi_with_proxy_headers(app)
    assert wrapped.__wrapped__ is app  # type: ignore[attr-defined]
    assert wrapped.__name__ == 'app'  # type: ignore[attr-defined]
    assert wrapped.__doc__ == 'Doc.'
    loop = asyncio.new_event_loop()
    try:
        # Hooks of an app that has none are harmless no-ops.
        wrapped.__rsgi_init__(loop)
        wrapped.__rsgi_del__(loop)
    finally:
        loop.close()


def test_app_object_hooks_are_kept(make_rsgi_scope: MakeScope) -> None:
    events: list[tuple[str, Any]] = []

    class App:
        async def __call__(self, scope: Any, protocol: Any) -> None:
            events.append(('asgi-style __call__', scope))

        async def __rsgi__(self, scope: Any, protocol: Any) -> None:
            events.append(('__rsgi__', scope.client))

        def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
            events.append(('init', loop))

        def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
            events.append(('del', loop))

    wrapped = wrap_rsgi_with_proxy_headers(App())
    loop = asyncio.new_event_loop()
    try:
        wrapped.__rsgi_init__(loop)
        scope = make_rsgi_scope('127.0.0.1:1', [('x-forwarded-for', '1.1.1.1')])
        # A server calls __rsgi__ when the target has one; plain __call__ must mean the same.
        loop.run_until_complete(_drive(wrapped.__rsgi__, scope, None))
        loop.run_until_complete(_drive(wrapped, scope, None))
        wrapped.__rsgi_del__(loop)
    finally:
        loop.close()
    assert events == [('init', loop), ('__rsgi__', '1.1.1.1:0'), ('__rsgi__', '1.1.1.1:0'), ('del', loop)]


def test_the_servers_scope_is_not_modified(make_rsgi_scope: MakeScope) -> None:
    scope = make_rsgi_scope('127.0.0.1:1', [('x-forwarded-for', '1.1.1.1'), ('x-forwarded-proto', 'https')])
    before = (scope.client, scope.scheme)
    call(scope)
    assert (scope.client, scope.scheme) == before
