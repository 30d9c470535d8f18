"""The h11 parser's fast head reader (granian_http/h1/_h11.py, ``_fast_head``) reads what h11's own
reader reads, and leaves to it everything else.

Both readers are run on the same bytes: a corpus of usual and unusual heads, and thousands of
seeded mutations of it (bytes inserted, dropped or replaced with the ones that matter to HTTP/1.1
framing). For each input the events must agree: the head's fields, the body, the end, or the
status of the refusal.
"""

from __future__ import annotations

import random
from typing import Any

import h11
import pytest
from h11._connection import _body_framing
from h11._readers import maybe_read_from_IDLE_client
from h11._receivebuffer import ReceiveBuffer

from granian_http.h1 import _h11
from granian_http.h1._events import NEED_DATA, ParseError, Signal
from granian_http.h1._guard import head_end
from granian_http.h1._h11 import H11Parser

CORPUS = [
    b'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
    b'GET /b HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n',
    b'GET /a/b?c=d&e HTTP/1.1\r\nHost: x\r\nUser-Agent: curl/8\r\nAccept: */*\r\nX-Empty:\r\n\r\n',
    b'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello',
    b'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n',
    b'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 005\r\n\r\nhello',
    b'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\nabc',
    b'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc',
    b'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
    b'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 123456789012345678901\r\n\r\n',
    b'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
    b'POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    b'POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n',
    b'POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n',
    b'GET / HTTP/1.1\r\n\r\n',
    b'GET / HTTP/1.0\r\n\r\n',
    b'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n',
    b'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n',
    b'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    b'GET / HTTP/1.1\r\nHost: x\r\nConnection: Keep-Alive, Upgrade\r\nUpgrade: websocket\r\n\r\n',
    b'PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok',
    b'PUT / HTTP/1.0\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\nok',
    b'GET / HTTP/1.1\nHost: x\n\n',
    b'GET / HTTP/1.1\r\nHost: x\n\r\n',
    b'GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n',
    b'GET / HTTP/1.1\r\nHost: x\r\nX-A: \t spaced \t \r\n\r\n',
    b'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\tb  c\r\n\r\n',
    b'GET / HTTP/1.1\r\nHost: x\r\nX-Latin: caf\xe9\x80\xff\r\n\r\n',
    b'GET / HTTP/1.1\r\nHost: x\r\nX-Nul: a\x00b\r\n\r\n',
    b'GET / HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n',
    b'GET / HTTP/1.1\r\nHost: x\r\nName : v\r\n\r\n',
    b'GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n',
    b'get / HTTP/1.1\r\nHost: x\r\n\r\n',
    b'GET http://example.com/x?y HTTP/1.1\r\nHost: example.com\r\n\r\n',
    b'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n',
    b'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n',
    b'GET / HTTP/2.0\r\nHost: x\r\n\r\n',
    b'GET  / HTTP/1.1\r\nHost: x\r\n\r\n',
    b'GET / HTTP/1.1 \r\nHost: x\r\n\r\n',
    b'GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n',
    b'\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n',
    b'GET / HTTP/1.1\r\nHost: x\r\r\n\r\n',
    b'GET / HTTP/1.1\r\nHost: x',
    b'\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03',
]

# What mutations insert: the bytes HTTP/1.1 framing turns on, and a few ordinary ones.
_ALPHABET = b' \t\r\n:,;\x00\x7f\x80\xffaZ09-/?'


def _head_end(data: bytes) -> int:
    """Where the connection's guard says the head ends (-1: incomplete); raises its refusals."""
    return head_end(data, 65536)


def _events(data: bytes) -> list[Any]:
    """Everything the parser makes of ``data``, arriving at once as the connection hands it over
    (leading empty lines dropped, the guard first): each event, or the refusal's status."""
    data = data.lstrip(b'\r\n')
    parser = H11Parser(65536)
    seen: list[Any] = []
    try:
        end = _head_end(data)
        if end < 0:
            return [('incomplete',)]
        seen.append(tuple(parser.read_head(data, end)))
    except ParseError as err:
        return [('refused', err.status)]
    for _ in range(16):
        try:
            event = parser.next_event()
        except ParseError as err:
            seen.append(('refused', err.status))
            break
        if event is NEED_DATA:
            seen.append(('need data', parser.done, parser.pending()))
            break
        if isinstance(event, Signal):
            seen.append(event.name)
        else:
            seen.append(bytes(event))
    return seen


def _both(data: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[list[Any], list[Any]]:
    fast = _events(data)
    with monkeypatch.context() as patch:
        # The reference: every head goes to h11's reader.
        patch.setattr(_h11, '_fast_head', lambda _data, _end: None)
        reference = _events(data)
    return fast, reference


def _mutations(seed: int, count: int) -> list[bytes]:
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        data = bytearray(rng.choice(CORPUS))
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(data) + 1)
            kind = rng.randrange(3)
            if kind == 0:
                data[at:at] = bytes([rng.choice(_ALPHABET)])
            elif kind == 1 and at < len(data):
                del data[at]
            elif at < len(data):
                data[at] = rng.choice(_ALPHABET)
        cases.append(bytes(data))
    return cases


@pytest.mark.parametrize('data', CORPUS)
def test_the_corpus_reads_the_same_both_ways(data: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, reference = _both(data, monkeypatch)
    assert fast == reference


def test_thousands_of_mutations_read_the_same_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    for data in _mutations(seed=20261203, count=6000):
        fast, reference = _both(data, monkeypatch)
        assert fast == reference, data


def test_the_fast_reader_takes_the_usual_heads_itself() -> None:
    # Not a test of speed: that the common heads do not all quietly fall back to h11.
    for data in CORPUS[:5]:
        assert _h11._fast_head(data, _head_end(data)) is not None, data
    end = _head_end(CORPUS[3])
    _, length = _h11._fast_head(CORPUS[3], end)  # type: ignore[misc]
    assert (length, CORPUS[3][end:]) == (5, b'hello')


def test_what_it_reads_is_what_h11s_reader_reads() -> None:
    # Against h11 directly, not through the adapter: the method, target, version, fields (h11's
    # lower-case names and values) and body framing of every head the fast reader takes.
    taken = 0
    for data in CORPUS + _mutations(seed=7, count=3000):
        data = data.lstrip(b'\r\n')  # as the connection hands heads over
        try:
            end = _head_end(data)
        except ParseError:
            continue  # refused by the guard: no parser reads it
        fast = _h11._fast_head(data, end) if end > 0 else None
        if fast is None:
            continue
        taken += 1
        head, length = fast
        buffer = ReceiveBuffer()
        buffer += data
        request = maybe_read_from_IDLE_client(buffer)
        assert isinstance(request, h11.Request)
        assert _body_framing(request.method, request) == ('content-length', (length,))
        version = request.http_version == b'1.1'
        assert (head.method, head.target, head.http11) == (request.method, request.target, version)
        assert head.headers == [(name, value) for _, name, value in request.headers._full_items]
        assert bytes(buffer) == data[end:]
    assert taken > 300  # of ~3,000 inputs, most mutations break the head (404 with this seed)
