"""A throwaway certificate for the HTTPS scenarios, made with the openssl command (no Python deps).

The load generators do not verify it; the harness's own response check does not either.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

__all__ = ['make_certificate']


def make_certificate(directory: Path, host: str) -> tuple[Path, Path]:
    """A self-signed P-256 certificate for ``host`` (an IP address) and its PKCS#8 key."""
    cert, key = directory / 'bench-cert.pem', directory / 'bench-key.pem'
    subprocess.run(
        [
            'openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
            '-days', '2', '-subj', f'/CN={host}', '-addext', f'subjectAltName=IP:{host}',
            '-keyout', str(key), '-out', str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key
