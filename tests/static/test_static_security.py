"""Traversal attempts against a real server: every spelling gets a 404 and never a byte of the
secret that sits next to the mount (``root/secret.txt``, ``root/public2/secret.txt``).

Requests go out byte for byte over a socket: httpx and curl would resolve ``..`` before sending.
"""

from __future__ import annotations

from typing import Any

import pytest

from testkit.process import ServerProcess

ATTEMPTS = [
    b'/static/../secret.txt',
    b'/static/%2e%2e/secret.txt',
    b'/static/%2E%2E/secret.txt',
    b'/static/%2E%2E%2Fsecret.txt',
    b'/static/..%2fsecret.txt',
    b'/static/..%2Fsecret.txt',
    b'/static/.%2e/secret.txt',
    b'/static/..\\secret.txt',
    b'/static/..%5csecret.txt',
    b'/static/..%5Csecret.txt',
    b'/static/%5c..%5csecret.txt',
    b'/static/%252e%252e/secret.txt',
    b'/static/%252e%252e%252fsecret.txt',
    b'/static/sub/../../secret.txt',
    b'/static/sub/%2e%2e/%2e%2e/secret.txt',
    b'/static/./../secret.txt',
    b'/static/../public2/secret.txt',
    b'/static/link-out',
    b'/static/dir-out/secret.txt',
    b'/static/sibling/secret.txt',
    b'/static//etc/passwd',
    b'/static/%2fetc%2fpasswd',
    b'/static/hello.txt%00',
    b'/static/%00/../secret.txt',
    b'/static/secret.txt%00.png',
    b'/assets/../secret.txt',
    b'/assets/../public/hello.txt',
    b'/assets/%2e%2e/public2/secret.txt',
]


@pytest.mark.parametrize('target', ATTEMPTS, ids=[target.decode() for target in ATTEMPTS])
@pytest.mark.parametrize('method', [b'GET', b'HEAD'])
def test_traversal_is_404_and_never_the_secret(
    server: ServerProcess, raw: Any, tree: Any, target: bytes, method: bytes
) -> None:
    response = raw(server.port, target, method)
    assert response.status == 404
    assert tree.secret not in response.body
    assert b'root:' not in response.body
    if method == b'GET':
        assert response.body == b'Not found'
    # A traversal never falls through to the app either.
    assert not response.body.startswith(b'app ')


def test_traversal_with_range_and_conditionals_is_still_404(server: ServerProcess, raw: Any, tree: Any) -> None:
    response = raw(
        server.port,
        b'/static/%2e%2e/secret.txt',
        headers=((b'range', b'bytes=0-3'), (b'if-range', b'"x"'), (b'if-none-match', b'*')),
    )
    assert response.status == 404
    assert tree.secret[:4] not in response.body


def test_post_cannot_traverse_either(server: ServerProcess, raw: Any, tree: Any) -> None:
    response = raw(server.port, b'/static/../secret.txt', b'POST', ((b'content-length', b'0'),))
    assert response.status == 404
    assert tree.secret not in response.body


def test_raw_nul_in_the_request_line_is_refused(server: ServerProcess, raw: Any, tree: Any) -> None:
    response = raw(server.port, b'/static/hello.txt\x00/../../secret.txt')
    assert response.status == 400
    assert tree.secret not in response.body


@pytest.mark.skipif(not hasattr(__import__('os'), 'mkfifo'), reason='no FIFOs on this platform')
def test_fifo_in_the_mount_is_404_and_does_not_hang_the_worker(server: ServerProcess, raw: Any) -> None:
    assert raw(server.port, b'/static/pipe').status == 404
    assert raw(server.port, b'/static/hello.txt').body == b'hello, static\n'


def test_dot_segments_that_stay_inside_the_mount_are_served(server: ServerProcess, raw: Any) -> None:
    # Upstream canonicalises and then checks containment, so these are fine.
    assert raw(server.port, b'/static/sub/../hello.txt').body == b'hello, static\n'
    assert raw(server.port, b'/static/sub/%2e%2e/hello.txt').body == b'hello, static\n'
    assert raw(server.port, b'/static/link-in').body == b'hello, static\n'


def test_absolute_path_outside_any_route_goes_to_the_app(server: ServerProcess, raw: Any, tree: Any) -> None:
    response = raw(server.port, b'//etc/passwd')
    assert response.status == 200
    assert response.body == b'app GET //etc/passwd'
    response = raw(server.port, b'/secret.txt')
    assert response.body == b'app GET /secret.txt'
