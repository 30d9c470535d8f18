"""The deployment guide's recipes, read from the guide and its files, as the tests run them.

Every test in this folder takes what it runs from ``docs/deployment.md`` or the files under
``docs/deployment/``, never from a copy: a recipe edited in the guide is the recipe tested. A test
changes only what cannot stay as written on a test machine (ports, certificate paths, install
paths), with :func:`replace`, which fails when the text it replaces is gone, so that an edited
recipe cannot silently bypass the test.
"""

from __future__ import annotations

import json
import re
import shlex
import socket
import ssl
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from testkit.certs import Certs
from testkit.poll import eventually
from testkit.process import ROOT, ServerProcess

GUIDE = ROOT / 'docs' / 'deployment.md'
RECIPES = ROOT / 'docs' / 'deployment'
#: The app every recipe serves as ``main:app`` from its working directory (/srv/app there).
APP_DIR = ROOT / 'examples' / 'deploy'
#: Where clients connect from, so that the client the app sees cannot be the proxy (127.0.0.1).
CLIENT = '127.0.0.2'
#: A forged X-Forwarded-For entry a client sends, which a proxy-header setup must never believe.
FORGED = '203.0.113.66'

_COMMAND = re.compile(r'<!-- command: ([\w-]+) -->\n```sh\n(.*?)\n```', re.DOTALL)


def replace(text: str, replacements: Mapping[str, str]) -> str:
    """``text`` with each key replaced by its value; each key must occur in ``text``."""
    for old, new in replacements.items():
        assert old in text, f'the recipe no longer contains {old!r}: update the test with it'
        text = text.replace(old, new)
    return text


def recipe(name: str, replacements: Mapping[str, str] | None = None) -> str:
    """The text of ``docs/deployment/NAME``, with ``replacements`` made (see :func:`replace`)."""
    return replace((RECIPES / name).read_text(), replacements or {})


def guide_commands() -> dict[str, str]:
    """Every command the guide marks with ``<!-- command: NAME -->`` before its ``sh`` block."""
    return {name: body for name, body in _COMMAND.findall(GUIDE.read_text())}


def guide_command(name: str, replacements: Mapping[str, str] | None = None) -> list[str]:
    """The guide's command ``name`` as an argv (``granian`` run by this interpreter), with
    ``replacements`` made on its words (each must be one of them)."""
    words = shlex.split(guide_commands()[name].replace('\\\n', ' '))
    for old, new in (replacements or {}).items():
        assert old in words, f'the guide command {name!r} no longer has {old!r}: update the test with it'
        words = [new if word == old else word for word in words]
    assert words[0] == 'granian', words
    return [sys.executable, '-m', 'granian', *words[1:]]


def free_port() -> int:
    with socket.create_server(('127.0.0.1', 0)) as probe:
        port: int = probe.getsockname()[1]
        return port


def wait_listening(process: ServerProcess, *ports: int) -> None:
    """Wait until ``process`` (a proxy started in the foreground) accepts on every port."""

    def accepts(port: int) -> bool:
        assert process.proc.poll() is None, f'exited with {process.proc.returncode}:\n{process.output}'
        try:
            socket.create_connection(('127.0.0.1', port), timeout=1).close()
        except OSError:
            return False
        return True

    for port in ports:
        eventually(lambda port=port: accepts(port), what=f'a listener on port {port}')


def client_context(ca: Path) -> ssl.SSLContext:
    """What a client trusts: the test CA that signed the certificate of 127.0.0.1."""
    return ssl.create_default_context(cafile=str(ca))


def seen_through(url: str, *, ca: Path | None = None, http2: bool = False) -> tuple[dict[str, Any], int]:
    """GET ``url`` from :data:`CLIENT`, sending a forged X-Forwarded-For and X-Forwarded-Proto:
    what the app says it was told of the connection, and the client's own port."""
    verify: ssl.SSLContext | bool = client_context(ca) if ca is not None else False
    transport = httpx.HTTPTransport(local_address=CLIENT, verify=verify, http2=http2)
    forged = {'x-forwarded-for': FORGED, 'x-forwarded-proto': 'http'}
    with httpx.Client(transport=transport, timeout=20) as client, client.stream('GET', url, headers=forged) as response:
        # Read the port while the connection is still open: the app's answer is about this one.
        stream = response.extensions['network_stream']
        local_port: int = stream.get_extra_info('client_addr')[1]
        response.read()
    assert response.status_code == 200, response.text
    seen: dict[str, Any] = json.loads(response.text)
    return seen, local_port


def serve(command: str, replacements: Mapping[str, str]) -> ServerProcess:
    """The guide's granian command ``command``, from the app's directory, once it serves."""
    return ServerProcess(guide_command(command, replacements), cwd=APP_DIR).ready()


def tls_files(certs: Certs) -> dict[str, str]:
    """The guide's certificate paths for granian, made the test certificate's."""
    return {'/etc/granian/cert.pem': str(certs.cert), '/etc/granian/key.pem': str(certs.key)}
