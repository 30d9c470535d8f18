"""The RFC 7239 ``Forwarded`` header: elements, their parameters, and the ``for=`` node syntax.

Grammar (RFC 7239 §4, §6)::

    Forwarded         = 1#forwarded-element
    forwarded-element = [ forwarded-pair ] *( ";" [ forwarded-pair ] )
    forwarded-pair    = token "=" value            ; value = token / quoted-string
    node              = nodename [ ":" node-port ]
    nodename          = IPv4address / "[" IPv6address "]" / "unknown" / obfnode
    obfnode           = "_" 1*( ALPHA / DIGIT / "." / "_" / "-" )

Rules of this parser, all chosen so that bad input can only make us trust *less*:

* A comma always ends an element, even inside a quoted string: no parameter we read (``for``,
  ``by``, ``host``, ``proto``) can hold one, and this way a quote left open by a client can never
  swallow the element a proxy appended after it. That matters most where the line boundaries are
  gone (WSGI joins repeated headers with ``,``): the client's ``for="1.2.3.4`` would otherwise run
  on to the first quote in the proxy's own element. So elements are split on commas first, and a
  quoted string cut by a comma (or left open) spoils only its own element. (Each line is parsed
  on its own too, where the interface keeps them apart.)
* An element with a malformed pair or a repeated parameter is kept as an element without any
  parameters: it still occupies its place in the chain, so the right-to-left trust scan stops at
  it instead of skipping over it to something an attacker wrote further left.
* Empty list members (``a,,b``) are dropped, as HTTP list syntax allows.
* Unquoted values are read leniently up to the next ``;``, ``,`` or blank (real proxies forget to
  quote ``for="1.2.3.4:80"``); what a value means is checked strictly afterwards
  (:func:`parse_node`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ['ForwardedElement', 'Node', 'parse_forwarded', 'parse_node']

# token "=" ( quoted-string / bare value ), then optional blanks. Elements are split on commas
# first, so neither form can contain one; a bare value is read leniently up to ';' or a blank.
_PAIR = re.compile(
    r"""([!#$%&'*+\-.^_`|~0-9A-Za-z]+)="""
    r"""("(?:[^"\\\x00-\x08\x0a-\x1f\x7f]|\\[^\x00-\x08\x0a-\x1f\x7f])*"|[^";\s]+)[ \t]*"""
)
_ESCAPE = re.compile(r'\\(.)')
_OBFUSCATED = re.compile(r'_[A-Za-z0-9._\-]+')
_PORT = re.compile(r'[0-9]{1,5}')
_BLANKS = ' \t'


@dataclass(frozen=True)
class ForwardedElement:
    """One proxy hop's parameters; a malformed element has none of them."""

    for_: str | None = None
    by: str | None = None
    host: str | None = None
    proto: str | None = None


_BROKEN = ForwardedElement()


@dataclass(frozen=True)
class Node:
    """A parsed ``for=``/``by=`` value."""

    #: An IP address (IPv6 without brackets, compressed), ``'unknown'`` or an obfuscated ``_id``.
    host: str
    #: The port when it was given as a number; None when absent or obfuscated.
    port: int | None
    #: True when :attr:`host` is an IP address rather than ``unknown`` or an obfuscated identifier.
    is_address: bool


def _unquote(value: str) -> str:
    if value[0] != '"':
        return value
    return _ESCAPE.sub(r'\1', value[1:-1])


def _parse_element(text: str) -> ForwardedElement | None:
    """One comma-free element; None when it holds nothing at all (``a,,b`` or ``;;``)."""
    params: dict[str, str] = {}
    index = 0
    end = len(text)
    while index < end:
        char = text[index]
        if char in _BLANKS or char == ';':
            index += 1
            continue
        pair = _PAIR.match(text, index)
        if pair is None:
            return _BROKEN
        index = pair.end()
        # Pairs are separated by ';': anything else after a value is garbage.
        if index < end and text[index] != ';':
            return _BROKEN
        key = pair.group(1).lower()
        if key in params:
            return _BROKEN
        params[key] = _unquote(pair.group(2))
    if not params:
        return None
    return ForwardedElement(
        for_=params.get('for'), by=params.get('by'), host=params.get('host'), proto=params.get('proto')
    )


def parse_forwarded(lines: Iterable[str]) -> list[ForwardedElement]:
    """Every element of the given ``Forwarded`` header lines, in order (left-most first)."""
    elements: list[ForwardedElement] = []
    for line in lines:
        for text in line.split(','):
            element = _parse_element(text)
            if element is not None:
                elements.append(element)
    return elements


def _parse_port(text: str) -> tuple[bool, int | None]:
    """(valid, port) for the text after a node's colon; obfuscated ports are valid but unknown."""
    if _PORT.fullmatch(text):
        port = int(text)
        return (0 < port < 65536), port
    return _OBFUSCATED.fullmatch(text) is not None, None


def parse_node(value: str) -> Node | None:
    """The node a ``for=`` (or ``by=``) value names, or None when it is not valid node syntax."""
    if value.startswith('['):
        close = value.find(']')
        if close < 0:
            return None
        try:
            address = ipaddress.IPv6Address(value[1:close])
        except ValueError:
            return None
        name, rest, is_address = address.compressed, value[close + 1 :], True
    else:
        name, colon, port_text = value.partition(':')
        rest = colon + port_text
        if name.lower() == 'unknown':
            name, is_address = 'unknown', False
        elif _OBFUSCATED.fullmatch(name):
            is_address = False
        else:
            try:
                ipaddress.IPv4Address(name)
            except ValueError:
                return None
            is_address = True
    if not rest:
        return Node(name, None, is_address)
    if not rest.startswith(':'):
        return None
    valid, port = _parse_port(rest[1:])
    if not valid:
        return None
    return Node(name, port, is_address)
