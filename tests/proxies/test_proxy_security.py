"""Forgery attempts, run through each wrapper (ASGI, WSGI, RSGI): a client must not be able to
choose the address, scheme or host the app sees, except through what a trusted proxy vouches for.

``through(peer, headers, trusted_hosts, **options)`` sends one request (see conftest.py) and
returns what the app saw: the client host, the scheme and the Host header.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from granian_proxies import TrustedHosts

ATTACKER = '198.51.100.66'
CLIENT = '203.0.113.7'
PROXY = '10.0.0.1'
Through = Callable[..., Any]

SPOOFS = [
    ('x-forwarded-for', '1.2.3.4'),
    ('x-forwarded-proto', 'https'),
    ('x-forwarded-host', 'evil.example'),
    ('x-forwarded-port', '443'),
    ('forwarded', 'for=1.2.3.4;proto=https;host=evil.example'),
]


@pytest.mark.parametrize('forwarded', [False, True])
@pytest.mark.parametrize('trusted', ['127.0.0.1', '10.0.0.0/8, fd00::/8', ['unix', 'proxy.internal']])
def test_spoofed_headers_from_an_untrusted_peer_change_nothing(
    through: Through, forwarded: bool, trusted: object
) -> None:
    seen = through(ATTACKER, SPOOFS, trusted, forwarded=forwarded, forwarded_host=True)
    assert (seen.client, seen.scheme, seen.host) == (ATTACKER, 'http', None)


def test_spoofed_headers_from_an_untrusted_ipv6_peer_change_nothing(through: Through) -> None:
    for forwarded in (False, True):
        seen = through('2001:db8::66', SPOOFS, 'fd00::/8, ::1', forwarded=forwarded, forwarded_host=True)
        assert (seen.client, seen.scheme, seen.host) == ('2001:db8::66', 'http', None)


def test_an_attacker_prepended_entry_is_not_picked(through: Through) -> None:
    # The attacker sent 'X-Forwarded-For: 1.2.3.4'; the trusted proxy appended the real peer.
    seen = through(PROXY, [('x-forwarded-for', f'1.2.3.4, {CLIENT}')], PROXY)
    assert seen.client == CLIENT


def test_an_attacker_prepended_trusted_looking_entry_is_not_picked(through: Through) -> None:
    seen = through(PROXY, [('x-forwarded-for', f'10.0.0.9, {CLIENT}')], '10.0.0.0/8')
    assert seen.client == CLIENT


def test_an_attacker_prepended_entry_on_its_own_header_line_is_not_picked(through: Through) -> None:
    headers = [('x-forwarded-for', '1.2.3.4'), ('x-forwarded-for', f'{CLIENT}, 10.0.0.2')]
    assert through(PROXY, headers, '10.0.0.0/8').client == CLIENT


def test_a_chain_of_trusted_proxies_is_walked_past(through: Through) -> None:
    headers = [('x-forwarded-for', f'1.2.3.4, {CLIENT}, 10.2.0.1, 10.1.0.1')]
    assert through(PROXY, headers, '10.0.0.0/8').client == CLIENT


def test_a_chain_of_ipv6_proxies(through: Through) -> None:
    headers = [('x-forwarded-for', '2001:db8::bad, 2001:db8::7, fd00::2')]
    assert through('fd00::1', headers, 'fd00::/8').client == '2001:db8::7'
    assert through('fd00::1', headers, 'fd00::1').client == 'fd00::2'  # fd00::2 is not trusted here


def test_cidr_boundaries_decide_trust(through: Through) -> None:
    headers = [('x-forwarded-for', CLIENT)]
    assert through('10.255.255.255', headers, '10.0.0.0/8').client == CLIENT
    assert through('11.0.0.0', headers, '10.0.0.0/8').client == '11.0.0.0'
    assert through('fd00:ffff::1', headers, 'fd00::/16').client == CLIENT
    assert through('fd01::1', headers, 'fd00::/16').client == 'fd01::1'


def test_an_ipv4_mapped_peer_is_trusted_only_as_its_ipv4_address(through: Through) -> None:
    headers = [('x-forwarded-for', CLIENT)]
    assert through('::ffff:127.0.0.1', headers, '127.0.0.1').client == CLIENT
    assert through('::ffff:198.51.100.66', headers, '127.0.0.1').client == '::ffff:198.51.100.66'


def test_an_empty_right_most_entry_is_not_skipped(through: Through) -> None:
    # A proxy that appended an empty entry vouches for nobody: nothing left of it is believed.
    seen = through(PROXY, [('x-forwarded-for', '1.2.3.4, '), ('x-forwarded-proto', 'https')], PROXY)
    assert (seen.client, seen.scheme) == (PROXY, 'http')


# -- RFC 7239 ----------------------------------------------------------------------------------


def test_forwarded_attacker_element_and_its_parameters_are_not_picked(through: Through) -> None:
    forwarded = f'for=1.2.3.4;proto=https;host=evil.example, for={CLIENT};proto=http'
    seen = through(PROXY, [('forwarded', forwarded)], PROXY, forwarded=True, forwarded_host=True)
    assert (seen.client, seen.scheme, seen.host) == (CLIENT, 'http', None)


def test_forwarded_unterminated_quote_cannot_hide_the_proxys_element(through: Through) -> None:
    headers = [('forwarded', 'for="1.2.3.4'), ('forwarded', f'for={CLIENT}')]
    assert through(PROXY, headers, PROXY, forwarded=True).client == CLIENT


def test_forwarded_open_quote_cannot_run_into_the_proxys_element(through: Through) -> None:
    # One line: the proxy appended to the client's header (or a WSGI server joined the lines).
    forwarded = f'for="1.2.3.4, for={CLIENT};proto=https;host="example.com"'
    seen = through(PROXY, [('forwarded', forwarded)], PROXY, forwarded=True, forwarded_host=True)
    assert (seen.client, seen.scheme, seen.host) == (CLIENT, 'https', 'example.com')


def test_forwarded_hidden_client_stops_the_scan(through: Through) -> None:
    # The attacker claims to be a trusted address; the proxy hid the real client.
    for hidden in ('_hidden', 'unknown', '"_x:_y"', '"[bogus]"', ''):
        headers = [('forwarded', 'for=10.0.0.9;proto=https'), ('forwarded', f'for={hidden}' if hidden else 'by=x')]
        seen = through(PROXY, headers, '10.0.0.0/8', forwarded=True)
        assert (seen.client, seen.scheme) == (PROXY, 'http'), hidden


def test_forwarded_identifiers_never_match_literal_trusted_hosts(through: Through) -> None:
    headers = [('forwarded', 'for=1.2.3.4;proto=https, for=unknown, for=_proxy')]
    trusted = [PROXY, 'unknown', '_proxy']
    assert '_proxy' in TrustedHosts(trusted)  # as a peer name it would be trusted ...
    seen = through(PROXY, headers, trusted, forwarded=True)
    assert (seen.client, seen.scheme) == (PROXY, 'http')  # ... but not as a forwarded node


def test_forwarded_malformed_element_stops_the_scan(through: Through) -> None:
    headers = [('forwarded', f'for={CLIENT};proto=https, for=10.0.0.9;for=10.0.0.8')]
    seen = through(PROXY, headers, '10.0.0.0/8', forwarded=True)
    assert (seen.client, seen.scheme) == (PROXY, 'http')


def test_x_forwarded_headers_are_not_read_in_forwarded_mode(through: Through) -> None:
    # The proxy writes Forwarded, so X-Forwarded-* can only have come from the client.
    headers = [('x-forwarded-for', '1.2.3.4'), ('x-forwarded-proto', 'https'), ('forwarded', f'for={CLIENT}')]
    seen = through(PROXY, headers, PROXY, forwarded=True, forwarded_host=True)
    assert (seen.client, seen.scheme) == (CLIENT, 'http')


def test_forwarded_is_not_read_in_x_forwarded_mode(through: Through) -> None:
    headers = [('forwarded', 'for=1.2.3.4;proto=https'), ('x-forwarded-for', CLIENT)]
    seen = through(PROXY, headers, PROXY)
    assert (seen.client, seen.scheme) == (CLIENT, 'http')


@pytest.mark.parametrize('host', ['evil.example/path', 'evil.example:99999', 'a b', 'u@evil.example', '[::1'])
def test_unusable_forwarded_hosts_are_not_passed_on(through: Through, host: str) -> None:
    seen = through(PROXY, [('x-forwarded-for', CLIENT), ('x-forwarded-host', host)], PROXY, forwarded_host=True)
    assert (seen.client, seen.host) == (CLIENT, None)
