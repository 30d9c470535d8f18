"""The trusted-hosts set and the right-to-left client scan (granian_proxies._trust)."""

from __future__ import annotations

import pytest

from granian_proxies import TrustedHosts
from granian_proxies._trust import parse_ip, select_client_index


def test_default_trusts_only_ipv4_loopback() -> None:
    trusted = TrustedHosts()
    assert '127.0.0.1' in trusted
    assert '127.0.0.2' not in trusted
    assert '::1' not in trusted
    assert 'localhost' not in trusted


@pytest.mark.parametrize(
    ('spec', 'inside', 'outside'),
    [
        ('10.1.2.3', ['10.1.2.3'], ['10.1.2.4', '10.1.2.30', '::ffff:10.1.2.4']),
        ('::1', ['::1', '0:0:0:0:0:0:0:1'], ['127.0.0.1', '::2']),
        ('2001:DB8::1', ['2001:db8::1', '2001:0db8:0:0::1'], ['2001:db8::2']),
        ('10.0.0.0/8', ['10.0.0.1', '10.255.255.255'], ['11.0.0.0', '9.255.255.255']),
        ('192.168.1.0/30', ['192.168.1.0', '192.168.1.3'], ['192.168.1.4']),
        ('fd00::/8', ['fd00::1', 'fdff:ffff::1'], ['fe80::1', '10.0.0.1']),
        ('2001:db8::/32', ['2001:db8:ffff::1'], ['2001:db9::1']),
    ],
)
def test_addresses_and_networks(spec: str, inside: list[str], outside: list[str]) -> None:
    trusted = TrustedHosts(spec)
    for host in inside:
        assert host in trusted, host
    for host in outside:
        assert host not in trusted, host


def test_ipv4_mapped_ipv6_peer_is_its_ipv4_address() -> None:
    # What a dual-stack ('::') listener reports for an IPv4 peer.
    assert '::ffff:127.0.0.1' in TrustedHosts('127.0.0.1')
    assert '::ffff:10.9.8.7' in TrustedHosts('10.0.0.0/8')
    assert '::ffff:8.8.8.8' not in TrustedHosts('10.0.0.0/8')


def test_network_with_host_bits_is_read_as_its_network() -> None:
    trusted = TrustedHosts('10.0.0.1/8')
    assert '10.200.0.1' in trusted
    assert trusted.literals == set()


def test_comma_separated_string_is_split_and_stripped() -> None:
    trusted = TrustedHosts(' 10.0.0.1 ,fd00::/8,, unix ')
    assert '10.0.0.1' in trusted
    assert 'fd00::5' in trusted
    assert 'unix' in trusted
    assert '127.0.0.1' not in trusted
    assert '' not in trusted


def test_list_of_entries() -> None:
    trusted = TrustedHosts(['10.0.0.1', '172.16.0.0/12', 'proxy.internal'])
    assert '10.0.0.1' in trusted
    assert '172.31.255.1' in trusted
    assert 'proxy.internal' in trusted
    assert 'PROXY.internal' not in trusted  # literals match exactly
    assert 'proxy' not in trusted


def test_any_iterable_of_strings() -> None:
    trusted = TrustedHosts(iter(('10.0.0.1', '10.0.0.2')))
    assert '10.0.0.2' in trusted


def test_literals_only_match_exactly() -> None:
    trusted = TrustedHosts('unix')
    assert 'unix' in trusted
    assert 'unix:/tmp/sock' not in trusted
    assert 'Unix' not in trusted
    assert trusted.literals == {'unix'}


def test_something_that_looks_like_a_network_but_is_not_stays_literal() -> None:
    trusted = TrustedHosts('/run/app.sock')
    assert '/run/app.sock' in trusted
    assert trusted.networks == []


@pytest.mark.parametrize('spec', ['*', ['*'], ' * ', '10.0.0.1, *'])
def test_star_trusts_everything_but_the_empty_host(spec: str | list[str]) -> None:
    trusted = TrustedHosts(spec)
    assert trusted.trust_all
    for host in ('1.2.3.4', '::1', 'anything', 'unix'):
        assert host in trusted
    assert '' not in trusted


def test_empty_and_non_string_hosts_are_never_trusted() -> None:
    trusted = TrustedHosts('127.0.0.1, unix')
    assert '' not in trusted
    assert None not in trusted
    assert 2130706433 not in trusted  # 127.0.0.1 as an int


def test_empty_spec_trusts_nothing() -> None:
    trusted = TrustedHosts('')
    assert '127.0.0.1' not in trusted
    assert not trusted.trust_all


def test_parse_ip() -> None:
    assert str(parse_ip('127.0.0.1')) == '127.0.0.1'
    assert str(parse_ip('::ffff:1.2.3.4')) == '1.2.3.4'
    assert parse_ip('[::1]') is None
    assert parse_ip('1.2.3.4:80') is None
    assert parse_ip('') is None


# -- the scan ----------------------------------------------------------------------------------


def _pick(hosts: list[str], spec: str | list[str]) -> str | None:
    index = select_client_index(hosts, TrustedHosts(spec))
    return None if index is None else hosts[index]


def test_scan_takes_the_first_untrusted_entry_from_the_right() -> None:
    hosts = ['1.1.1.1', '2.2.2.2', '10.0.0.2', '10.0.0.1']
    assert _pick(hosts, '10.0.0.0/8') == '2.2.2.2'


def test_scan_takes_the_right_most_entry_when_nothing_is_trusted() -> None:
    assert _pick(['1.1.1.1', '2.2.2.2'], '10.0.0.1') == '2.2.2.2'


def test_scan_takes_the_left_most_entry_when_all_are_trusted() -> None:
    assert _pick(['10.0.0.3', '10.0.0.2', '10.0.0.1'], '10.0.0.0/8') == '10.0.0.3'


def test_trust_all_takes_the_left_most_entry() -> None:
    assert _pick(['1.1.1.1', '2.2.2.2', '3.3.3.3'], '*') == '1.1.1.1'


def test_empty_entry_stops_the_scan() -> None:
    assert _pick(['1.1.1.1', '', '10.0.0.1'], '10.0.0.0/8') == ''


def test_scan_over_ipv6_entries() -> None:
    hosts = ['2001:db8::7', 'fd00::2', 'fd00::1']
    assert _pick(hosts, 'fd00::/8') == '2001:db8::7'
    assert _pick(hosts, 'fd00::1') == 'fd00::2'


def test_scan_of_nothing() -> None:
    assert select_client_index([], TrustedHosts('*')) is None
    assert select_client_index([], TrustedHosts()) is None


def test_remembered_answers_stay_right_past_the_memory_limit() -> None:
    trusted = TrustedHosts('10.0.0.0/24')
    for round_ in range(2):
        for last in range(256):
            assert f'10.0.0.{last}' in trusted, round_
        for number in range(1500):
            assert f'10.{number // 256 + 1}.{number % 256}.1' not in trusted, number
    assert len(trusted._known) <= 1024
