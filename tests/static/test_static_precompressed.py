"""Precompressed static files end to end: a real server with ``static_path_precompressed``, and
curl (``--compressed``, which decodes zstd, br and gzip), httpx over HTTP/1.1 and HTTP/2, and a raw
socket client (for a request without ``Accept-Encoding``) as clients.

``fixtures/site.css.br`` and ``fixtures/site.css.zst`` were made once from ``fixtures/site.css``
with ``brotli -q 11`` and ``zstd -19`` (the standard library compresses neither); the ``.gz`` files
are made here with :mod:`gzip`.
"""

from __future__ import annotations

import email.utils
import gzip
import random
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from testkit.process import ServerProcess, api_server

FIXTURES = Path(__file__).parent / 'fixtures'
APPS = Path(__file__).parent / 'apps'
CSS = (FIXTURES / 'site.css').read_bytes()
VARIANTS = {
    'br': (FIXTURES / 'site.css.br').read_bytes(),
    'zstd': (FIXTURES / 'site.css.zst').read_bytes(),
    'gzip': gzip.compress(CSS, mtime=0),
}
SUFFIX = {'br': '.br', 'zstd': '.zst', 'gzip': '.gz'}
#: Incompressible, so its .gz is larger than what is read inline (64 KiB): it goes through send_file.
BIG = random.Random(577).randbytes(200_000)
BIG_GZ = gzip.compress(BIG, mtime=0)
CURL = shutil.which('curl')


@dataclass
class Site:
    public: Path
    text: bytes = b'only gzip here\n' * 20


@pytest.fixture(scope='module')
def site(tree: Any) -> Site:
    """Variants beside files in the shared tree (the ``server`` fixture serves it without the option)."""
    public = tree.public
    (public / 'site.css').write_bytes(CSS)
    for coding, data in VARIANTS.items():
        (public / f'site.css{SUFFIX[coding]}').write_bytes(data)
    result = Site(public)
    (public / 'only-gz.txt').write_bytes(result.text)
    (public / 'only-gz.txt.gz').write_bytes(gzip.compress(result.text, mtime=0))
    (public / 'big.txt').write_bytes(BIG)
    (public / 'big.txt.gz').write_bytes(BIG_GZ)
    (public / 'sub' / 'index.html.gz').write_bytes(gzip.compress(b'<p>index</p>', mtime=0))
    # A variant that is a symlink out of the mount is never sent.
    (public / 'escape.txt').write_bytes(b'escape plain')
    (public / 'escape.txt.gz').symlink_to(tree.root / 'secret.txt')
    return result


@pytest.fixture(scope='module')
def precompressed(tree: Any, site: Site) -> Iterator[ServerProcess]:
    proc = api_server(
        'static_echo:asgi_app',
        interface='asgi',
        working_dir=str(APPS),
        static_path_mount=[str(tree.public)],
        static_path_dir_to_file='index.html',
        static_path_expires=3600,
        static_path_precompressed=True,
    ).ready()
    yield proc
    assert proc.stop() == 0


@pytest.fixture(scope='module')
def client(precompressed: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=precompressed.url, timeout=10) as http:
        yield http


@pytest.fixture(scope='module')
def h2_client(precompressed: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=precompressed.url, http1=False, http2=True, timeout=10) as http:
        yield http


def fetch(http: httpx.Client, path: str, method: str = 'GET', **headers: str) -> tuple[httpx.Response, bytes]:
    """The response and its body exactly as sent (httpx would otherwise decode gzip).

    ``accept_encoding='br'`` sends ``accept-encoding: br`` (and replaces httpx's own).
    """
    fields = {name.replace('_', '-'): value for name, value in headers.items()}
    with http.stream(method, path, headers=fields) as response:
        return response, b''.join(response.iter_raw())


def curl(*args: str) -> subprocess.CompletedProcess[bytes]:
    assert CURL is not None, 'curl is needed for these tests'
    return subprocess.run([CURL, '-s', '--max-time', '10', *args], capture_output=True, check=True, timeout=20)


# -- which file a client gets ------------------------------------------------------------------


@pytest.mark.parametrize(
    ('accept', 'coding'),
    [
        ('gzip', 'gzip'),
        ('br', 'br'),
        ('zstd', 'zstd'),
        ('BR', 'br'),
        ('x-gzip', 'gzip'),
        # Chrome's and Firefox's headers: equal weights, zstd first (upstream's pull request #791).
        ('gzip, deflate, br, zstd', 'zstd'),
        ('gzip, deflate, br', 'br'),
        ('br;q=0.5, gzip', 'gzip'),
        ('zstd;q=0.1, br;q=0.2, gzip;q=0.3', 'gzip'),
        ('*', 'zstd'),
        ('*;q=0.5, zstd;q=0', 'br'),
        ('identity', None),
        ('gzip;q=0.5, identity', None),
        ('deflate', None),
        ('gzip;q=0, br;q=0, zstd;q=0', None),
        ('identity;q=0, deflate', None),
        ('gzip;q=nope', None),
    ],
)
def test_the_coding_follows_accept_encoding(client: httpx.Client, accept: str, coding: str | None) -> None:
    response, body = fetch(client, '/static/site.css', accept_encoding=accept)
    assert response.status_code == 200
    expected = CSS if coding is None else VARIANTS[coding]
    assert body == expected
    assert response.headers.get('content-encoding') == coding
    assert response.headers['content-length'] == str(len(expected))
    # The original's type, not the variant's file name's.
    assert response.headers['content-type'] == 'text/css'
    assert response.headers['vary'] == 'accept-encoding'
    assert response.headers['cache-control'] == 'max-age=3600'


@pytest.mark.parametrize('accept', [None, b''])
def test_a_client_that_did_not_ask_gets_the_file_as_is(precompressed: ServerProcess, raw: Any, accept: bytes) -> None:
    headers = () if accept is None else ((b'accept-encoding', accept),)
    response = raw(precompressed.port, b'/static/site.css', headers=headers)
    assert response.status == 200
    assert response.body == CSS
    assert 'content-encoding' not in response.headers
    assert response.headers['vary'] == 'accept-encoding'


def test_the_best_variant_present_is_sent(client: httpx.Client, site: Site) -> None:
    response, body = fetch(client, '/static/only-gz.txt', accept_encoding='zstd, br, gzip')
    assert response.headers['content-encoding'] == 'gzip'
    assert gzip.decompress(body) == site.text
    # Accepting only codings it lacks: the file as is, still marked as varying.
    response, body = fetch(client, '/static/only-gz.txt', accept_encoding='br')
    assert (body, response.headers.get('content-encoding')) == (site.text, None)
    assert response.headers['vary'] == 'accept-encoding'


def test_a_file_without_variants_does_not_vary(client: httpx.Client) -> None:
    response, body = fetch(client, '/static/hello.txt', accept_encoding='gzip, br, zstd')
    assert body == b'hello, static\n'
    assert 'content-encoding' not in response.headers
    assert 'vary' not in response.headers


def test_a_variant_requested_by_its_own_name_is_just_a_file(client: httpx.Client) -> None:
    response, body = fetch(client, '/static/site.css.gz', accept_encoding='gzip')
    assert body == VARIANTS['gzip']
    assert response.headers['content-type'] == 'application/gzip'
    assert 'content-encoding' not in response.headers
    response, body = fetch(client, '/static/site.css.br', accept_encoding='br')
    assert body == VARIANTS['br']
    assert response.headers['content-type'] == 'application/octet-stream'
    assert 'content-encoding' not in response.headers


def test_the_index_file_has_variants_too(client: httpx.Client) -> None:
    response, body = fetch(client, '/static/sub/', accept_encoding='gzip')
    assert response.headers['content-encoding'] == 'gzip'
    assert response.headers['content-type'] == 'text/html'
    assert gzip.decompress(body) == b'<p>index</p>'


def test_a_variant_outside_the_mount_is_not_sent(client: httpx.Client, tree: Any) -> None:
    response, body = fetch(client, '/static/escape.txt', accept_encoding='gzip')
    assert body == b'escape plain'
    assert tree.secret not in body
    assert 'content-encoding' not in response.headers


def test_a_large_variant_goes_through_send_file(client: httpx.Client) -> None:
    response, body = fetch(client, '/static/big.txt', accept_encoding='gzip')
    assert response.headers['content-length'] == str(len(BIG_GZ))
    assert body == BIG_GZ
    assert gzip.decompress(body) == BIG
    response, body = fetch(client, '/static/big.txt', accept_encoding='gzip', range='bytes=100000-')
    assert response.status_code == 206
    assert body == BIG_GZ[100000:]


def test_without_the_option_variants_are_ignored(server: ServerProcess, site: Site) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        response, body = fetch(http, '/static/site.css', accept_encoding='br, gzip, zstd')
    assert body == CSS
    assert 'content-encoding' not in response.headers
    assert 'vary' not in response.headers


# -- validators, conditional requests and ranges, per representation -------------------------------


def test_each_representation_has_its_own_validators(client: httpx.Client, site: Site) -> None:
    tags = {}
    for coding in (None, 'gzip', 'br', 'zstd'):
        response, _ = fetch(client, '/static/site.css', 'HEAD', accept_encoding=coding or 'identity')
        tags[coding] = response.headers['etag']
        # Size and time are the file sent's: the variant's for a variant.
        stat = (site.public / ('site.css' + (SUFFIX[coding] if coding else ''))).stat()
        suffix = f'-{coding}' if coding else ''
        assert tags[coding] == f'"{stat.st_mtime_ns:x}-{stat.st_size:x}{suffix}"'
        assert response.headers['last-modified'] == email.utils.formatdate(int(stat.st_mtime), usegmt=True)
    assert len(set(tags.values())) == 4


def test_head_has_the_variant_headers_and_no_body(client: httpx.Client) -> None:
    get, _ = fetch(client, '/static/site.css', accept_encoding='br')
    head, body = fetch(client, '/static/site.css', 'HEAD', accept_encoding='br')
    assert head.status_code == 200
    assert body == b''
    assert head.headers['content-length'] == str(len(VARIANTS['br']))
    for name in ('content-type', 'content-encoding', 'vary', 'etag', 'last-modified', 'cache-control'):
        assert head.headers[name] == get.headers[name]


def test_if_none_match_per_representation(client: httpx.Client) -> None:
    br_tag = fetch(client, '/static/site.css', 'HEAD', accept_encoding='br')[0].headers['etag']
    response, body = fetch(client, '/static/site.css', accept_encoding='br', if_none_match=br_tag)
    assert response.status_code == 304
    assert body == b''
    assert response.headers['etag'] == br_tag
    assert response.headers['vary'] == 'accept-encoding'
    # The same tag does not match the gzip representation: that one is sent whole.
    response, body = fetch(client, '/static/site.css', accept_encoding='gzip', if_none_match=br_tag)
    assert response.status_code == 200
    assert body == VARIANTS['gzip']


def test_a_range_counts_compressed_bytes(client: httpx.Client) -> None:
    size = len(VARIANTS['zstd'])
    response, body = fetch(client, '/static/site.css', accept_encoding='zstd', range='bytes=10-29')
    assert response.status_code == 206
    assert body == VARIANTS['zstd'][10:30]
    assert response.headers['content-range'] == f'bytes 10-29/{size}'
    assert response.headers['content-encoding'] == 'zstd'
    assert response.headers['vary'] == 'accept-encoding'
    response, body = fetch(client, '/static/site.css', accept_encoding='zstd', range=f'bytes={size}-')
    assert response.status_code == 416
    assert response.headers['content-range'] == f'bytes */{size}'
    assert response.headers['vary'] == 'accept-encoding'


def test_if_range_compares_with_the_variant(client: httpx.Client) -> None:
    plain_tag = fetch(client, '/static/site.css', 'HEAD', accept_encoding='identity')[0].headers['etag']
    gzip_tag = fetch(client, '/static/site.css', 'HEAD', accept_encoding='gzip')[0].headers['etag']
    response, body = fetch(client, '/static/site.css', accept_encoding='gzip', range='bytes=0-9', if_range=gzip_tag)
    assert (response.status_code, body) == (206, VARIANTS['gzip'][:10])
    response, body = fetch(client, '/static/site.css', accept_encoding='gzip', range='bytes=0-9', if_range=plain_tag)
    assert (response.status_code, body) == (200, VARIANTS['gzip'])


# -- HTTP/2 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize('coding', ['zstd', 'br', 'gzip'])
def test_http2(h2_client: httpx.Client, coding: str) -> None:
    response, body = fetch(h2_client, '/static/site.css', accept_encoding=coding)
    assert response.http_version == 'HTTP/2'
    assert body == VARIANTS[coding]
    assert response.headers['content-encoding'] == coding
    assert response.headers['vary'] == 'accept-encoding'
    response, body = fetch(h2_client, '/static/site.css', accept_encoding=coding, range='bytes=0-4')
    assert (response.status_code, body) == (206, VARIANTS[coding][:5])
    response, body = fetch(h2_client, '/static/big.txt', accept_encoding='gzip')
    assert body == BIG_GZ


# -- curl ------------------------------------------------------------------------------------------


def test_curl_compressed_decodes_what_it_asked_for(precompressed: ServerProcess, tmp_path: Path) -> None:
    # curl 7.88 with --compressed asks for "deflate, gzip, br, zstd" and decodes the answer.
    headers = tmp_path / 'headers'
    result = curl('--compressed', '-D', str(headers), f'{precompressed.url}/static/site.css')
    assert result.stdout == CSS
    assert 'content-encoding: zstd' in headers.read_text().lower()


@pytest.mark.parametrize('coding', ['gzip', 'br', 'zstd'])
def test_curl_explicit_accept_encoding(precompressed: ServerProcess, tmp_path: Path, coding: str) -> None:
    headers = tmp_path / 'headers'
    url = f'{precompressed.url}/static/site.css'
    # Decoded by curl: the variant holds what the original does.
    decoded = curl('--compressed', '-H', f'Accept-Encoding: {coding}', '-D', str(headers), url)
    assert decoded.stdout == CSS
    assert f'content-encoding: {coding}' in headers.read_text().lower()
    # Not decoded: the variant's own bytes.
    assert curl('-H', f'Accept-Encoding: {coding}', url).stdout == VARIANTS[coding]


def test_curl_without_compressed_gets_the_file_as_is(precompressed: ServerProcess, tmp_path: Path) -> None:
    headers = tmp_path / 'headers'
    assert curl('-D', str(headers), f'{precompressed.url}/static/site.css').stdout == CSS
    text = headers.read_text().lower()
    assert 'content-encoding' not in text
    assert 'vary: accept-encoding' in text
