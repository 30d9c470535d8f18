"""A real browser over HTTP/3: headless Chromium (Debian's ``chromium``, which ``.ci/run`` installs)
loads a page with a stylesheet, an image and a ``fetch()`` from our server, and the page reports
``performance.getEntries()[...].nextHopProtocol`` for each: all ``h3``.

Chromium is told to speak QUIC to our origin from the first request
(``--origin-to-force-quic-on``) and to trust our test certificate by its public key
(``--ignore-certificate-errors-spki-list``); ``localhost`` is pinned to 127.0.0.1
(``--host-resolver-rules``), since Chromium tries ``::1`` first and a forced QUIC origin does not
fall back. ``--dump-dom`` prints the page once loading settles (``--virtual-time-budget`` lets the
``fetch()`` and the script finish first).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from testkit.certs import Certs
from testkit.process import api_server

APPS = Path(__file__).parent / 'apps'
CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')


def _spki_hash(cert: Path) -> str:
    """base64(SHA-256(SubjectPublicKeyInfo)) of the server certificate, as Chromium wants it."""
    certificate = x509.load_pem_x509_certificate(cert.read_bytes())
    spki = certificate.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def test_chromium_loads_a_page_its_resources_and_a_fetch_over_h3(certs: Certs, tmp_path: Path) -> None:
    # Not a skip: CI installs chromium (.ci/run), and a missing browser must fail loudly.
    assert CHROMIUM is not None, 'chromium is not installed: apt-get install -y chromium'
    proc = api_server(
        'browser_app:app',
        interface='asgi',
        working_dir=str(APPS),
        http3=True,
        ssl_cert=certs.cert,
        ssl_key=certs.key,
        log_access=True,
    ).ready()
    try:
        origin = f'localhost:{proc.port}'
        result = subprocess.run(
            [
                CHROMIUM,
                '--headless',
                '--no-sandbox',  # CI runs as root
                '--disable-gpu',
                '--no-first-run',
                '--disable-background-networking',
                '--disable-component-update',
                '--disable-sync',
                '--disable-dev-shm-usage',
                f'--user-data-dir={tmp_path / "profile"}',
                f'--origin-to-force-quic-on={origin}',
                f'--ignore-certificate-errors-spki-list={_spki_hash(certs.cert)}',
                '--host-resolver-rules=MAP localhost 127.0.0.1',
                '--virtual-time-budget=15000',
                '--dump-dom',
                f'https://{origin}/',
            ],
            capture_output=True,
            text=True,
            timeout=90,
        )
        match = re.search(r'RESULT (\{.*?\})</pre>', result.stdout)
        assert match is not None, f'no result in the page; stdout:\n{result.stdout}\nstderr:\n{result.stderr[-3000:]}'
        report = json.loads(match.group(1).replace('&quot;', '"'))
        assert report['answer'] == {'http_version': '3'}
        seen = dict(report['seen'])
        # A browser may fetch /favicon.ico on its own, or not: only the page's own loads count,
        # and whatever else it fetched must have come over HTTP/3 as well.
        page = {path: seen.pop(path, None) for path in ('/', '/style.css', '/pixel.png', '/api')}
        assert page == {'/': 'h3', '/style.css': 'h3', '/pixel.png': 'h3', '/api': 'h3'}, report
        assert set(seen.values()) <= {'h3'}, report
        # And the server agrees: every request of the page came over HTTP/3.
        for path in ('/', '/style.css', '/pixel.png', '/api'):
            proc.wait_for(rf'"GET {re.escape(path)} HTTP/3" 200')
    finally:
        assert proc.stop() == 0
