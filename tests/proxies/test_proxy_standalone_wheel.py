"""granian-proxies works installed alone: build its wheel, install only that into a fresh venv, use it.

The shared workspace env has every granian package installed, so it would hide an import of a
sibling; only a venv holding nothing but this wheel can show the package stands alone. Building
needs hatchling, which uv takes from its cache or the configured index; installing needs no index
at all (``--no-index``: the wheel has no dependencies).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / 'packages' / 'granian-proxies'

CHECK = r"""
import asyncio, importlib.util, json

for sibling in ('granian', 'granian_server', 'granian_http', 'granian_rsgi_spec', 'granian_cli'):
    assert importlib.util.find_spec(sibling) is None, f'{sibling} must not be installed here'

import granian_proxies
from granian_proxies import wrap_asgi_with_proxy_headers, wrap_rsgi_with_proxy_headers, wrap_wsgi_with_proxy_headers

seen = {}

async def asgi_app(scope, receive, send):
    seen['asgi'] = (scope['client'], scope['scheme'])

scope = {
    'type': 'http',
    'client': ('10.1.2.3', '50000'),
    'scheme': 'http',
    'headers': [(b'x-forwarded-for', b'203.0.113.7, 10.1.2.4'), (b'x-forwarded-proto', b'https')],
}
asyncio.run(wrap_asgi_with_proxy_headers(asgi_app, '10.0.0.0/8')(scope, None, None))

def wsgi_app(environ, start_response):
    seen['wsgi'] = (environ['REMOTE_ADDR'], environ['wsgi.url_scheme'])
    return []

wrap_wsgi_with_proxy_headers(wsgi_app, ['::1'], forwarded=True)(
    {'REMOTE_ADDR': '::1', 'wsgi.url_scheme': 'http', 'HTTP_FORWARDED': 'for="[2001:db8::7]";proto=https'}, None
)

class Headers:
    def get_all(self, key):
        return {'x-forwarded-for': ['198.51.100.9']}.get(key, [])

class Scope:
    client, scheme, server, authority, headers, path = '127.0.0.1:1', 'http', '127.0.0.1:80', None, Headers(), '/x'

async def rsgi_app(scope, protocol):
    seen['rsgi'] = (scope.client, scope.scheme, scope.path)

asyncio.run(wrap_rsgi_with_proxy_headers(rsgi_app)(Scope(), None))
print(json.dumps({'file': granian_proxies.__file__, **seen}))
"""


def _uv() -> str:
    found = shutil.which('uv')
    if found:
        return found
    tools = Path(os.environ.get('CI_TOOLS_DIR', '/tmp/granian-ci-tools'))
    candidate = tools / 'bin' / 'uv'
    assert candidate.exists(), (
        'uv is needed to build the wheel: it is on PATH wherever hatch runs (.ci/run installs it)'
    )
    return str(candidate)


def _run(*argv: str | Path) -> str:
    result = subprocess.run([str(arg) for arg in argv], capture_output=True, text=True, timeout=110)
    assert result.returncode == 0, f'{argv} failed:\n{result.stdout}\n{result.stderr}'
    return result.stdout


def test_wheel_installs_and_works_alone(tmp_path: Path) -> None:
    uv = _uv()
    dist = tmp_path / 'dist'
    _run(uv, 'build', '--wheel', '--quiet', PACKAGE, '-o', dist)
    wheels = list(dist.glob('granian_proxies-*.whl'))
    assert len(wheels) == 1, wheels

    names = zipfile.ZipFile(wheels[0]).namelist()
    packages = {name.split('/')[0] for name in names if not name.split('/')[0].endswith('.dist-info')}
    assert packages == {'granian_proxies'}
    assert 'granian_proxies/py.typed' in names
    metadata = next(name for name in names if name.endswith('.dist-info/METADATA'))
    assert 'Requires-Dist' not in zipfile.ZipFile(wheels[0]).read(metadata).decode()

    venv = tmp_path / 'venv'
    _run(uv, 'venv', '--quiet', '--python', sys.executable, venv)
    python = venv / 'bin' / 'python'
    _run(uv, 'pip', 'install', '--quiet', '--no-index', '--python', python, wheels[0])

    import json

    seen = json.loads(_run(python, '-I', '-c', CHECK))
    assert Path(seen['file']).is_relative_to(venv)  # the installed wheel, not the workspace
    assert seen['asgi'] == [['203.0.113.7', 0], 'https']
    assert seen['wsgi'] == ['2001:db8::7', 'https']
    assert seen['rsgi'] == ['198.51.100.9:0', 'http', '/x']
