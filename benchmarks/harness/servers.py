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
# What `granian[speedups]` (issue 12) switches on: uvloop, and the httptools HTTP/1.1 parser.
# >>> THE PARSER CHOICE GOES HERE. Our server has no httptools parser yet, so these rows run
# ours on uvloop with the h11 parser. Once the parser exists and is picked automatically when
# httptools is installed, nothing needs adding here to *use* it; but the `ours` venv installs
# httptools (uvicorn[standard] brings it), so the pure-Python rows (ours-asyncio, ours-uvloop,
# ours-rsgi-asyncio, ours-wsgi) will then need the option that forces h11, or a venv of their own
# without httptools. If the parser is chosen by an option instead, put it in this tuple. <<<
_SPEEDUPS = ('--loop', 'uvloop')
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
        (*_OURS, '--interface', 'asgi', '--loop', 'asyncio', '{app}'),
        (*_OURS_TRANSPORTS, _OURS_WS, _OURS_H3),
    ),
    ServerSpec(
        'ours-uvloop',
        'asgi',
        'ours',
        (*_OURS, '--interface', 'asgi', '--loop', 'uvloop', '{app}'),
        _OURS_TRANSPORTS,
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
    # RSGI (issue 3): HTTP/1.1 and WebSockets on the stdlib loop, like the ASGI rows it is compared with.
    ServerSpec(
        'ours-rsgi-asyncio', 'rsgi', 'ours', (*_OURS, '--interface', 'rsgi', '--loop', 'asyncio', '{app}'), (_OURS_WS,)
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
    ServerSpec('ours-wsgi', 'wsgi', 'ours', (*_OURS, '--interface', 'wsgi', '--loop', 'asyncio', '{app}')),
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
    return tuple(
        ServerSpec(mirrored[spec.name], spec.interface, spec.env, spec.argv, spec.transports, spec.http1, sources)
        for spec in SERVERS
        if spec.name in mirrored
    )


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
