"""wrap_wsgi_with_proxy_headers, driven with environ dicts and a recording inner app."""

from __future__ import annotations

from typing import Any

import pytest

from granian_proxies import wrap_wsgi_with_proxy_headers


def environ(remote: str = '127.0.0.1', **headers: str) -> dict[str, Any]:
    env: dict[str, Any] = {
        'REMOTE_ADDR': remote,
        'SERVER_NAME': '127.0.0.1',
        'SERVER_PORT': '8000',
        'HTTP_HOST': '127.0.0.1:8000',
        'wsgi.url_scheme': 'http',
    }
    env.update({f'HTTP_{name.upper()}': value for name, value in headers.items()})
    return env


def call(env: dict[str, Any], trusted: Any = '127.0.0.1', **options: Any) -> dict[str, Any]:
    seen: list[dict[str, Any]] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(dict(environ))
        return [b'body']

    assert wrap_wsgi_with_proxy_headers(app, trusted, **options)(env, None) == [b'body']  # type: ignore[arg-type]
    return seen[0]


def test_wrapper_keeps_the_apps_identity() -> None:
    def app(environ: Any, start_response: Any) -> list[bytes]:
        """Doc."""
        return []

    wrapped = wrap_wsgi_with_proxy_headers(app)
    assert wrapped.__wrapped__ is app  # type: ignore[attr-defined]
    assert wrapped.__name__ == 'app'
    assert wrapped.__doc__ == 'Doc.'


def test_trusted_peer_rewrites_remote_addr_and_scheme() -> None:
    seen = call(environ(X_FORWARDED_FOR='203.0.113.7, 127.0.0.1', X_FORWARDED_PROTO='https'))
    assert seen['REMOTE_ADDR'] == '203.0.113.7'
    assert seen['wsgi.url_scheme'] == 'https'


def test_untrusted_peer_changes_nothing() -> None:
    env = environ('198.51.100.1', X_FORWARDED_FOR='203.0.113.7', X_FORWARDED_PROTO='https')
    assert call(dict(env)) == env


def test_missing_remote_addr_changes_nothing() -> None:
    env = environ(X_FORWARDED_FOR='203.0.113.7')
    del env['REMOTE_ADDR']
    assert call(dict(env), '*') == env


@pytest.mark.parametrize('proto', ['ws', 'wss', 'ftp', ''])
def test_only_http_and_https_set_the_scheme(proto: str) -> None:
    seen = call(environ(X_FORWARDED_FOR='203.0.113.7', X_FORWARDED_PROTO=proto))
    assert seen['REMOTE_ADDR'] == '203.0.113.7'
    assert seen['wsgi.url_scheme'] == 'http'


def test_proto_alone_is_ignored() -> None:
    assert call(environ(X_FORWARDED_PROTO='https'))['wsgi.url_scheme'] == 'http'


def test_ipv6_remote_addr_and_cidr() -> None:
    seen = call(environ('fd00::1', X_FORWARDED_FOR='2001:db8::7, fd00::3'), ['fd00::/8'])
    assert seen['REMOTE_ADDR'] == '2001:db8::7'


def test_empty_forwarded_for_changes_nothing() -> None:
    assert call(environ(X_FORWARDED_FOR='  '))['REMOTE_ADDR'] == '127.0.0.1'


def test_forwarded_host_sets_http_host_server_name_and_port() -> None:
    env = environ(X_FORWARDED_FOR='1.1.1.1', X_FORWARDED_PROTO='https', X_FORWARDED_HOST='example.com')
    seen = call(env, forwarded_host=True)
    assert (seen['HTTP_HOST'], seen['SERVER_NAME'], seen['SERVER_PORT']) == ('example.com', 'example.com', '443')
    env = environ(X_FORWARDED_FOR='1.1.1.1', X_FORWARDED_HOST='[2001:db8::1]', X_FORWARDED_PORT='8080')
    seen = call(env, forwarded_host=True)
    assert (seen['HTTP_HOST'], seen['SERVER_NAME'], seen['SERVER_PORT']) == (
        '[2001:db8::1]:8080',
        '2001:db8::1',
        '8080',
    )


def test_forwarded_port_alone_keeps_the_own_host_name() -> None:
    seen = call(environ(X_FORWARDED_FOR='1.1.1.1', X_FORWARDED_PORT='9000'), forwarded_host=True)
    assert (seen['HTTP_HOST'], seen['SERVER_NAME'], seen['SERVER_PORT']) == ('127.0.0.1:9000', '127.0.0.1', '9000')


def test_forwarded_host_is_off_by_default() -> None:
    seen = call(environ(X_FORWARDED_FOR='1.1.1.1', X_FORWARDED_HOST='example.com'))
    assert seen['HTTP_HOST'] == '127.0.0.1:8000'


def test_rfc_7239_forwarded() -> None:
    # A WSGI server joins repeated headers with ','.
    env = environ(FORWARDED='for=192.0.2.1;proto=https;host=example.com,for=10.0.0.1')
    seen = call(env, ['127.0.0.1', '10.0.0.0/8'], forwarded=True, forwarded_host=True)
    assert seen['REMOTE_ADDR'] == '192.0.2.1'
    assert seen['wsgi.url_scheme'] == 'https'
    assert seen['HTTP_HOST'] == 'example.com'


def test_rfc_7239_wss_proto_does_not_set_a_wsgi_scheme() -> None:
    seen = call(environ(FORWARDED='for=192.0.2.1;proto=wss'), forwarded=True)
    assert seen['REMOTE_ADDR'] == '192.0.2.1'
    assert seen['wsgi.url_scheme'] == 'http'


def test_forwarded_mode_ignores_x_forwarded_for() -> None:
    assert call(environ(X_FORWARDED_FOR='1.1.1.1'), forwarded=True)['REMOTE_ADDR'] == '127.0.0.1'
