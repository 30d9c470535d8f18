"""The servers under test: one row per (server, interface, command).

A command is a tuple of argv tokens with placeholders filled per run:
``{python}`` and ``{bin}`` of the server's environment, ``{host}``, ``{port}``, ``{app}`` (the
target of the interface's app in benchmarks/apps) and ``{ours}``, which stands for however our
server is launched in its environment (``python -m granian`` once the CLI works, else a small
wrapper over the ``granian.Granian`` API that takes the same options).
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ['APPS', 'BASELINE', 'SERVERS', 'ServerSpec', 'before_rows', 'expand_argv', 'ours_launcher']

# The app target each interface serves, importable from benchmarks/apps.
APPS: dict[str, str] = {'asgi': 'asgi_app:app', 'rsgi': 'rsgi_app:app', 'wsgi': 'wsgi_app:app'}

# The row every other row is compared with.
BASELINE = 'ours-asyncio'


@dataclass(frozen=True)
class ServerSpec:
    name: str
    interface: str
    env: str
    argv: tuple[str, ...]
    # Transports served beyond cleartext HTTP/1.1 ('https', 'h2c', 'ws'), each with the arguments
    # it adds ({cert} and {key} are the harness's certificate and key).
    transports: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # False for a row that exists for its transports only (uvicorn's WebSocket implementations).
    http1: bool = True
    # Source folders put ahead of the environment's packages (--before: our server at another
    # commit, run from the same venv).
    pythonpath: tuple[str, ...] = ()
    # A floor row (floor_server.py): a measuring stick, not a server; no target names one, and
    # the report says so under every table that shows one.
    floor: bool = False

    def transport_args(self, transport: str) -> tuple[str, ...] | None:
        """The extra arguments for ``transport``, or ``None`` when this server cannot serve it."""
        if transport == 'h1':
            return () if self.http1 else None
        return dict(self.transports).get(transport)


_OURS = ('{ours}', '--log-level', 'warning', '--host', '{host}', '--port', '{port}')
_RUST = ('{bin}/granian', '--http', '1', '--no-ws', '--log-level', 'warning', '--host', '{host}', '--port', '{port}')
_UVICORN = ('{bin}/uvicorn', '--no-access-log', '--log-level', 'warning', '--host', '{host}', '--port', '{port}')
_HYPERCORN = ('{bin}/hypercorn', '--workers', '1', '--log-level', 'warning', '--bind', '{host}:{port}')
_GUNICORN = ('{bin}/gunicorn', '--workers', '1', '--log-level', 'warning', '--bind', '{host}:{port}')

# The floor (issue 12): the least CPU per request a Python server can spend on a loop, with the
# parser and interface each row names (harness/floor_server.py says what it leaves out).
_FLOOR = ('{python}', str(Path(__file__).with_name('floor_server.py')), '--host', '{host}', '--port', '{port}')


def _floor(name: str, interface: str, loop: str, parser: str) -> ServerSpec:
    argv = (*_FLOOR, '--interface', interface, '--loop', loop, '--parser', parser, '{app}')
    return ServerSpec(name, interface, 'ours', argv, floor=True)


_GRANIAN_TLS = ('--ssl-certificate', '{cert}', '--ssl-keyfile', '{key}')
# Ours serves h2c by prior knowledge in its default http=auto; the Rust Granian needs --http auto
# (its rows say --http 1 for the HTTP/1.1 scenarios, and the last --http wins).
_OURS_TRANSPORTS = (('https', _GRANIAN_TLS), ('h2c', ()))
# HTTP/3 (issue 13): ours with --http3, hypercorn with --quic-bind on the same port (both on aioquic).
_OURS_H3 = ('h3', (*_GRANIAN_TLS, '--http3'))
_RUST_TRANSPORTS = (('https', _GRANIAN_TLS), ('h2c', ('--http', 'auto')))
# WebSockets run on the stdlib loop only (issue 5). Ours serves them by default; the Rust rows say
# --no-ws for HTTP, and the last flag wins.
_OURS_WS = ('ws', ())
_RUST_WS = ('ws', ('--ws',))
# The `ours` venv has httptools (uvicorn[standard] brings it), which our server picks by itself:
# the pure-Python rows ask for the h11 parser, the reference that issue 12's first target is about.
_PURE = ('--http1-parser', 'h11')
# What `granian[speedups]` (issue 12) switches on, with no option needed: --loop auto picks uvloop
# and the HTTP/1.1 parser is httptools when installed. These rows pass nothing else.
_SPEEDUPS = ('--loop', 'auto')
_UVICORN_TRANSPORTS = (('https', ('--ssl-certfile', '{cert}', '--ssl-keyfile', '{key}')),)
# The path is relative to benchmarks/apps, where servers run (see hypercorn-h2c.toml for why).
_HYPERCORN_TRANSPORTS = (
    ('https', ('--certfile', '{cert}', '--keyfile', '{key}')),
    ('h2c', ('--config', '../harness/hypercorn-h2c.toml')),
    ('ws', ()),
    ('h3', ('--certfile', '{cert}', '--keyfile', '{key}', '--quic-bind', '{host}:{port}')),
)

SERVERS: tuple[ServerSpec, ...] = (
    ServerSpec(
        'ours-asyncio',
        'asgi',
        'ours',
        (*_OURS, '--interface', 'asgi', '--loop', 'asyncio', *_PURE, '{app}'),
        (*_OURS_TRANSPORTS, _OURS_WS, _OURS_H3),
    ),
    ServerSpec(
        'ours-uvloop',
        'asgi',
        'ours',
        (*_OURS, '--interface', 'asgi', '--loop', 'uvloop', *_PURE, '{app}'),
        _OURS_TRANSPORTS,
    ),
    # The loops side by side with the same parser, and the parsers on the same loop (issue 12).
    ServerSpec(
        'ours-rloop',
        'asgi',
        'ours',
        (*_OURS, '--interface', 'asgi', '--loop', 'rloop', '--http1-parser', 'httptools', '{app}'),
    ),
    ServerSpec(
        'ours-uvloop-httptools',
        'asgi',
        'ours',
        (*_OURS, '--interface', 'asgi', '--loop', 'uvloop', '--http1-parser', 'httptools', '{app}'),
    ),
    ServerSpec(
        'ours-asyncio-httptools',
        'asgi',
        'ours',
        (*_OURS, '--interface', 'asgi', '--loop', 'asyncio', '--http1-parser', 'httptools', '{app}'),
    ),
    # Issue 12's accelerated row: ours with everything granian[speedups] brings (see _SPEEDUPS).
    ServerSpec('ours-speedups', 'asgi', 'ours', (*_OURS, '--interface', 'asgi', *_SPEEDUPS, '{app}')),
    ServerSpec(
        'uvicorn-h11-asyncio',
        'asgi',
        'ours',
        (*_UVICORN, '--http', 'h11', '--loop', 'asyncio', '{app}'),
        _UVICORN_TRANSPORTS,
    ),
    ServerSpec(
        'uvicorn-httptools-uvloop',
        'asgi',
        'ours',
        (*_UVICORN, '--http', 'httptools', '--loop', 'uvloop', '{app}'),
        _UVICORN_TRANSPORTS,
    ),
    ServerSpec(
        'hypercorn-asyncio',
        'asgi',
        'ours',
        (*_HYPERCORN, '--worker-class', 'asyncio', '{app}'),
        _HYPERCORN_TRANSPORTS,
    ),
    ServerSpec(
        'granian-rust-asyncio',
        'asgi',
        'granian-rust',
        (*_RUST, '--interface', 'asgi', '--loop', 'asyncio', '{app}'),
        (*_RUST_TRANSPORTS, _RUST_WS),
    ),
    ServerSpec(
        'granian-rust-uvloop',
        'asgi',
        'granian-rust',
        (*_RUST, '--interface', 'asgi', '--loop', 'uvloop', '{app}'),
        _RUST_TRANSPORTS,
    ),
    # The floors under the ASGI rows above: pure Python on the stdlib loop, and what uvloop and
    # httptools allow (issue 12's two targets).
    _floor('floor-asyncio', 'asgi', 'asyncio', 'split'),
    _floor('floor-uvloop-httptools', 'asgi', 'uvloop', 'httptools'),
    # RSGI (issue 3): HTTP/1.1 and WebSockets on the stdlib loop, like the ASGI rows it is compared with.
    ServerSpec(
        'ours-rsgi-asyncio',
        'rsgi',
        'ours',
        (*_OURS, '--interface', 'rsgi', '--loop', 'asyncio', *_PURE, '{app}'),
        (_OURS_WS,),
    ),
    ServerSpec(
        'granian-rust-rsgi-asyncio',
        'rsgi',
        'granian-rust',
        (*_RUST, '--interface', 'rsgi', '--loop', 'asyncio', '{app}'),
        (_RUST_WS,),
    ),
    # RSGI with accelerators (issue 12): ours with granian[speedups] against the Rust Granian on uvloop.
    ServerSpec('ours-rsgi-speedups', 'rsgi', 'ours', (*_OURS, '--interface', 'rsgi', *_SPEEDUPS, '{app}')),
    ServerSpec(
        'granian-rust-rsgi-uvloop', 'rsgi', 'granian-rust', (*_RUST, '--interface', 'rsgi', '--loop', 'uvloop', '{app}')
    ),
    # WSGI (issue 4): one worker each; ours and the Rust Granian with their default blocking threads.
    # WSGI as a user with granian[speedups] installed runs it (the targets name no parser).
    ServerSpec('ours-wsgi', 'wsgi', 'ours', (*_OURS, '--interface', 'wsgi', *_SPEEDUPS, '{app}')),
    ServerSpec('gunicorn-sync', 'wsgi', 'ours', (*_GUNICORN, '--worker-class', 'sync', '{app}')),
    ServerSpec(
        'gunicorn-gthread', 'wsgi', 'ours', (*_GUNICORN, '--worker-class', 'gthread', '--threads', '4', '{app}')
    ),
    ServerSpec(
        'uvicorn-wsgi-h11-asyncio',
        'wsgi',
        'ours',
        (*_UVICORN, '--interface', 'wsgi', '--http', 'h11', '--loop', 'asyncio', '{app}'),
    ),
    ServerSpec('granian-rust-wsgi', 'wsgi', 'granian-rust', (*_RUST, '--interface', 'wsgi', '{app}')),
    # The WSGI floor: the app called inline on the loop, no thread, with uvloop and httptools.
    _floor('floor-wsgi', 'wsgi', 'uvloop', 'httptools'),
    # uvicorn's WebSocket implementations (issue 5): websockets-sansio is what its --ws auto picks
    # when websockets is installed (uvicorn[standard] installs it); wsproto is the other one.
    ServerSpec(
        'uvicorn-websockets-asyncio',
        'asgi',
        'ours',
        (*_UVICORN, '--http', 'h11', '--loop', 'asyncio', '--ws', 'websockets-sansio', '{app}'),
        (('ws', ()),),
        http1=False,
    ),
    ServerSpec(
        'uvicorn-wsproto-asyncio',
        'asgi',
        'ours',
        (*_UVICORN, '--http', 'h11', '--loop', 'asyncio', '--ws', 'wsproto', '{app}'),
        (('ws', ()),),
        http1=False,
    ),
)

_API_WRAPPER = Path(__file__).with_name('serve_ours_api.py')


def before_rows(tree: Path) -> tuple[ServerSpec, ...]:
    """Rows of our server as another checkout has it (``--before``), for before/after in one run.

    They mirror ours-asyncio, ours-rsgi-asyncio and ours-wsgi, with ``tree``'s package sources
    ahead of the editable install on ``PYTHONPATH``; interleaved with the current rows, a hot-path
    change is measured under the same conditions on both sides.
    """
    sources = tuple(str(path) for path in sorted(tree.glob('packages/*/src')))
    if not sources:
        raise SystemExit(f'--before {tree}: no packages/*/src there (give a checkout of this repository)')
    mirrored = {
        'ours-asyncio': 'before-asyncio',
        'ours-rsgi-asyncio': 'before-rsgi-asyncio',
        'ours-wsgi': 'before-wsgi',
    }
    # A checkout from before the httptools parser has no --http1-parser; it parses with h11 anyway,
    # which is what the option asks for, so the rows drop it rather than fail to start.
    options = tree / 'packages/granian-cli/src/granian_cli/options.py'
    knows_parser = options.is_file() and '--http1-parser' in options.read_text()
    return tuple(
        ServerSpec(
            mirrored[spec.name],
            spec.interface,
            spec.env,
            spec.argv if knows_parser else _without(spec.argv, _PURE),
            spec.transports,
            spec.http1,
            sources,
        )
        for spec in SERVERS
        if spec.name in mirrored
    )


def _without(argv: tuple[str, ...], option: tuple[str, ...]) -> tuple[str, ...]:
    """``argv`` with the consecutive tokens ``option`` taken out where they occur."""
    out: list[str] = []
    index = 0
    while index < len(argv):
        if argv[index : index + len(option)] == option:
            index += len(option)
            continue
        out.append(argv[index])
        index += 1
    return tuple(out)


def ours_launcher(python: Path) -> list[str]:
    """``python -m granian`` when its CLI takes our options, else the API wrapper."""
    probe = subprocess.run([str(python), '-m', 'granian', '--help'], capture_output=True, text=True, timeout=60)
    usable = probe.returncode == 0 and all(opt in probe.stdout for opt in ('--interface', '--loop', '--port'))
    return [str(python), '-m', 'granian'] if usable else [str(python), str(_API_WRAPPER)]


def expand_argv(argv: Sequence[str], values: Mapping[str, str | list[str]]) -> list[str]:
    """Fill placeholders; a token that is exactly ``{name}`` of a list value is spliced in."""
    scalars = {key: value for key, value in values.items() if isinstance(value, str)}
    out: list[str] = []
    for token in argv:
        value = values.get(token[1:-1]) if token.startswith('{') and token.endswith('}') else None
        if isinstance(value, list):
            out.extend(value)
        else:
            out.append(token.format(**scalars))
    return out
