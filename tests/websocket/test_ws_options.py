"""``ws_max_size``, ``ws_ping_interval``, ``ws_ping_timeout``: the keyword, the flag, the variable,
the help line, the settings the workers get, and one line naming the option for a bad value."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner

import granian_server.server
from granian import Granian
from granian.errors import ConfigurationError
from granian.server.embed import Server as EmbeddedServer
from granian_cli import cli
from granian_http import WebSocketSettings
from granian_server.server import Server
from testkit.process import ROOT


def test_defaults_keep_todays_behaviour() -> None:
    # 16 MiB as before (and as Uvicorn); no pings at all, unlike Uvicorn's every 20 seconds.
    settings = Granian('examples.hello:app')._serve_config().websocket
    assert settings == WebSocketSettings(max_message_size=16 * 1024 * 1024, ping_interval=None, ping_timeout=20.0)


@pytest.mark.parametrize(
    ('options', 'expected'),
    [
        ({'ws_max_size': 1000}, WebSocketSettings(max_message_size=1000)),
        ({'ws_ping_interval': 5}, WebSocketSettings(ping_interval=5.0)),
        ({'ws_ping_interval': 0.5, 'ws_ping_timeout': 0.25}, WebSocketSettings(ping_interval=0.5, ping_timeout=0.25)),
        # Uvicorn's and upstream issue #613's "off": 0 or None.
        ({'ws_ping_interval': 0}, WebSocketSettings()),
        ({'ws_ping_interval': 30, 'ws_ping_timeout': None}, WebSocketSettings(ping_interval=30.0, ping_timeout=None)),
    ],
)
def test_keywords_reach_the_workers(options: dict[str, Any], expected: WebSocketSettings) -> None:
    assert Granian('examples.hello:app', interface='asgi', **options)._serve_config().websocket == expected
    assert EmbeddedServer(object(), interface='asgi', **options)._serve_config().websocket == expected


@pytest.mark.parametrize(
    ('options', 'message'),
    [
        ({'ws_max_size': 0}, 'ws_max_size: 0 is not a number of bytes of at least 1'),
        ({'ws_max_size': -1}, 'ws_max_size: -1 is not a number of bytes'),
        ({'ws_max_size': 1.5}, 'ws_max_size: 1.5 is not a number of bytes'),
        ({'ws_max_size': '1000'}, "ws_max_size: '1000' is not a number of bytes"),
        ({'ws_max_size': True}, 'ws_max_size: True is not a number of bytes'),
        ({'ws_ping_interval': -1}, 'ws_ping_interval: -1 is not a number of seconds above 0'),
        ({'ws_ping_interval': math.nan}, 'ws_ping_interval: nan is not a number of seconds'),
        ({'ws_ping_interval': math.inf}, 'ws_ping_interval: inf is not a number of seconds'),
        ({'ws_ping_interval': '20'}, "ws_ping_interval: '20' is not a number of seconds"),
        ({'ws_ping_interval': 5, 'ws_ping_timeout': 0}, 'ws_ping_timeout: 0 is not a number of seconds above 0'),
        ({'ws_ping_interval': 5, 'ws_ping_timeout': -2.5}, 'ws_ping_timeout: -2.5 is not'),
        ({'ws_ping_interval': 5, 'ws_ping_timeout': False}, 'ws_ping_timeout: False is not'),
    ],
)
def test_a_bad_value_names_the_option(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        Granian('examples.hello:app', interface='asgi', **options)
    assert str(raised.value).startswith(message)
    assert '\n' not in str(raised.value)


def test_options_without_effect_are_named_in_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    # The server's logger writes to stdout and does not propagate (see tests/server/test_options.py).
    Granian('examples.hello:app', interface='asgi', websockets=False, ws_max_size=1000, ws_ping_interval=5)
    assert 'ws_max_size and ws_ping_interval have no effect with websockets off' in capsys.readouterr().out
    Granian('examples.hello:app', interface='wsgi', ws_ping_interval=5)  # WSGI has no WebSockets
    assert 'ws_ping_interval has no effect with websockets off' in capsys.readouterr().out
    Granian('examples.hello:app', interface='asgi', ws_ping_timeout=5)
    assert 'ws_ping_timeout has no effect without ws_ping_interval' in capsys.readouterr().out
    Granian('examples.hello:app', interface='asgi', ws_ping_interval=10, ws_ping_timeout=5)
    assert 'no effect' not in capsys.readouterr().out


Command = Callable[..., WebSocketSettings]


@pytest.fixture
def command(monkeypatch: pytest.MonkeyPatch) -> Command:
    """Run ``granian`` with args (and variables); the server is built for real, but not served."""
    built: list[Server] = []

    class Unserved(Server):
        def serve(self, *args: Any, **kwargs: Any) -> None:
            built.append(self)

    monkeypatch.setattr(granian_server.server, 'Server', Unserved)

    def run(args: list[str], env: dict[str, str] | None = None) -> WebSocketSettings:
        built.clear()
        result = CliRunner().invoke(cli, [*args, 'examples.hello:app'], env=env, auto_envvar_prefix='GRANIAN')
        assert result.exit_code == 0, result.output
        (server,) = built
        return server.websocket_settings

    return run


def test_flags_and_variables_build_the_same_settings(command: Command) -> None:
    expected = WebSocketSettings(max_message_size=1000, ping_interval=2.5, ping_timeout=1.0)
    flags = ['--interface', 'asgi', '--ws-max-size', '1000', '--ws-ping-interval', '2.5', '--ws-ping-timeout', '1']
    assert command(flags) == expected
    env = {'GRANIAN_WS_MAX_SIZE': '1000', 'GRANIAN_WS_PING_INTERVAL': '2.5', 'GRANIAN_WS_PING_TIMEOUT': '1'}
    assert command(['--interface', 'asgi'], env) == expected
    assert command(['--interface', 'asgi', '--ws-ping-interval', '0']) == WebSocketSettings()


def test_help_says_pings_are_off_by_default() -> None:
    output = CliRunner().invoke(cli, ['--help'], auto_envvar_prefix='GRANIAN', terminal_width=400).output
    lines = {line.split()[0]: line for line in output.splitlines() if line.strip().startswith('--ws-')}
    assert 'GRANIAN_WS_MAX_SIZE; default: 16777216; x>=1]' in lines['--ws-max-size']
    assert 'GRANIAN_WS_PING_INTERVAL; default: (off); x>=0]' in lines['--ws-ping-interval']
    assert 'no pings' in lines['--ws-ping-interval']
    assert 'GRANIAN_WS_PING_TIMEOUT; default: 20.0; x>0]' in lines['--ws-ping-timeout']


@pytest.mark.parametrize(
    ('args', 'env', 'expected'),
    [
        (['--ws-max-size', '0'], None, "Error: Invalid value for '--ws-max-size'"),
        (['--ws-ping-interval', '-1'], None, "Error: Invalid value for '--ws-ping-interval'"),
        (['--ws-ping-timeout', '0'], None, "Error: Invalid value for '--ws-ping-timeout'"),
        # click's range lets NaN through: the server names the option in its own words.
        (['--ws-ping-interval', 'nan'], None, 'Error: --ws-ping-interval: nan is not a number of seconds above 0'),
        ([], {'GRANIAN_WS_PING_TIMEOUT': 'soon'}, "Error: Invalid value for '--ws-ping-timeout'"),
    ],
)
def test_the_command_refuses_bad_values_in_one_line(args: list[str], env: dict[str, str] | None, expected: str) -> None:
    result = subprocess.run(
        [sys.executable, '-m', 'granian', '--interface', 'asgi', '--port', '0', *args, 'examples.hello:app'],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,  # a server that starts anyway fails here
        env={**os.environ, **(env or {})},
    )
    output = result.stdout + result.stderr
    assert result.returncode in (1, 2), output
    assert 'Traceback' not in output
    (line,) = [line for line in result.stderr.splitlines() if line.startswith('Error: ')]
    assert line.startswith(expected), line
