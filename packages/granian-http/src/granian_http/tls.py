"""TLS for the server side: checking the certificate options, building the ``ssl.SSLContext``, and
the facts of each handshake that interfaces pass on (the ASGI ``tls`` extension).

The context comes from the standard library; cryptography only reads what ``ssl`` reports badly:

* the key is opened with cryptography first, so a missing or wrong password and a file that is not
  a key each get their own message instead of OpenSSL's ``PEM lib``, and an encrypted key never
  reaches OpenSSL without its password (OpenSSL would prompt on the terminal for one);
* the key is then loaded by ``load_cert_chain`` with its password, so the decrypted key never
  touches the disk. Only when the ``ssl`` module's OpenSSL cannot decrypt a key that cryptography
  could (an algorithm it does not build) is the decrypted key handed over in a file: mode 0600,
  in a fresh mode-0700 directory, deleted as soon as it is loaded;
* CRLs (PEM or DER) are parsed by cryptography, so a bad file is named, then loaded into the
  context as PEM; ``VERIFY_CRL_CHECK_LEAF`` makes OpenSSL refuse a revoked client certificate.

mTLS: with ``ca`` and ``client_verify`` a client must present a certificate that chains to ``ca``
(``CERT_REQUIRED``); with ``ca`` alone one is asked for and checked if sent (``CERT_OPTIONAL``).
A certificate that fails the check fails the handshake either way, so ``client_cert_error`` in the
handshake facts is always ``None``.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import ssl
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ['TLSConfig', 'TLSConfigError', 'TLSInfo', 'TLSServer', 'alpn_protocols', 'check_crl_files', 'load_tls']

# What OpenSSL's ``version()`` says -> the TLS record version numbers the ASGI extension wants.
_TLS_VERSIONS = {'TLSv1': 0x0301, 'TLSv1.1': 0x0302, 'TLSv1.2': 0x0303, 'TLSv1.3': 0x0304}
_MINIMUM = {'tls1.2': ssl.TLSVersion.TLSv1_2, 'tls1.3': ssl.TLSVersion.TLSv1_3}
# TLS 1.2 suites: forward secret AEAD only, which also keeps HTTP/2 off RFC 9113 Appendix A's
# block list. TLS 1.3 suites are all fine and are configured separately by OpenSSL.
_TLS12_CIPHERS = 'ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20'


class TLSConfigError(ValueError):
    """A TLS option that cannot work, with the option's name and what to do about it."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f'{option}: {message}')
        self.option = option


@dataclass(frozen=True)
class TLSConfig:
    """The ``ssl_*`` options as plain, picklable values (workers build their own context)."""

    cert: str
    key: str
    key_password: str | None = None
    #: ``'tls1.2'`` or ``'tls1.3'``.
    protocol_min: str = 'tls1.3'
    ca: str | None = None
    crl: tuple[str, ...] = ()
    client_verify: bool = False


@dataclass(frozen=True)
class TLSInfo:
    """What one TLS handshake settled, in the shape of the ASGI TLS extension."""

    #: Our certificate, PEM.
    server_cert: str | None
    #: The client's certificate then its chain, PEM; empty without a client certificate. Python
    #: before 3.13 exposes only the client's own certificate, so the chain has one entry there.
    client_cert_chain: tuple[str, ...] = ()
    #: The RFC 4514 subject of the client certificate.
    client_cert_name: str | None = None
    #: Always ``None``: a client certificate that fails verification fails the handshake.
    client_cert_error: str | None = None
    #: ``0x0303`` for TLS 1.2, ``0x0304`` for TLS 1.3.
    tls_version: int | None = None
    #: The IANA number of the cipher suite, e.g. ``0x1301``.
    cipher_suite: int | None = None
    #: The ALPN protocol agreed on (``'h2'``, ``'http/1.1'``), ``None`` when the client sent none.
    alpn_protocol: str | None = None

    def asgi(self) -> dict[str, Any]:
        """The ``scope['extensions']['tls']`` dict."""
        return {
            'server_cert': self.server_cert,
            'client_cert_chain': list(self.client_cert_chain),
            'client_cert_name': self.client_cert_name,
            'client_cert_error': self.client_cert_error,
            'tls_version': self.tls_version,
            'cipher_suite': self.cipher_suite,
        }


@dataclass
class TLSServer:
    """A ready server context plus what is needed to describe each handshake."""

    context: ssl.SSLContext
    server_cert: str
    _cipher_ids: dict[str, int] = field(default_factory=dict)

    def handshake_info(self, ssl_object: Any) -> TLSInfo:
        """Describe the handshake of one connection (``transport.get_extra_info('ssl_object')``)."""
        cipher = ssl_object.cipher()
        chain: tuple[str, ...] = ()
        name: str | None = None
        leaf = ssl_object.getpeercert(binary_form=True)
        if leaf:
            verified = getattr(ssl_object, 'get_verified_chain', None)
            ders = list(verified()) if verified is not None else [leaf]
            chain = tuple(ssl.DER_cert_to_PEM_cert(bytes(der)) for der in ders)
            name = _subject_name(leaf)
        return TLSInfo(
            server_cert=self.server_cert,
            client_cert_chain=chain,
            client_cert_name=name,
            tls_version=_TLS_VERSIONS.get(ssl_object.version() or ''),
            cipher_suite=self._cipher_ids.get(cipher[0]) if cipher else None,
            alpn_protocol=ssl_object.selected_alpn_protocol(),
        )


def _subject_name(der: bytes) -> str | None:
    from cryptography import x509

    try:
        return x509.load_der_x509_certificate(der).subject.rfc4514_string()
    except ValueError:
        return None


def alpn_protocols(http_mode: str) -> list[str]:
    """The ALPN protocols to offer for ``http`` = ``'auto'``, ``'1'`` or ``'2'``."""
    if http_mode == '1':
        return ['http/1.1']
    if http_mode == '2':
        return ['h2']
    return ['h2', 'http/1.1']


def load_tls(config: TLSConfig, http_mode: str = 'auto') -> TLSServer:
    """Check every file ``config`` names and build the server context.

    Raises :class:`TLSConfigError` naming the option at fault and the fix.
    """
    server_cert = _check_cert(config.cert)
    key_pem, encrypted = _check_key(config.key, config.key_password)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.minimum_version = _MINIMUM[config.protocol_min]
    except KeyError:
        raise TLSConfigError('ssl_protocol_min', f"{config.protocol_min!r} is not 'tls1.2' or 'tls1.3'") from None
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE | ssl.OP_NO_RENEGOTIATION
    context.set_ciphers(_TLS12_CIPHERS)
    context.set_alpn_protocols(alpn_protocols(http_mode))
    _load_chain(context, config, key_pem if encrypted else None)
    if config.ca is not None:
        try:
            context.load_verify_locations(cafile=config.ca)
        except (OSError, ssl.SSLError) as exc:
            raise TLSConfigError(
                'ssl_ca', f'cannot load CA certificates from {config.ca} ({_reason(exc)}); give a PEM file'
            ) from None
        context.verify_mode = ssl.CERT_REQUIRED if config.client_verify else ssl.CERT_OPTIONAL
        if config.crl:
            for crl_pem in _check_crls(config.crl):
                with _private_file(crl_pem) as path:
                    context.load_verify_locations(cafile=path)
            context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    elif config.client_verify:
        raise TLSConfigError('ssl_client_verify', 'verifying client certificates needs ssl_ca, the CA to check against')
    cipher_ids = {cipher['name']: cipher['id'] & 0xFFFF for cipher in context.get_ciphers()}
    return TLSServer(context, server_cert, cipher_ids)


def check_crl_files(paths: Sequence[str]) -> list[str]:
    """Parse each CRL (raising :class:`TLSConfigError`) and return warnings about them."""
    warnings = []
    now = datetime.datetime.now(datetime.timezone.utc)
    for path, crl in zip(paths, _parse_crls(paths), strict=True):
        next_update = getattr(crl, 'next_update_utc', None)
        if next_update is not None and next_update < now:
            warnings.append(f'ssl_crl: {path} expired on {next_update:%Y-%m-%d}; clients will be refused')
    return warnings


# -- checks ------------------------------------------------------------------------------------


def _read(option: str, path: str, what: str) -> bytes:
    try:
        with open(path, 'rb') as file:
            return file.read()
    except OSError as exc:
        raise TLSConfigError(option, f'cannot read {path} ({exc.strerror or exc}); give the path of {what}') from None


def _check_cert(path: str) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    data = _read('ssl_cert', path, 'a PEM certificate file')
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        certs = []
    if not certs:
        raise TLSConfigError('ssl_cert', f'{path} holds no PEM certificate; give the certificate (chain) in PEM form')
    return certs[0].public_bytes(Encoding.PEM).decode('ascii')


def _check_key(path: str, password: str | None) -> tuple[bytes, bool]:
    """Open the key; return it as unencrypted PEM and whether the file was encrypted."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    data = _read('ssl_key', path, 'a PEM private key file')
    encrypted = b'ENCRYPTED' in data
    if encrypted and password is None:
        raise TLSConfigError('ssl_key_password', f'the key in {path} is encrypted; give its password')
    try:
        key = serialization.load_pem_private_key(data, password.encode() if encrypted and password else None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        if encrypted:
            raise TLSConfigError(
                'ssl_key_password', f'cannot decrypt the key in {path} with the given password; check the password'
            ) from None
        raise TLSConfigError(
            'ssl_key', f'{path} holds no usable PEM private key ({exc}); give the key (PKCS#8 or PKCS#1) in PEM form'
        ) from None
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return pem, encrypted


def _load_chain(context: ssl.SSLContext, config: TLSConfig, decrypted_key: bytes | None) -> None:
    password = config.key_password if decrypted_key is not None else None
    try:
        context.load_cert_chain(config.cert, config.key, password)
        return
    except ssl.SSLError as exc:
        error = exc
    if decrypted_key is not None and 'mismatch' not in str(error).lower():
        # cryptography could decrypt the key but this OpenSSL cannot: hand it over decrypted.
        with _private_file(decrypted_key) as key_path:
            try:
                context.load_cert_chain(config.cert, key_path)
                return
            except ssl.SSLError as exc:
                error = exc
    if 'mismatch' in str(error).lower():
        raise TLSConfigError(
            'ssl_key', f'the key in {config.key} does not belong to the certificate in {config.cert}; give the pair'
        ) from None
    raise TLSConfigError(
        'ssl_cert', f'cannot use {config.cert} with {config.key} ({_reason(error)}); give a PEM certificate and its key'
    ) from None


def _parse_crls(paths: Sequence[str]) -> list[Any]:
    from cryptography import x509

    crls = []
    for path in paths:
        data = _read('ssl_crl', path, 'a CRL file')
        loader = x509.load_pem_x509_crl if b'-----BEGIN' in data else x509.load_der_x509_crl
        try:
            crls.append(loader(data))
        except ValueError:
            raise TLSConfigError(
                'ssl_crl', f'{path} is not a certificate revocation list; give a PEM or DER CRL'
            ) from None
    return crls


def _check_crls(paths: Sequence[str]) -> list[bytes]:
    from cryptography.hazmat.primitives.serialization import Encoding

    return [crl.public_bytes(Encoding.PEM) for crl in _parse_crls(paths)]


@contextlib.contextmanager
def _private_file(data: bytes) -> Iterator[str]:
    """A file only we can read, holding ``data``, removed on exit."""
    directory = tempfile.mkdtemp(prefix='granian-tls-')  # mode 0700
    path = os.path.join(directory, 'data.pem')
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, 'wb') as file:
            file.write(data)
        yield path
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
        with contextlib.suppress(OSError):
            os.rmdir(directory)


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, 'reason', None) or getattr(exc, 'strerror', None)
    return str(reason or exc)
