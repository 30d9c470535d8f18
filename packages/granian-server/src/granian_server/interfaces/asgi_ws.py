"""ASGI WebSockets over the exchange contract (upstream §3.5, the ASGI spec where it is silent).

* ``receive``: ``websocket.connect`` first; then, once accepted, ``websocket.receive`` with
  exactly one of ``text``/``bytes``; at the end ``websocket.disconnect`` with the client's close
  code (1005 when its close frame had none, 1006 when the connection dropped without one, or
  when the server failed it: a message over ``ws_max_size``, or a keep-alive ping left
  unanswered for ``ws_ping_timeout``, with the reason ``keepalive ping timeout``).
* ``send``: ``websocket.accept`` (``subprotocol`` and, unlike upstream, ``headers`` too),
  ``websocket.send``, ``websocket.close``, and the denial extension's
  ``websocket.http.response.start``/``.body``.
* A handler that returns without accepting, or closes before accepting, rejects the handshake
  with 403; one that raises before accepting gets 500; one that raises after accepting closes
  the socket with 1011.
* Spec 2.4 (see :mod:`.asgi_spec`): once the client is gone (its close frame came, or the
  connection dropped, or the server is closing the socket), ``websocket.send`` and
  ``websocket.close`` raise :class:`~granian_http.WebSocketClosed`, an ``OSError``, where upstream
  raises ``RuntimeError``. Sending after the app's own ``websocket.close`` is still the flow error
  upstream names. An accept that comes after the client left is a no-op (upstream #836); what
  the app sends after it raises the same ``OSError``.

Any interleaving of ``receive`` and ``send`` from different tasks is served, as ASGI allows:
Quart, for one, receives in a task of its own that asks for the next message before the handler
has accepted. Such a ``receive`` waits for the handshake to be answered: after an accept it goes on
to the client's first message, after a rejection (or when the client leaves) it reports the
disconnect. Concurrent receives each get a different message (the session hands each message to
one caller), and a ``websocket.close`` from one task ends the wait of a ``receive`` in another
with the disconnect, once the client answered the close (or the close timed out).
"""

from __future__ import annotations

import asyncio
from typing import Any

from granian_http import Exchange, WebSocket, WebSocketClosed

from ..log import logger
from .asgi_spec import ASGI_VERSION, ASGIApp, Message, log_app_exception, websocket_extensions, with_host
from .common import RequestLog, decode_path

__all__ = ['WebSocketCycle', 'run_websocket']

_UNSUPPORTED = 'Unsupported ASGI message'
_NOT_READY = 'ASGI flow error: Transport not initialized or closed'
_CLOSED = 'ASGI flow error: Transport closed'
_UPGRADED = 'ASGI flow error: Connection already upgraded'
_GONE_TEXT = 'ASGI transport error: the client disconnected'

# States of the handshake as the app drives it. _CLOSED_STATE: the app closed (after accepting)
# or rejected (before); _GONE: the app accepted after the client had left.
_HANDSHAKE, _ACCEPTED, _CLOSED_STATE, _DENYING, _DENIED, _GONE = 0, 1, 2, 3, 4, 5


class WebSocketCycle:
    __slots__ = ('_connect_sent', '_deny_head', '_log', '_path', '_state', 'exchange', 'session', 'status')

    def __init__(self, exchange: Exchange, path: str, request_log: RequestLog | None) -> None:
        self.exchange = exchange
        self._path = path
        self._log = request_log
        self.session: WebSocket | None = None
        self._state = _HANDSHAKE
        self._connect_sent = False
        self._deny_head: tuple[int, Any] | None = None
        #: For the access log: 101 once accepted, else the status the handshake was answered with.
        self.status = 403

    async def receive(self) -> Message:
        if not self._connect_sent:
            self._connect_sent = True
            return {'type': 'websocket.connect'}
        session = self.session
        if session is None:
            # Not accepted (yet): wait until the handshake is answered, which another task may
            # be about to do, or the client leaves. The exchange completes either way. Shielded:
            # the exchange's wait is one future for every waiter, and cancelling this receive
            # (a framework tearing down its receive task) must not cancel it for the others.
            await asyncio.shield(self.exchange.wait_complete())
            session = self.session
            if session is None:
                # Rejected, denied, or the client is gone.
                return {'type': 'websocket.disconnect', 'code': 1006, 'reason': ''}
        message = await session.receive()
        if isinstance(message, str):
            return {'type': 'websocket.receive', 'text': message}
        if isinstance(message, bytes):
            return {'type': 'websocket.receive', 'bytes': message}
        # The state stays: what the app sends now raises WebSocketClosed, an OSError (spec 2.4),
        # not the flow error that follows its own close.
        return {'type': 'websocket.disconnect', 'code': message.code, 'reason': message.reason}

    async def send(self, message: Message) -> None:
        try:
            kind = message['type']
        except (KeyError, TypeError):
            raise RuntimeError(_UNSUPPORTED) from None
        state = self._state
        if kind == 'websocket.send':
            session = self.session
            if session is None:
                if state == _GONE:
                    raise WebSocketClosed(_GONE_TEXT)
                raise RuntimeError(_NOT_READY)
            text: str | None = message.get('text')
            data: bytes | None = message.get('bytes')
            if text is not None and data is None:
                payload: str | bytes = text
            elif data is not None and text is None:
                payload = data
            else:
                raise RuntimeError(_UNSUPPORTED)
            if state == _CLOSED_STATE:
                raise RuntimeError(_CLOSED)
            # Raises WebSocketClosed once the client is gone.
            await session.send(payload)
        elif kind == 'websocket.accept':
            if state in (_ACCEPTED, _GONE) or (state == _CLOSED_STATE and self.session is not None):
                raise RuntimeError(_UPGRADED)
            if state != _HANDSHAKE:
                raise RuntimeError(_NOT_READY)
            if self.exchange.disconnected:
                # The client left before the answer: nothing to accept, and no error (#836).
                self._state = _GONE
                return
            self.session = self.exchange.accept_websocket(message.get('subprotocol'), message.get('headers') or ())
            self.status = 101
            self._state = _ACCEPTED
            self._log_once()
        elif kind == 'websocket.close':
            if state == _ACCEPTED:
                session = self.session
                assert session is not None
                if session.closed:
                    # The client closed or dropped first (or the server is shutting down): our
                    # close has no one to go to.
                    raise WebSocketClosed(_GONE_TEXT)
                session.close(message.get('code') or 1000, message.get('reason') or '')
                self._state = _CLOSED_STATE
            elif state == _HANDSHAKE:
                self._reject()
            elif state == _CLOSED_STATE:
                raise RuntimeError(_CLOSED)
            elif state == _GONE:
                raise WebSocketClosed(_GONE_TEXT)
            else:
                raise RuntimeError(_NOT_READY)
        elif kind == 'websocket.http.response.start':
            if state != _HANDSHAKE:
                raise RuntimeError(_UPGRADED if self.session is not None else _NOT_READY)
            try:
                self._deny_head = (message['status'], message.get('headers') or [])
            except KeyError:
                raise RuntimeError(_UNSUPPORTED) from None
            self._state = _DENYING
        elif kind == 'websocket.http.response.body':
            if state != _DENYING or self._deny_head is None:
                raise RuntimeError(_NOT_READY)
            if message.get('more_body', False):
                raise RuntimeError(_UNSUPPORTED)
            status, headers = self._deny_head
            self.exchange.start(status, headers)
            self.exchange.end(message.get('body', b''))
            self.status = status
            self._state = _DENIED
            self._log_once()
        else:
            raise RuntimeError(_UNSUPPORTED)

    def _log_once(self) -> None:
        # A WebSocket is logged once: when accepted (101), or when its handshake is answered.
        if self._log is not None:
            self._log.done(self.exchange, self.status, self._path, self.exchange.query_string)
            self._log = None

    def _reject(self, status: int = 403) -> None:
        self._state = _CLOSED_STATE
        self.status = status
        exchange = self.exchange
        if not exchange.response_started and not exchange.disconnected:
            exchange.start(status, ())
            exchange.end()
        self._log_once()

    def finish(self, failed: bool) -> None:
        state = self._state
        if state == _ACCEPTED:
            assert self.session is not None
            # A no-op when the session already ended (the client closed, or is gone).
            self.session.close(1011 if failed else 1000)
            self._state = _CLOSED_STATE
        elif state in (_HANDSHAKE, _DENYING):
            self._reject(500 if failed else 403)


async def run_websocket(
    app: ASGIApp,
    exchange: Exchange,
    *,
    root_path: str,
    state: dict[str, Any],
    request_log: RequestLog | None,
) -> None:
    offer = exchange.websocket
    assert offer is not None
    client = exchange.client
    server = exchange.server
    raw_path = exchange.raw_path
    path = decode_path(raw_path)
    headers = exchange.headers
    if exchange.authority is not None:
        headers = with_host(headers, exchange.authority)
    scope = {
        'type': 'websocket',
        'asgi': ASGI_VERSION,
        'extensions': websocket_extensions(exchange),
        'http_version': exchange.http_version,
        'server': (server[0], str(server[1])) if server else None,
        'client': (client[0], str(client[1])) if client else None,
        'scheme': 'wss' if exchange.scheme == 'https' else 'ws',
        'root_path': root_path,
        'path': path,
        'raw_path': raw_path,
        'query_string': exchange.query_string,
        'headers': headers,
        'subprotocols': offer.subprotocols,
        'state': state.copy(),
    }
    cycle = WebSocketCycle(exchange, path, request_log)
    failed = False
    try:
        await app(scope, cycle.receive, cycle.send)
    except Exception as exc:
        failed = True
        session = cycle.session
        log_app_exception(exc, exchange.disconnected or (session is not None and session.closed))
    try:
        cycle.finish(failed)
    except Exception:
        logger.error('Unable to complete the WebSocket', exc_info=True)
        exchange.abort()
