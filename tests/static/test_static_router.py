"""The StaticFiles router on an in-memory HTTP/1.1 connection: what it takes, what it leaves to the
app, in which order pipelined answers leave, and that every response is valid HTTP/1.1 (checked
by an h11 client)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import h11
import pytest

from granian_http.exchange import Exchange
from granian_server._tasks import TaskSet
from granian_server.static import StaticFiles, pair_mounts
from testkit.h1 import Client, Server, header, respond

Check = Callable[[Server, Client, StaticFiles, list[Exchange]], Awaitable[None]]


@pytest.fixture
def mount(tmp_path: Path) -> Path:
    public = tmp_path / 'public'
    public.mkdir()
    (public / 'a.txt').write_bytes(b'alpha')
    (public / 'b.css').write_bytes(b'b{}')
    (public / 'big.bin').write_bytes(bytes(range(256)) * 400)
    return public


def run(mount: Path, check: Check, routes: tuple[str, ...] = ('/static',)) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        tasks = TaskSet(loop)
        app_calls: list[Exchange] = []

        def app(exchange: Exchange) -> None:
            app_calls.append(exchange)
            if exchange.raw_path.endswith(b'/boom'):
                raise RuntimeError('app handler failed')
            respond(exchange, b'app ' + exchange.raw_path)

        with ThreadPoolExecutor(4) as executor:
            static = StaticFiles(
                pair_mounts(list(routes), [mount] * len(routes)),
                dir_to_file=None,
                expires=60,
                loop=loop,
                executor=executor,
                spawn=tasks.spawn,
            )
            server = Server(static.wrap(app))
            await check(server, Client(), static, app_calls)
            await tasks.wait()

    asyncio.run(main())


async def exchange_responses(
    server: Server, client: Client, data: bytes, count: int
) -> list[tuple[h11.Response, bytes]]:
    server.send(data)
    got: list[tuple[h11.Response, bytes]] = []
    for _ in range(500):
        data = server.transport.take()
        if data:  # b'' would tell the h11 client that the connection closed
            got += client.responses(data)
        if len(got) >= count:
            return got
        await asyncio.sleep(0.01)
    raise AssertionError(f'only {len(got)} of {count} responses arrived')


def test_unmatched_requests_go_to_the_app_at_once(mount: Path) -> None:
    async def check(server: Server, client: Client, static: StaticFiles, app_calls: list[Exchange]) -> None:
        server.send(client.request('GET', '/other'))
        # Synchronously: no task and no executor hop for a path no route matches.
        assert [call.raw_path for call in app_calls] == [b'/other']
        [(response, body)] = client.responses(server.transport.take())
        assert (response.status_code, body) == (200, b'app /other')
        assert static.requests_handled == 0

    run(mount, check)


def test_matched_requests_never_reach_the_app(mount: Path) -> None:
    async def check(server: Server, client: Client, static: StaticFiles, app_calls: list[Exchange]) -> None:
        [(ok, body)] = await exchange_responses(server, client, client.request('GET', '/static/a.txt'), 1)
        assert (ok.status_code, body) == (200, b'alpha')
        assert header(ok, b'cache-control') == b'max-age=60'
        [(missing, body)] = await exchange_responses(server, client, client.request('GET', '/static/zz'), 1)
        assert (missing.status_code, body) == (404, b'Not found')
        [(refused, _)] = await exchange_responses(server, client, client.request('DELETE', '/static/a.txt'), 1)
        assert refused.status_code == 405
        assert header(refused, b'allow') == b'GET, HEAD'
        assert app_calls == []
        assert (static.requests_handled, static.requests_err) == (3, 2)

    run(mount, check)


def test_valid_http11_for_every_kind_of_answer(mount: Path) -> None:
    async def check(server: Server, client: Client, static: StaticFiles, app_calls: list[Exchange]) -> None:
        [(first, _)] = await exchange_responses(server, client, client.request('GET', '/static/big.bin'), 1)
        etag = header(first, b'etag')
        assert etag is not None
        cases: list[tuple[str, list[tuple[str, str]], int, int]] = [
            ('HEAD', [], 200, 0),
            ('GET', [('range', 'bytes=0-9')], 206, 10),
            ('GET', [('range', 'bytes=100-')], 206, 102_300),
            ('GET', [('range', 'bytes=999999-')], 416, 0),
            ('GET', [('if-none-match', etag.decode())], 304, 0),
            ('GET', [], 200, 102_400),
        ]
        for method, headers, status, length in cases:
            [(response, body)] = await exchange_responses(
                server, client, client.request(method, '/static/big.bin', headers), 1
            )
            assert (response.status_code, len(body)) == (status, length), (method, headers)

    run(mount, check)


def test_pipelined_answers_leave_in_request_order(mount: Path) -> None:
    async def check(server: Server, client: Client, static: StaticFiles, app_calls: list[Exchange]) -> None:
        # An h11 client cannot pipeline, so the requests are written out; each answer must follow
        # the previous one, although the static ones are produced on the executor.
        server.send(
            b''.join(
                b'GET %b HTTP/1.1\r\nhost: x\r\n\r\n' % path for path in (b'/static/b.css', b'/app', b'/static/a.txt')
            )
        )
        data = b''
        for _ in range(500):
            data += server.transport.take()
            if data.count(b'HTTP/1.1 200 OK') == 3 and data.endswith(b'alpha'):
                break
            await asyncio.sleep(0.01)
        assert data.count(b'HTTP/1.1 200 OK') == 3
        assert data.index(b'\r\n\r\nb{}') < data.index(b'\r\n\r\napp /app') < data.index(b'\r\n\r\nalpha')

    run(mount, check)


def test_percent_encoded_route_matches_like_upstream(mount: Path) -> None:
    async def check(server: Server, client: Client, static: StaticFiles, app_calls: list[Exchange]) -> None:
        assert static.match(b'/%73tatic/a.txt') == [(str(mount.resolve()), b'/a.txt')]
        assert static.match(b'/static') == [(str(mount.resolve()), b'')]
        assert static.match(b'/staticky') == []
        assert static.match(b'*') == []

    run(mount, check)


def test_a_root_route_owns_every_path(mount: Path) -> None:
    async def check(server: Server, client: Client, static: StaticFiles, app_calls: list[Exchange]) -> None:
        [(ok, body)] = await exchange_responses(server, client, client.request('GET', '/a.txt'), 1)
        assert (ok.status_code, body) == (200, b'alpha')
        [(missing, _)] = await exchange_responses(server, client, client.request('GET', '/nothing'), 1)
        assert missing.status_code == 404
        assert app_calls == []

    run(mount, check, routes=('/',))


def test_fall_through_reaches_the_app_and_its_failure_is_a_500(mount: Path) -> None:
    async def check(server: Server, client: Client, static: StaticFiles, app_calls: list[Exchange]) -> None:
        # ENOTDIR falls through to the app, from the static task.
        [(response, body)] = await exchange_responses(server, client, client.request('GET', '/static/a.txt/x'), 1)
        assert (response.status_code, body) == (200, b'app /static/a.txt/x')
        request = client.request('GET', '/static/a.txt/boom')
        [(failed, body)] = await exchange_responses(server, client, request, 1)
        assert (failed.status_code, body) == (500, b'Internal server error')
        assert static.requests_err == 1

    run(mount, check)


def test_several_mounts_are_tried_in_order(tmp_path: Path) -> None:
    first, second = tmp_path / 'first', tmp_path / 'second'
    first.mkdir()
    second.mkdir()
    (first / 'file').write_bytes(b'file in first')
    (second / 'file').mkdir()
    (second / 'file' / 'inner').write_bytes(b'inner in second')

    async def main() -> Any:
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(2) as executor:
            static = StaticFiles(
                pair_mounts(['/s', '/s'], [first, second]),
                dir_to_file=None,
                expires=0,
                loop=loop,
                executor=executor,
                spawn=TaskSet(loop).spawn,
            )
            candidates = static.match(b'/s/file/inner')
            # The first mount fails with ENOTDIR, so the second one answers.
            return await loop.run_in_executor(executor, static._prepare, 'GET', [], candidates)

    reply = asyncio.run(main())
    assert reply.body == b'inner in second'
