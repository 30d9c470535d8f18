"""Certificates for TLS tests, made fresh per test module with trustme and cryptography.

One CA signs the server certificate (``localhost`` and ``127.0.0.1``) and two client
certificates; a CRL from the same CA revokes the second. The server key also exists encrypted
(PKCS#8, password ``secret``), and a second, unrelated CA signs an untrusted client certificate.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

KEY_PASSWORD = 'secret'


@dataclass(frozen=True)
class Certs:
    ca: Path
    cert: Path
    key: Path
    encrypted_key: Path
    client_cert: Path
    client_key: Path
    revoked_cert: Path
    revoked_key: Path
    stranger_cert: Path
    stranger_key: Path
    crl: Path
    crl_der: Path
    client_subject: str


def _serial(pem: bytes) -> int:
    return x509.load_pem_x509_certificate(pem).serial_number


def make_certs(directory: Path) -> Certs:
    ca = trustme.CA()
    server = ca.issue_cert('localhost', '127.0.0.1')
    client = ca.issue_cert('client.example', common_name='good client')
    revoked = ca.issue_cert('revoked.example', common_name='revoked client')
    stranger = trustme.CA().issue_cert('stranger.example', common_name='stranger')

    def write(name: str, data: bytes) -> Path:
        path = directory / name
        path.write_bytes(data)
        return path

    ca_key = serialization.load_pem_private_key(ca.private_key_pem.bytes(), None)
    server_key = serialization.load_pem_private_key(server.private_key_pem.bytes(), None)
    encrypted = server_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(KEY_PASSWORD.encode()),
    )
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now - datetime.timedelta(days=1))
        .next_update(now + datetime.timedelta(days=30))
        .add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(_serial(revoked.cert_chain_pems[0].bytes()))
            .revocation_date(now - datetime.timedelta(hours=1))
            .build()
        )
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    client_subject = x509.load_pem_x509_certificate(client.cert_chain_pems[0].bytes()).subject.rfc4514_string()
    return Certs(
        ca=write('ca.pem', ca.cert_pem.bytes()),
        cert=write('server.pem', b''.join(blob.bytes() for blob in server.cert_chain_pems)),
        key=write('server.key', server.private_key_pem.bytes()),
        encrypted_key=write('server-encrypted.key', encrypted),
        client_cert=write('client.pem', client.cert_chain_pems[0].bytes()),
        client_key=write('client.key', client.private_key_pem.bytes()),
        revoked_cert=write('revoked.pem', revoked.cert_chain_pems[0].bytes()),
        revoked_key=write('revoked.key', revoked.private_key_pem.bytes()),
        stranger_cert=write('stranger.pem', stranger.cert_chain_pems[0].bytes()),
        stranger_key=write('stranger.key', stranger.private_key_pem.bytes()),
        crl=write('ca.crl.pem', crl.public_bytes(serialization.Encoding.PEM)),
        crl_der=write('ca.crl.der', crl.public_bytes(serialization.Encoding.DER)),
        client_subject=client_subject,
    )
