"""Static files end to end on ASGI: a real server with two mounts, httpx and curl as clients.

Upstream's behaviour (404 without falling through, ``cache-control: max-age``, types from the
extension, non-ASCII names, the index file) and what this server adds (HEAD, ranges, validators
and conditional requests, 405 for other methods).
"""

from __future__ import annotations

import email.utils
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from testkit.process import ServerProcess

CURL = shutil.which('curl')


@pytest.fixture(scope='module')
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        yield http


def curl(*args: str) -> subprocess.CompletedProcess[bytes]:
    assert CURL is not None, 'curl is needed for these tests'
    return subprocess.run([CURL, '-s', '--max-time', '10', *args], capture_output=True, check=True, timeout=20)


# -- what upstream does ------------------------------------------------------------------------


def test_serves_a_file_with_type_length_and_cache_header(client: httpx.Client, tree: Any) -> None:
    response = client.get('/static/hello.txt')
    assert response.status_code == 200
    assert response.content == b'hello, static\n'
    assert response.headers['content-type'] == 'text/plain'
    assert response.headers['content-length'] == str(len(b'hello, static\n'))
    assert response.headers['cache-control'] == 'max-age=3600'
    assert response.headers['server'] == 'granian'
    assert 'date' in response.headers
    stat = (tree.public / 'hello.txt').stat()
    assert response.headers['etag'] == f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
    assert response.headers['last-modified'] == email.utils.formatdate(int(stat.st_mtime), usegmt=True)
    assert response.headers['accept-ranges'] == 'bytes'


@pytest.mark.parametrize(
    ('path', 'media_type'),
    [
        ('/static/image.png', 'image/png'),
        ('/static/style.css', 'text/css'),
        ('/static/sub/index.html', 'text/html'),
        ('/static/archive.tar.gz', 'application/gzip'),
        ('/static/noext', 'application/octet-stream'),
        ('/assets/app.js', 'text/javascript'),
    ],
)
def test_content_type_from_the_extension(client: httpx.Client, path: str, media_type: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers['content-type'] == media_type


def test_non_ascii_file_name(client: httpx.Client, tree: Any) -> None:
    response = client.get('/static/こんにちは.png')
    assert response.status_code == 200
    assert response.headers['content-type'] == 'image/png'
    assert response.content == tree.png


def test_the_query_string_is_not_part_of_the_file_name(client: httpx.Client) -> None:
    response = client.get('/static/hello.txt?v=3&x=%2e%2e')
    assert response.status_code == 200
    assert response.content == b'hello, static\n'


def test_several_mounts_each_on_its_route(client: httpx.Client) -> None:
    assert client.get('/assets/app.js').content == b'console.log(1)\n'
    # Each route reaches only its own mount.
    assert client.get('/assets/hello.txt').status_code == 404
    assert client.get('/static/app.js').status_code == 404


def test_dir_to_file(client: httpx.Client) -> None:
    for path in ('/static/sub', '/static/sub/'):
        response = client.get(path)
        assert response.status_code == 200
        assert response.content == b'<p>index</p>'
        assert response.headers['content-type'] == 'text/html'
    # The mount's root has no index file.
    assert client.get('/static/').status_code == 404
    assert client.get('/static').status_code == 404


def test_missing_file_is_404_and_never_reaches_the_app(client: httpx.Client, server: ServerProcess) -> None:
    line = r'\[INFO\] Request static file /static/missing.txt not found'
    before = server.count(line)
    response = client.get('/static/missing.txt')
    assert response.status_code == 404
    assert response.text == 'Not found'
    server.wait_for(line, more_than=before)


def test_a_large_file_through_send_file(client: httpx.Client, tree: Any) -> None:
    response = client.get('/static/big.bin')
    assert response.status_code == 200
    assert response.headers['content-length'] == str(len(tree.big))
    assert response.content == tree.big


def test_empty_file(client: httpx.Client) -> None:
    response = client.get('/static/empty.txt')
    assert response.status_code == 200
    assert response.content == b''
    assert response.headers['content-length'] == '0'


def test_keep_alive_across_static_and_app_requests(client: httpx.Client) -> None:
    for _ in range(3):
        assert client.get('/static/hello.txt').status_code == 200
        assert client.get('/static/big.bin').status_code == 200
        assert client.get('/app').text == 'app GET /app'
        assert client.get('/static/missing').status_code == 404


# -- what reaches the app ------------------------------------------------------------------------


@pytest.mark.parametrize('path', ['/', '/other', '/staticky', '/static-not', '/assetsx/app.js', '/secret.txt'])
def test_paths_matching_no_route_reach_the_app(client: httpx.Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.text == f'app GET {path}'


def test_other_errors_fall_through_to_the_app(client: httpx.Client) -> None:
    # ENOTDIR, as upstream: not a missing file, so the app gets its chance.
    response = client.get('/static/hello.txt/extra')
    assert response.text == 'app GET /static/hello.txt/extra'


def test_static_comes_before_websocket_handling(server: ServerProcess, raw: Any) -> None:
    response = raw(
        server.port,
        b'/static/hello.txt',
        headers=(
            (b'upgrade', b'websocket'),
            (b'connection', b'upgrade'),
            (b'sec-websocket-key', b'dGhlIHNhbXBsZSBub25jZQ=='),
            (b'sec-websocket-version', b'13'),
        ),
    )
    assert response.status == 200
    assert response.body == b'hello, static\n'


# -- methods -------------------------------------------------------------------------------------


def test_head_has_the_headers_and_no_body(client: httpx.Client, tree: Any) -> None:
    get = client.get('/static/big.bin')
    head = client.head('/static/big.bin')
    assert head.status_code == 200
    assert head.content == b''
    assert head.headers['content-length'] == str(len(tree.big))
    for name in ('content-type', 'etag', 'last-modified', 'cache-control', 'accept-ranges'):
        assert head.headers[name] == get.headers[name]
    assert client.head('/static/missing').status_code == 404


@pytest.mark.parametrize('method', ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'])
def test_other_methods_on_a_file_are_405(client: httpx.Client, method: str) -> None:
    response = client.request(method, '/static/hello.txt', content=b'payload')
    assert response.status_code == 405
    assert response.headers['allow'] == 'GET, HEAD'
    # The connection stays usable after an unread request body.
    assert client.get('/static/hello.txt').status_code == 200


def test_other_methods_on_a_missing_file_are_404(client: httpx.Client) -> None:
    assert client.post('/static/missing.txt', content=b'x').status_code == 404


def test_other_methods_elsewhere_reach_the_app(client: httpx.Client) -> None:
    assert client.post('/upload', content=b'x').text == 'app POST /upload'


# -- ranges and conditional requests -------------------------------------------------------------


@pytest.mark.parametrize(
    ('value', 'first', 'last'),
    [
        ('bytes=0-9', 0, 9),
        ('bytes=100-', 100, 299_999),
        ('bytes=-10', 299_990, 299_999),
        ('bytes=1000-200000', 1000, 200_000),
        ('bytes=299999-999999', 299_999, 299_999),
    ],
)
def test_single_range_is_206(client: httpx.Client, tree: Any, value: str, first: int, last: int) -> None:
    response = client.get('/static/big.bin', headers={'range': value})
    assert response.status_code == 206
    assert response.headers['content-range'] == f'bytes {first}-{last}/{len(tree.big)}'
    assert response.headers['content-length'] == str(last - first + 1)
    assert response.content == tree.big[first : last + 1]


def test_range_of_a_small_file(client: httpx.Client) -> None:
    response = client.get('/static/hello.txt', headers={'range': 'bytes=7-12'})
    assert response.status_code == 206
    assert response.content == b'static'
    assert response.headers['content-range'] == 'bytes 7-12/14'


@pytest.mark.parametrize('value', ['bytes=300000-', 'bytes=-0'])
def test_unsatisfiable_range_is_416(client: httpx.Client, value: str) -> None:
    response = client.get('/static/big.bin', headers={'range': value})
    assert response.status_code == 416
    assert response.headers['content-range'] == 'bytes */300000'
    assert response.content == b''


@pytest.mark.parametrize('value', ['bytes=0-1,5-6', 'bytes=9-1', 'pages=1-2', 'nonsense'])
def test_multi_or_invalid_range_gets_the_whole_file(client: httpx.Client, tree: Any, value: str) -> None:
    response = client.get('/static/big.bin', headers={'range': value})
    assert response.status_code == 200
    assert response.content == tree.big


def test_if_range(client: httpx.Client, tree: Any) -> None:
    validators = client.head('/static/big.bin').headers
    for current in (validators['etag'], validators['last-modified']):
        response = client.get('/static/big.bin', headers={'range': 'bytes=0-4', 'if-range': current})
        assert response.status_code == 206
        assert response.content == tree.big[:5]
    stale = client.get('/static/big.bin', headers={'range': 'bytes=0-4', 'if-range': '"stale"'})
    assert stale.status_code == 200
    assert stale.content == tree.big


def test_if_none_match_is_304(client: httpx.Client) -> None:
    etag = client.head('/static/hello.txt').headers['etag']
    for value in (etag, f'W/{etag}', '*', f'"other", {etag}'):
        response = client.get('/static/hello.txt', headers={'if-none-match': value})
        assert response.status_code == 304
        assert response.content == b''
        assert response.headers['etag'] == etag
        assert response.headers['cache-control'] == 'max-age=3600'
    assert client.get('/static/hello.txt', headers={'if-none-match': '"other"'}).status_code == 200


def test_if_modified_since(client: httpx.Client) -> None:
    last_modified = client.head('/static/hello.txt').headers['last-modified']
    assert client.get('/static/hello.txt', headers={'if-modified-since': last_modified}).status_code == 304
    assert client.head('/static/hello.txt', headers={'if-modified-since': last_modified}).status_code == 304
    past = email.utils.formatdate(0, usegmt=True)
    assert client.get('/static/hello.txt', headers={'if-modified-since': past}).status_code == 200
    assert client.get('/static/hello.txt', headers={'if-modified-since': 'garbage'}).status_code == 200


def test_if_none_match_wins_over_if_modified_since(client: httpx.Client) -> None:
    last_modified = client.head('/static/hello.txt').headers['last-modified']
    response = client.get('/static/hello.txt', headers={'if-none-match': '"other"', 'if-modified-since': last_modified})
    assert response.status_code == 200
    assert response.content == b'hello, static\n'


def test_validators_change_with_the_file(client: httpx.Client, tree: Any) -> None:
    path = tree.public / 'changing.txt'
    path.write_bytes(b'one')
    first = client.get('/static/changing.txt')
    path.write_bytes(b'second')
    second = client.get('/static/changing.txt', headers={'if-none-match': first.headers['etag']})
    assert second.status_code == 200
    assert second.content == b'second'
    assert second.headers['etag'] != first.headers['etag']


# -- curl ----------------------------------------------------------------------------------------


@pytest.mark.parametrize('version', ['--http1.1', '--http1.0'])
def test_curl_get(server: ServerProcess, tree: Any, version: str) -> None:
    assert curl(version, f'{server.url}/static/big.bin').stdout == tree.big
    assert curl(version, f'{server.url}/static/hello.txt').stdout == b'hello, static\n'


def test_curl_head_range_and_non_ascii(server: ServerProcess, tree: Any) -> None:
    head = curl('-I', f'{server.url}/static/hello.txt').stdout.decode()
    assert 'HTTP/1.1 200 OK' in head
    assert 'content-length: 14' in head
    assert curl('-r', '10-19', f'{server.url}/static/big.bin').stdout == tree.big[10:20]
    assert curl(f'{server.url}/static/%E3%81%93%E3%82%93%E3%81%AB%E3%81%A1%E3%81%AF.png').stdout == tree.png


def test_curl_path_as_is_traversal(server: ServerProcess, tree: Any) -> None:
    result = curl('--path-as-is', '-w', '%{http_code}', f'{server.url}/static/../secret.txt')
    assert result.stdout == b'Not found404'
    assert tree.secret not in result.stdout


def test_curl_conditional_get(server: ServerProcess) -> None:
    etag = next(
        line.split(':', 1)[1].strip()
        for line in curl('-I', f'{server.url}/static/hello.txt').stdout.decode().splitlines()
        if line.lower().startswith('etag:')
    )
    result = curl('-H', f'if-none-match: {etag}', '-w', '%{http_code}', f'{server.url}/static/hello.txt')
    assert result.stdout == b'304'
