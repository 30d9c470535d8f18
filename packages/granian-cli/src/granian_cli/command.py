"""The ``granian`` command: turn the options into a :class:`granian_server.server.Server` and serve.

Options reach the server under their own names except for the few upstream renamed; the
``--http1-*``, ``--http2-*`` and ``--http3-*`` options become the protocol settings objects. Any
:class:`~granian_server.errors.FatalError` (a configuration mistake included) ends the command with
exit code 1 and its message, never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from .options import server_options

__all__ = ['cli', 'entrypoint', 'server_kwargs']

# Option names whose Server keyword differs.
_RENAMED = {
    'host': 'address',
    'ssl_certificate': 'ssl_cert',
    'ssl_keyfile': 'ssl_key',
    'ssl_keyfile_password': 'ssl_key_password',
    'log_access_enabled': 'log_access',
    'log_access_fmt': 'log_access_format',
    'header': 'headers',  # Uvicorn's keyword: a list of them
}

# HTTP/1 option name -> HTTP1Settings field (the HTTP/2 fields are the option names minus 'http2_').
_HTTP1_FIELDS = {
    'http1_buffer_size': 'max_buffer_size',
    'http1_header_read_timeout': 'header_read_timeout',
    'http1_keep_alive': 'keep_alive',
    'http1_pipeline_flush': 'pipeline_flush',
    'http1_parser': 'parser',
}

_LOG_CONFIG_ERROR = 'Unable to parse provided logging config.'


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    for distribution in ('granian', 'granian-cli'):
        try:
            return version(distribution)
        except PackageNotFoundError:
            continue
    return 'unknown'


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    click.echo(f'granian {_version()}')
    ctx.exit()


def _read_log_config(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError):
        click.echo(_LOG_CONFIG_ERROR)
        raise click.exceptions.Exit(1) from None
    if not isinstance(config, dict):
        click.echo(_LOG_CONFIG_ERROR)
        raise click.exceptions.Exit(1)
    return config


def _cli_message(message: str, command: click.Command) -> str:
    """``message`` with its leading ``Server`` keyword shown as the flag a CLI user typed.

    Start-up errors name the option as a keyword (``address: cannot bind ...``) because
    ``Granian(...)`` raises them too; on the command line, ``--host: cannot bind ...`` says what
    to change. A message that does not start with a keyword is left alone.
    """
    keyword, sep, rest = message.partition(': ')
    if not sep:
        return message
    for param in command.params:
        if isinstance(param, click.Option) and param.name and _RENAMED.get(param.name, param.name) == keyword:
            return f'{param.opts[0]}: {rest}'
    return message


def server_kwargs(options: dict[str, Any]) -> dict[str, Any]:
    """Map the parsed options to ``Server`` keywords (without the target)."""
    from granian_http import HTTP1Settings, HTTP2Settings, HTTP3Settings

    options = dict(options)
    http1 = {field: options.pop(name) for name, field in _HTTP1_FIELDS.items()}
    http2 = {name.removeprefix('http2_'): options.pop(name) for name in list(options) if name.startswith('http2_')}
    http3 = {name.removeprefix('http3_'): options.pop(name) for name in list(options) if name.startswith('http3_')}
    kwargs: dict[str, Any] = {
        'http1_settings': HTTP1Settings(**http1),
        'http2_settings': HTTP2Settings(**http2),
        'http3_settings': HTTP3Settings(**http3),
        'log_dictconfig': _read_log_config(options.pop('log_config')),
    }
    for name, value in options.items():
        # Repeatable options arrive as tuples; an empty one means the option was not given.
        if isinstance(value, tuple):
            value = list(value) or None
        kwargs[_RENAMED.get(name, name)] = value
    return kwargs


@click.command(context_settings={'show_default': True})
@click.argument('app', required=True)
@server_options
@click.option(
    '--version',
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help='Show the version and exit.',
)
def cli(app: str, **options: Any) -> None:
    """Serve APP, a Python target such as 'module:app' or 'path/to/app.py:app'."""
    # Looked up at call time so that `granian --help` does not need the server.
    from granian_server.errors import FatalError
    from granian_server.server import Server
    from granian_server.target import patch_pypath

    kwargs = server_kwargs(options)
    patch_pypath(kwargs['working_dir'])
    try:
        server = Server(app, **kwargs)
        server.serve()
    except FatalError as exc:
        if str(exc):
            raise click.ClickException(_cli_message(str(exc), click.get_current_context().command)) from None
        raise click.exceptions.Exit(1) from None


def entrypoint() -> None:
    """The ``granian`` console script and ``python -m granian``: options also come from ``GRANIAN_*``."""
    cli(auto_envvar_prefix='GRANIAN')
