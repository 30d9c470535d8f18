"""Fixtures for the static-file tests: a file tree with a secret next to the mounts, servers that
mount it, and a raw HTTP/1.1 client that sends request targets exactly as written (httpx and
curl would normalise ``..`` away before the server could see it)."""

from __future__ import annotations

import os
import random
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from testkit.process import ServerProcess, api_server

APPS = Path(__file__).parent / 'apps'
SECRET = b'TOP SECRET, never served'
#: Larger than what is read inline (64 KiB), so it goes through the exchange's send_file.
BIG = random.Random(740).randbytes(300_000)
PNG = b'\x89PNG\r\n\x1a\n' + bytes(range(256))


@dataclass
class Tree:
    root: Path
    public: Path
    assets: Path
    secret: bytes = SECRET
    big: bytes = BIG
    png: bytes = PNG


def build_tree(root: Path) -> Tree:
    """``root/public`` and ``root/assets`` are mounts; ``root/secret.txt`` and ``root/public2`` are not."""
    (root / 'secret.txt').write_bytes(SECRET)
    public = root / 'public'
    public.mkdir()
    (public / 'hello.txt').write_bytes(b'hello, static\n')
    (public / 'style.css').write_bytes(b'body { color: red }\n')
    (public / 'image.png').write_bytes(PNG)
    (public / 'こんにちは.png').write_bytes(PNG)
    (public / 'big.bin').write_bytes(BIG)
    (public / 'empty.txt').write_bytes(b'')
    (public / 'archive.tar.gz').write_bytes(b'\x1f\x8b not really')
    (public / 'noext').write_bytes(b'raw')
    (public / 'sub').mkdir()
    (public / 'sub' / 'index.html').write_bytes(b'<p>index</p>')
    (public / 'sub' / 'page.txt').write_bytes(b'page')
    (public / 'link-in').symlink_to('hello.txt')
    (public / 'link-out').symlink_to(root / 'secret.txt')
    (public / 'dir-out').symlink_to(root)
    (root / 'public2').mkdir()
    (root / 'public2' / 'secret.txt').write_bytes(SECRET)
    (public / 'sibling').symlink_to(root / 'public2')
    if hasattr(os, 'mkfifo'):
        os.mkfifo(public / 'pipe')
    assets = root / 'assets'
    assets.mkdir()
    (assets / 'app.js').write_bytes(b'console.log(1)\n')
    return Tree(root, public, assets)


@pytest.fixture(scope='module')
def tree(tmp_path_factory: pytest.TempPathFactory) -> Tree:
    return build_tree(tmp_path_factory.mktemp('static'))


def start_server(interface: str, target: str, **options: object) -> ServerProcess:
    return api_server(target, interface=interface, working_dir=str(APPS), **options).ready()


@pytest.fixture(scope='module')
def server(tree: Tree) -> Iterator[ServerProcess]:
    """ASGI with two mounts, an index file and a one-hour max-age."""
    proc = start_server(
        'asgi',
        'static_echo:asgi_app',
        static_path_route=['/static', '/assets'],
        static_path_mount=[str(tree.public), str(tree.assets)],
        static_path_dir_to_file='index.html',
        static_path_expires=3600,
    )
    yield proc
    assert proc.stop() == 0


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes


def raw_request(
    port: int, target: bytes, method: bytes = b'GET', headers: tuple[tuple[bytes, bytes], ...] = ()
) -> RawResponse:
    """Send one request with ``target`` byte for byte and read the response to the connection's end."""
    extra = b''.join(name + b': ' + value + b'\r\n' for name, value in headers)
    request = method + b' ' + target + b' HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n' + extra + b'\r\n'
    with socket.create_connection(('127.0.0.1', port), timeout=10) as sock:
        sock.sendall(request)
        data = b''
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b'\r\n\r\n')
    status_line, *lines = head.decode('latin-1').split('\r\n')
    parsed: dict[str, str] = {}
    for line in lines:
        name, _, value = line.partition(':')
        parsed[name.strip().lower()] = value.strip()
    return RawResponse(int(status_line.split()[1]), parsed, body)


RawClient = Callable[..., RawResponse]


@pytest.fixture
def raw() -> RawClient:
    return raw_request
