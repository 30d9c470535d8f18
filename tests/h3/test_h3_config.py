"""The HTTP/3 options: the switch and its settings from flags, env vars and ``Granian(...)``, and a
one-line answer (never a traceback) for every setup that cannot work."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from granian import Granian
from granian.errors import ConfigurationError
from granian.http import HTTP3Settings
from testkit.certs import Certs
from testkit.process import ROOT, cli_server

H2_APPS = Path(__file__).parents[1] / 'h2' / 'apps'


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, '-m', 'granian', *args, 'examples.hello:app'],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**_clean_env(), **(env or {})},
    )


def _clean_env() -> dict[str, str]:
    import os

    return {name: value for name, value in os.environ.items() if not name.startswith('GRANIAN_')}


def test_http3_needs_a_certificate_and_key() -> None:
    result = _cli('--http3')
    assert result.returncode == 1
    assert 'Traceback' not in result.stderr + result.stdout
    assert '--http3: HTTP/3 runs over QUIC, which always uses TLS; give --ssl-certificate and --ssl-keyfile' in (
        result.stdout + result.stderr
    )
    with pytest.raises(ConfigurationError, match='ssl-certificate'):
        Granian('examples.hello:app', http3=True)


def test_the_env_var_switches_it_on_too() -> None:
    result = _cli(env={'GRANIAN_HTTP3': 'true'})
    assert result.returncode == 1
    assert '--http3: HTTP/3 runs over QUIC' in result.stdout + result.stderr


def test_mtls_and_crls_are_refused_rather_than_weakened(certs: Certs) -> None:
    tls = ('--ssl-certificate', str(certs.cert), '--ssl-keyfile', str(certs.key))
    result = _cli('--http3', *tls, '--ssl-ca', str(certs.ca), '--ssl-client-verify')
    assert result.returncode == 1
    assert '--http3: aioquic cannot verify client certificates (ssl_ca)' in result.stdout + result.stderr
    result = _cli('--http3', *tls, '--ssl-ca', str(certs.ca), '--ssl-crl', str(certs.crl))
    assert result.returncode == 1
    assert 'aioquic cannot' in result.stdout + result.stderr


def test_a_unix_socket_cannot_carry_it(certs: Certs, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match='http3: HTTP/3 needs an address and port'):
        Granian('examples.hello:app', http3=True, uds=tmp_path / 's.sock', ssl_cert=certs.cert, ssl_key=certs.key)


@pytest.mark.parametrize(
    ('flag', 'value'),
    [
        ('--http3-max-datagram-size', '1100'),
        ('--http3-idle-timeout', '0'),
        ('--http3-max-concurrent-streams', '0'),
        ('--http3-initial-stream-window-size', '10'),
    ],
)
def test_out_of_range_settings_are_usage_errors(flag: str, value: str) -> None:
    result = _cli('--http3', flag, value)
    assert result.returncode == 2
    assert flag in result.stderr and 'Traceback' not in result.stderr


def test_out_of_range_settings_through_the_api(certs: Certs) -> None:
    with pytest.raises(ConfigurationError, match='http3_max_datagram_size: 100 is out of range'):
        Granian(
            'examples.hello:app',
            http3=True,
            http3_settings=HTTP3Settings(max_datagram_size=100),
            ssl_cert=certs.cert,
            ssl_key=certs.key,
        )


def test_flags_reach_the_settings(certs: Certs) -> None:
    """A server started with every --http3-* flag serves HTTP/3 and reports what it was given."""
    import asyncio

    from testkit.h3 import h3_session

    proc = cli_server(
        '--interface', 'asgi', '--port', '0', '--working-dir', str(H2_APPS),
        '--ssl-certificate', str(certs.cert), '--ssl-keyfile', str(certs.key),
        '--http3', '--http3-max-concurrent-streams', '7', '--http3-idle-timeout', '9',
        '--http3-max-datagram-size', '1280', '--http3-initial-stream-window-size', '70000',
        '--http3-initial-connection-window-size', '300000', '--http3-max-headers-size', '2048',
        '--http3-max-send-buffer-size', '2048', 'h2_asgi:app',
    ).ready()  # fmt: skip

    async def go() -> None:
        async with h3_session(proc.port) as client:
            assert (await client.request('/scope')).status == 200
            quic = client._quic
            assert quic._remote_max_streams_bidi == 7
            assert quic._remote_max_idle_timeout == 9
            assert 300000 <= quic._remote_max_data < 300000 + 4096  # moved by what was released
            assert quic._remote_max_stream_data_bidi_remote == 70000
            big = [(b'x-h%d' % index, b'v' * 20) for index in range(60)]
            assert (await client.request('/scope', headers=big)).status == 431

    try:
        asyncio.run(go())
    finally:
        assert proc.stop() == 0


def test_without_aioquic_the_error_names_the_extra(certs: Certs, monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes `import aioquic` raise ImportError, as on an install without it.
    monkeypatch.setitem(sys.modules, 'aioquic', None)
    with pytest.raises(ConfigurationError, match=r'http3: needs the aioquic package.*pip install granian\[http3\]'):
        Granian('examples.hello:app', http3=True, ssl_cert=certs.cert, ssl_key=certs.key)
