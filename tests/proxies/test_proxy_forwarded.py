"""The RFC 7239 parser (granian_proxies._forwarded) and host values (granian_proxies._host)."""

from __future__ import annotations

import pytest

from granian_proxies._forwarded import ForwardedElement, Node, parse_forwarded, parse_node
from granian_proxies._host import HostPort, format_hostport, parse_host, parse_port

BROKEN = ForwardedElement()


def _fors(*lines: str) -> list[str | None]:
    return [element.for_ for element in parse_forwarded(lines)]


# -- elements and pairs ------------------------------------------------------------------------


def test_rfc_7239_examples() -> None:
    # RFC 7239 §4 and §7.
    assert parse_forwarded(['for="_gazonk"']) == [ForwardedElement(for_='_gazonk')]
    assert parse_forwarded(['For="[2001:db8:cafe::17]:4711"']) == [ForwardedElement(for_='[2001:db8:cafe::17]:4711')]
    assert parse_forwarded(['for=192.0.2.60;proto=http;by=203.0.113.43']) == [
        ForwardedElement(for_='192.0.2.60', by='203.0.113.43', proto='http')
    ]
    assert _fors('for=192.0.2.43, for=198.51.100.17') == ['192.0.2.43', '198.51.100.17']


def test_parameter_names_are_case_insensitive_and_values_kept() -> None:
    assert parse_forwarded(['FOR=1.2.3.4;Proto=HTTPS;HOST=Example.COM']) == [
        ForwardedElement(for_='1.2.3.4', proto='HTTPS', host='Example.COM')
    ]


def test_unknown_parameters_are_ignored() -> None:
    assert parse_forwarded(['for=1.2.3.4;secret=x;proto=https']) == [ForwardedElement(for_='1.2.3.4', proto='https')]


def test_quoted_strings_and_escapes() -> None:
    assert _fors(r'for="\"a\\b\""') == ['"a\\b"']
    assert _fors('for="a;b"') == ['a;b']
    assert _fors('for=""') == ['']
    assert parse_forwarded(['host="example.com:8443";for="10.0.0.1"']) == [
        ForwardedElement(for_='10.0.0.1', host='example.com:8443')
    ]


def test_blanks_around_separators() -> None:
    assert parse_forwarded([' for=1.1.1.1 ; proto=https , for=2.2.2.2 ']) == [
        ForwardedElement(for_='1.1.1.1', proto='https'),
        ForwardedElement(for_='2.2.2.2'),
    ]


def test_several_elements_per_line_and_several_lines() -> None:
    lines = ['for=1.1.1.1, for=2.2.2.2', 'for=3.3.3.3;proto=https', 'for="[::1]"']
    assert _fors(*lines) == ['1.1.1.1', '2.2.2.2', '3.3.3.3', '[::1]']


def test_empty_list_members_and_empty_pairs_are_dropped() -> None:
    assert _fors(',, for=1.1.1.1 ,;, for=2.2.2.2,') == ['1.1.1.1', '2.2.2.2']
    assert parse_forwarded(['for=1.1.1.1;;proto=https;']) == [ForwardedElement(for_='1.1.1.1', proto='https')]
    assert parse_forwarded(['', '  ', ',']) == []


@pytest.mark.parametrize(
    'line',
    [
        'for=1.1.1.1;for=2.2.2.2',  # a repeated parameter
        'for',  # no '='
        'for=',  # no value
        '=1.1.1.1',  # no name
        'for =1.1.1.1',  # blank before '='
        'for= 1.1.1.1',  # blank after '='
        'for=1.1.1.1 proto=https',  # no ';' between pairs
        'for="1.1.1.1"proto=https',
        'f@r=1.1.1.1',  # not a token
        'for="1.1.1.1',  # unterminated quote
        'for="a\x01b"',  # control character in a quoted string
        'for="a\\',  # escape at the very end
    ],
)
def test_malformed_elements_keep_their_place_without_parameters(line: str) -> None:
    assert parse_forwarded([line]) == [BROKEN]


def test_an_unterminated_quote_spoils_only_its_own_element() -> None:
    assert parse_forwarded(['for="evil, for=10.0.0.1;proto=https']) == [
        BROKEN,
        ForwardedElement(for_='10.0.0.1', proto='https'),
    ]


def test_a_broken_line_never_swallows_the_next_line() -> None:
    assert _fors('for="evil', 'for=10.0.0.1') == [None, '10.0.0.1']


def test_a_comma_ends_an_element_even_inside_quotes() -> None:
    # WSGI joins header lines with ','; the open quote must not run on to the proxy's quotes.
    line = 'for="1.2.3.4,for=10.0.0.1;proto=https;host="example.com:8443"'
    assert parse_forwarded([line]) == [
        BROKEN,
        ForwardedElement(for_='10.0.0.1', proto='https', host='example.com:8443'),
    ]
    assert parse_forwarded(['for="a,b"']) == [BROKEN, BROKEN]
    assert parse_forwarded(['ext="x,y";for=1.1.1.1, for=2.2.2.2']) == [BROKEN, BROKEN, ForwardedElement(for_='2.2.2.2')]


def test_a_malformed_pair_breaks_the_whole_element_only() -> None:
    assert parse_forwarded(['for=1.1.1.1;x y;proto=https, for=2.2.2.2']) == [BROKEN, ForwardedElement(for_='2.2.2.2')]


@pytest.mark.parametrize(
    'line',
    ['"', ';;;', '\\', 'for="""', 'a=b=c', '=', '\x00\x01', 'for=' + 'x' * 10000, '"' * 101, 'é=ü', 'for=\u2028'],
)
def test_garbage_never_raises(line: str) -> None:
    for element in parse_forwarded([line]):
        assert isinstance(element, ForwardedElement)


# -- nodes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ('value', 'node'),
    [
        ('192.0.2.43', Node('192.0.2.43', None, True)),
        ('192.0.2.43:47011', Node('192.0.2.43', 47011, True)),
        ('[2001:db8:cafe::17]', Node('2001:db8:cafe::17', None, True)),
        ('[2001:DB8:0:0::17]:4711', Node('2001:db8::17', 4711, True)),
        ('[::1]:_port', Node('::1', None, True)),
        ('1.2.3.4:_x', Node('1.2.3.4', None, True)),
        ('unknown', Node('unknown', None, False)),
        ('UNKNOWN:80', Node('unknown', 80, False)),
        ('_gazonk', Node('_gazonk', None, False)),
        ('_hidden.proxy-1:_p', Node('_hidden.proxy-1', None, False)),
    ],
)
def test_valid_nodes(value: str, node: Node) -> None:
    assert parse_node(value) == node


@pytest.mark.parametrize(
    'value',
    [
        '',
        '2001:db8::1',  # IPv6 must be bracketed
        '[2001:db8::1',
        '[1.2.3.4]',
        '[::1]80',
        'example.com',
        '1.2.3.4:',
        '1.2.3.4:0',
        '1.2.3.4:65536',
        '1.2.3.4:123456',
        '1.2.3.4:8o',
        '1.2.3.4:_',
        '_',
        '_bad!',
        '01.2.3.4',
        '1.2.3',
        ' 1.2.3.4',
    ],
)
def test_invalid_nodes(value: str) -> None:
    assert parse_node(value) is None


# -- hosts and ports ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ('text', 'host'),
    [
        ('example.com', HostPort('example.com')),
        ('Example.COM:8443', HostPort('Example.COM', 8443)),
        (' example.com ', HostPort('example.com')),
        ('1.2.3.4:80', HostPort('1.2.3.4', 80)),
        ('[2001:db8::1]', HostPort('2001:db8::1')),
        ('[2001:DB8:0::1]:443', HostPort('2001:db8::1', 443)),
        ('localhost', HostPort('localhost')),
    ],
)
def test_valid_hosts(text: str, host: HostPort) -> None:
    assert parse_host(text) == host


@pytest.mark.parametrize(
    'text',
    [
        '',
        'example.com:',
        'example.com:0',
        'example.com:70000',
        'example.com: 80',
        'example.com:80:81',
        'exa mple.com',
        'evil.com/path',
        'user@evil.com',
        'evil.com\r\nx-injected: 1',
        '2001:db8::1',
        '[2001:db8::1',
        '[nope]:80',
        '[::1]x',
    ],
)
def test_invalid_hosts(text: str) -> None:
    assert parse_host(text) is None


def test_host_header_form() -> None:
    assert HostPort('example.com').header == 'example.com'
    assert HostPort('example.com', 8080).header == 'example.com:8080'
    assert HostPort('::1', 8080).header == '[::1]:8080'
    assert format_hostport('::1') == '[::1]'
    assert format_hostport('1.2.3.4', '0') == '1.2.3.4:0'


@pytest.mark.parametrize(('text', 'port'), [('443', 443), (' 8080 ', 8080), ('0', None), ('65536', None), ('x', None)])
def test_ports(text: str, port: int | None) -> None:
    assert parse_port(text) == port
