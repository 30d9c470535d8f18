"""Static files: ``static_path_route``/``static_path_mount`` pairs served before the app.

:func:`pair_mounts` checks the options the way upstream Granian does (one mount and no route is
served at ``/static``; otherwise routes and mounts pair up one to one). :class:`StaticFiles` is
built once per worker and wraps the interface's request handler, so it sees every request first,
for every interface and HTTP version and before any websocket handling. A worker without mounts
is not wrapped at all.

Matching follows upstream: the request path is percent-decoded, the mounts are tried in order, and
a mount whose route prefixes the path owns the request. What differs, and why:

* A route matches whole path segments: ``/static`` owns ``/static`` and ``/static/...`` but not
  ``/staticky``, which reaches the app (upstream matches a plain string prefix and would answer
  ``/staticky`` with a 404 of its own). Routes are normalised to a leading ``/`` and no trailing
  one.
* Methods: GET and HEAD are served. Any other method on a path that resolves to a file gets
  ``405 Method Not Allowed`` with ``allow: GET, HEAD`` (upstream sends the file for every method,
  which tells a client that a POST or DELETE worked). A missing file is still a 404 and another
  error still falls through to the app, whatever the method.
* Beyond upstream (its issue #740 and users' asks): ``content-length``, HEAD, one-range ``Range``
  requests (206/416), ``ETag``/``Last-Modified`` with ``If-None-Match``/``If-Modified-Since``
  (304) and ``If-Range``; see :mod:`.static_response`. Path resolution is in
  :mod:`.static_resolve`, the ``content-type`` table in :mod:`.static_mime`.
* With ``precompressed`` (upstream's open pull request #791), a ``.zst``, ``.br`` or ``.gz`` copy
  beside a file is sent to a client that accepts its coding: :mod:`.static_precompressed`.

All filesystem work (resolving, opening, ``fstat``, reading) runs on the worker's executor, never
on the event loop: one executor call resolves the file and decides the response, and bodies up to
64 KiB are read in that same call and leave with the head in one write; larger bodies go through
:meth:`Exchange.send_file <granian_http.exchange.Exchange.send_file>`, which reads in chunks off
the loop.

Static responses are not written to the access log, as upstream: there they are answered in Rust
before the request reaches the interface, which is what keeps the access log. A missing file logs
upstream's INFO line ``Request static file <path> not found``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import Executor
from typing import Any, NamedTuple
from urllib.parse import unquote_to_bytes

from granian_http import Exchange, Headers

from .errors import ConfigurationError
from .log import logger
from .static_mime import content_type
from .static_precompressed import Variant, choose_variant
from .static_resolve import FALL_THROUGH, NOT_FOUND, Found, Outcome, open_static_file
from .static_response import Conditions, plan_response, read_conditions

__all__ = ['DEFAULT_ROUTE', 'StaticFiles', 'pair_mounts']

RequestHandler = Callable[[Exchange], None]

#: The route of a single mount given without one.
DEFAULT_ROUTE = '/static'
#: Bodies up to this size are read with the checks, in one executor call.
_INLINE_BODY = 64 * 1024

_PREAD: Callable[[int, int, int], bytes] | None = getattr(os, 'pread', None)
_TEXT = (b'content-type', b'text/plain; charset=utf-8')
_SLASH = 0x2F


class _Reply(NamedTuple):
    status: int
    headers: Headers
    body: bytes = b''
    #: A file to send the body from (large bodies), with the byte range.
    file: str | None = None
    offset: int = 0
    length: int = 0


_NOT_FOUND_REPLY = _Reply(404, (_TEXT,), b'Not found')
_NOT_ALLOWED_REPLY = _Reply(405, (_TEXT, (b'allow', b'GET, HEAD')), b'Method not allowed')
_ERROR_REPLY = _Reply(500, (_TEXT,), b'Internal server error')


def normalise_route(route: str) -> str:
    """``static/`` -> ``/static``; ``/`` stays ``/``."""
    return '/' + route.strip('/')


def pair_mounts(routes: Sequence[str], mounts: Sequence[str | os.PathLike[str]]) -> tuple[tuple[str, str], ...]:
    """Pair routes with mount directories: ``((route, real mount path), ...)`` in the given order.

    Raises :class:`ConfigurationError` when they do not pair up, after upstream's log line.
    """
    if not routes and not mounts:
        return ()
    if not routes and len(mounts) == 1:
        routes = [DEFAULT_ROUTE]
    if len(routes) != len(mounts):
        logger.error('Static path routes and mounts should have the same length')
        raise ConfigurationError(
            f'static_path: {len(routes)} static_path_route for {len(mounts)} static_path_mount; '
            'give one static_path_route per static_path_mount, in the same order '
            f'(a single static_path_mount without a route is served at {DEFAULT_ROUTE})'
        )
    pairs = tuple(
        (normalise_route(route), os.path.realpath(mount)) for route, mount in zip(routes, mounts, strict=True)
    )
    for route, mount in pairs:
        if not os.path.isdir(mount):
            logger.warning(f'Static path mount {mount} (route {route}) is not a directory: it will answer 404')
    return pairs


def _read_at(fd: int, size: int, offset: int) -> bytes:
    if _PREAD is not None:
        return _PREAD(fd, size, offset)
    os.lseek(fd, offset, os.SEEK_SET)
    return os.read(fd, size)


def _read_range(fd: int, offset: int, length: int) -> bytes:
    parts = []
    while length > 0:
        chunk = _read_at(fd, length, offset)
        if not chunk:
            break  # the file shrank since fstat: send what there is
        parts.append(chunk)
        offset += len(chunk)
        length -= len(chunk)
    return parts[0] if len(parts) == 1 else b''.join(parts)


class StaticFiles:
    """The static mounts of one worker, and the handler wrapper that serves them."""

    def __init__(
        self,
        mounts: Sequence[tuple[str, str]],
        *,
        dir_to_file: str | None,
        expires: int,
        precompressed: bool = False,
        loop: asyncio.AbstractEventLoop,
        executor: Executor,
        spawn: Callable[[Coroutine[Any, Any, Any]], None],
    ) -> None:
        #: ``(route prefix as UTF-8 bytes without a trailing slash, real mount path)``
        self.routes = [(route.rstrip('/').encode('utf-8'), mount) for route, mount in mounts]
        self.dir_to_file = dir_to_file
        self.expires = expires
        self.precompressed = precompressed
        self._loop = loop
        self._executor = executor
        self._spawn = spawn
        #: For the metrics exporter (upstream's ``static_requests_handled``/``_err``): requests a
        #: mount answered, and those answered with an error status or cut short by a failure.
        self.requests_handled = 0
        self.requests_err = 0

    def match(self, raw_path: bytes) -> list[tuple[str, bytes]]:
        """The ``(mount, rest of the decoded path)`` candidates for a request path, in order."""
        path = unquote_to_bytes(raw_path) if 37 in raw_path else raw_path  # 37: b'%', see decode_path
        candidates = []
        for prefix, mount in self.routes:
            end = len(prefix)
            if path.startswith(prefix) and (len(path) == end or path[end] == _SLASH):
                candidates.append((mount, path[end:]))
        return candidates

    def wrap(self, handler: RequestHandler) -> RequestHandler:
        """A request handler that serves the static mounts and passes everything else to ``handler``."""
        match = self.match
        spawn = self._spawn
        serve = self._serve

        def handle(exchange: Exchange) -> None:
            candidates = match(exchange.raw_path)
            if candidates:
                spawn(serve(exchange, candidates, handler))
            else:
                handler(exchange)

        return handle

    async def _serve(self, exchange: Exchange, candidates: list[tuple[str, bytes]], handler: RequestHandler) -> None:
        try:
            reply = await self._loop.run_in_executor(
                self._executor, self._prepare, exchange.method, exchange.headers, candidates
            )
            if reply is FALL_THROUGH:
                handler(exchange)
                return
            if reply is NOT_FOUND:
                logger.info(f'Request static file {exchange.raw_path.decode("latin-1")} not found')
                reply = _NOT_FOUND_REPLY
            assert isinstance(reply, _Reply)  # the outcomes are handled above
            self.requests_handled += 1
            if reply.status >= 400:
                self.requests_err += 1
            exchange.start(reply.status, reply.headers)
            if reply.file is None:
                exchange.end(reply.body)
                return
            try:
                await exchange.send_file(reply.file, reply.offset, reply.length)
            except OSError:
                # Gone between the checks and the send: nothing was written yet.
                if exchange.response_started:
                    raise
                exchange.start(404, _NOT_FOUND_REPLY.headers)
                exchange.end(_NOT_FOUND_REPLY.body)
        except Exception:
            self.requests_err += 1
            if exchange.disconnected:
                return
            logger.error('Unable to serve a static file', exc_info=True)
            try:
                if exchange.response_started:
                    exchange.abort()
                else:
                    exchange.start(_ERROR_REPLY.status, _ERROR_REPLY.headers)
                    exchange.end(_ERROR_REPLY.body)
            except Exception:
                exchange.abort()

    def _prepare(self, method: str, headers: Headers, candidates: list[tuple[str, bytes]]) -> _Reply | Outcome:
        """Resolve and open the file and decide the response (runs on the executor)."""
        for mount, rest in candidates:
            found = open_static_file(mount, rest, self.dir_to_file)
            if found is FALL_THROUGH:
                continue
            if not isinstance(found, Found):
                return NOT_FOUND
            try:
                return self._reply(method, headers, mount, found)
            finally:
                os.close(found.fd)
        return FALL_THROUGH

    def _reply(self, method: str, headers: Headers, mount: str, found: Found) -> _Reply:
        if method not in ('GET', 'HEAD'):
            return _NOT_ALLOWED_REPLY
        conditions = read_conditions(headers)
        sent = (
            choose_variant(mount, found, conditions.accept_encoding)
            if self.precompressed
            else Variant(found, None, False)
        )
        try:
            return self._file_reply(method, conditions, found, sent)
        finally:
            if sent.file is not found:
                os.close(sent.file.fd)

    def _file_reply(self, method: str, conditions: Conditions, found: Found, sent: Variant) -> _Reply:
        """The response for ``sent``, the file itself or a variant of it with its own size and time."""
        file = sent.file
        plan = plan_response(
            method,
            conditions,
            size=file.size,
            mtime_ns=file.mtime_ns,
            # The original's type: a variant differs only in its content-encoding.
            media_type=content_type(found.path),
            expires=self.expires,
            coding=sent.coding,
            vary=sent.vary,
        )
        if method == 'HEAD':
            if plan.status in (200, 206):
                plan.headers.append((b'content-length', b'%d' % plan.length))
            return _Reply(plan.status, plan.headers)
        if not plan.length:
            return _Reply(plan.status, plan.headers)
        if plan.length <= _INLINE_BODY:
            return _Reply(plan.status, plan.headers, _read_range(file.fd, plan.offset, plan.length))
        return _Reply(plan.status, plan.headers, file=file.path, offset=plan.offset, length=plan.length)
