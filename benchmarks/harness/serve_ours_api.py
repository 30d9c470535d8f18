"""Start our server through the ``granian.Granian`` API with the CLI's option names.

The harness uses this while ``python -m granian`` does not take these options yet; it is run by
the ``ours`` environment's Python.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from granian import Granian
from granian.http import HTTP1Settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('target')
    parser.add_argument('--interface', default='rsgi')
    parser.add_argument('--loop', default='auto')
    parser.add_argument('--http', default='auto')
    parser.add_argument('--no-ws', dest='websockets', action='store_false')
    parser.add_argument('--log-level', default='info')
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=8000)
    parser.add_argument('--workers', type=int, default=1)
    # The memory benchmark raises these to hold thousands of idle connections.
    parser.add_argument('--backlog', type=int, default=1024)
    parser.add_argument('--backpressure', type=int)
    parser.add_argument('--http1-header-read-timeout', type=int, default=30_000)
    parser.add_argument('--ssl-certificate', type=Path)
    parser.add_argument('--ssl-keyfile', type=Path)
    args = parser.parse_args()
    Granian(
        args.target,
        address=args.host,
        port=args.port,
        interface=args.interface,
        loop=args.loop,
        http=args.http,
        websockets=args.websockets,
        log_level=args.log_level,
        workers=args.workers,
        backlog=args.backlog,
        backpressure=args.backpressure,
        http1_settings=HTTP1Settings(header_read_timeout=args.http1_header_read_timeout),
        ssl_cert=args.ssl_certificate,
        ssl_key=args.ssl_keyfile,
    ).serve()


if __name__ == '__main__':
    main()
