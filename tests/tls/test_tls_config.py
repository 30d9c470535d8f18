"""TLS options checked at construction: what is refused, with which message, and what is built."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from granian import Granian
from granian.errors import ConfigurationError
from granian_http.tls import TLSConfig, TLSConfigError, TLSInfo, alpn_protocols, load_tls
from testkit.certs import KEY_PASSWORD, Certs


def test_plain_and_encrypted_keys_load(certs: Certs) -> None:
    server = load_tls(TLSConfig(str(certs.cert), str(certs.key)))
    assert server.context.minimum_version == ssl.TLSVersion.TLSv1_3
    assert server.context.verify_mode == ssl.CERT_NONE
    assert server.server_cert.startswith('-----BEGIN CERTIFICATE-----')
    encrypted = load_tls(TLSConfig(str(certs.cert), str(certs.encrypted_key), KEY_PASSWORD, protocol_min='tls1.2'))
    assert encrypted.context.minimum_version == ssl.TLSVersion.TLSv1_2


def test_mtls_context(certs: Certs) -> None:
    required = load_tls(TLSConfig(str(certs.cert), str(certs.key), ca=str(certs.ca), client_verify=True))
    assert required.context.verify_mode == ssl.CERT_REQUIRED
    optional = load_tls(TLSConfig(str(certs.cert), str(certs.key), ca=str(certs.ca)))
    assert optional.context.verify_mode == ssl.CERT_OPTIONAL
    for crl in (certs.crl, certs.crl_der):
        with_crl = load_tls(
            TLSConfig(str(certs.cert), str(certs.key), ca=str(certs.ca), crl=(str(crl),), client_verify=True)
        )
        assert with_crl.context.verify_flags & ssl.VERIFY_CRL_CHECK_LEAF


def _bad_configs(certs: Certs, tmp: Path) -> list[tuple[str, TLSConfig, str]]:
    garbage = tmp / 'garbage.pem'
    garbage.write_text('not a pem file\n')
    return [
        ('ssl_cert', TLSConfig(str(tmp / 'missing.pem'), str(certs.key)), 'cannot read'),
        ('ssl_cert', TLSConfig(str(garbage), str(certs.key)), 'holds no PEM certificate'),
        ('ssl_key', TLSConfig(str(certs.cert), str(garbage)), 'holds no usable PEM private key'),
        ('ssl_key', TLSConfig(str(certs.cert), str(certs.client_key)), 'does not belong to the certificate'),
        ('ssl_key_password', TLSConfig(str(certs.cert), str(certs.encrypted_key)), 'is encrypted; give its password'),
        ('ssl_key_password', TLSConfig(str(certs.cert), str(certs.encrypted_key), 'wrong'), 'cannot decrypt'),
        ('ssl_protocol_min', TLSConfig(str(certs.cert), str(certs.key), protocol_min='tls1.1'), "'tls1.2' or 'tls1.3'"),
        ('ssl_ca', TLSConfig(str(certs.cert), str(certs.key), ca=str(garbage)), 'cannot load CA certificates'),
        (
            'ssl_crl',
            TLSConfig(str(certs.cert), str(certs.key), ca=str(certs.ca), crl=(str(garbage),)),
            'not a certificate revocation list',
        ),
        ('ssl_client_verify', TLSConfig(str(certs.cert), str(certs.key), client_verify=True), 'needs ssl_ca'),
    ]


def test_each_bad_file_names_its_option(certs: Certs, tmp_path: Path) -> None:
    for option, config, message in _bad_configs(certs, tmp_path):
        with pytest.raises(TLSConfigError) as caught:
            load_tls(config)
        assert caught.value.option == option, config
        assert str(caught.value).startswith(f'{option}: ')
        assert message in str(caught.value)


def test_granian_refuses_bad_tls_at_construction(certs: Certs, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r'^ssl_key_password: cannot decrypt'):
        Granian('app:app', ssl_cert=certs.cert, ssl_key=certs.encrypted_key, ssl_key_password='nope')
    with pytest.raises(ConfigurationError, match=r'^ssl_key_password: .* is encrypted'):
        Granian('app:app', ssl_cert=certs.cert, ssl_key=certs.encrypted_key)
    with pytest.raises(ConfigurationError, match=r'^ssl_cert: cannot read'):
        Granian('app:app', ssl_cert=tmp_path / 'nope.pem', ssl_key=certs.key)
    with pytest.raises(ConfigurationError, match=r'^ssl_key: TLS needs both ssl_cert and ssl_key'):
        Granian('app:app', ssl_cert=certs.cert)
    with pytest.raises(ConfigurationError, match=r'^ssl_cert: TLS needs both'):
        Granian('app:app', ssl_key=certs.key)


def test_granian_builds_the_tls_options(certs: Certs) -> None:
    server = Granian(
        'app:app',
        ssl_cert=certs.cert,
        ssl_key=certs.encrypted_key,
        ssl_key_password=KEY_PASSWORD,
        ssl_protocol_min='tls1.2',
        ssl_ca=certs.ca,
        ssl_crl=[certs.crl],
        ssl_client_verify=True,
    )
    assert server.tls_config == TLSConfig(
        str(certs.cert), str(certs.encrypted_key), KEY_PASSWORD, 'tls1.2', str(certs.ca), (str(certs.crl),), True
    )
    assert server.ssl_ctx == (
        True,
        certs.cert,
        certs.encrypted_key,
        KEY_PASSWORD,
        'tls1.2',
        certs.ca,
        [certs.crl],
        True,
    )
    assert server._listen_url().startswith('https://')


def test_client_verify_without_a_ca_is_turned_off(certs: Certs) -> None:
    server = Granian('app:app', ssl_cert=certs.cert, ssl_key=certs.key, ssl_client_verify=True)
    assert server.ssl_client_verify is False
    assert server.tls_config is not None and not server.tls_config.client_verify


def test_no_tls_without_certificate_options() -> None:
    server = Granian('app:app')
    assert server.tls_config is None
    assert server.ssl_ctx[0] is False
    assert server._listen_url().startswith('http://')


def test_alpn_follows_the_http_option() -> None:
    assert alpn_protocols('auto') == ['h2', 'http/1.1']
    assert alpn_protocols('1') == ['http/1.1']
    assert alpn_protocols('2') == ['h2']


def test_tls_info_as_asgi_extension() -> None:
    info = TLSInfo(
        server_cert='PEM',
        client_cert_chain=('A', 'B'),
        client_cert_name='CN=x',
        tls_version=0x0304,
        cipher_suite=0x1301,
    )
    assert info.asgi() == {
        'server_cert': 'PEM',
        'client_cert_chain': ['A', 'B'],
        'client_cert_name': 'CN=x',
        'client_cert_error': None,
        'tls_version': 0x0304,
        'cipher_suite': 0x1301,
    }
