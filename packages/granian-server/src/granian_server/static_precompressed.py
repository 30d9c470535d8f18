"""Precompressed static files: ``file.zst``, ``file.br`` or ``file.gz`` served for ``file``.

With ``static_path_precompressed`` (upstream's open pull request #791, for its issue #577), a file
that has a compressed copy beside it, made at build time, is sent compressed to a client that
accepts that coding, with ``content-encoding`` naming it. The variant is a representation of its
own (RFC 9110 §8.4): its bytes, size, ``ETag`` and ``Last-Modified`` are the compressed file's,
ranges count compressed bytes (§14.1.2), and only ``content-type`` is the original file's. The
choice, after the pull request and RFC 9110 §12.5.3:

* No ``Accept-Encoding`` at all: the file as is. The RFC would allow any coding, but a client
  that did not ask may not be able to decode one, so it never gets one. An empty header asks
  for no coding.
* The codings are tokens matched without regard to case, ``x-gzip`` is ``gzip`` (§8.4.1.3), and
  ``*`` stands for every coding the header does not name. A ``q`` of 0 refuses a coding; a ``q``
  that does not parse drops its entry (it must not turn a coding on). A coding named twice keeps
  its first weight.
* The highest ``q`` wins; on a tie the pull request's order decides: ``zstd``, then ``br``, then
  ``gzip``. ``identity`` (named, or through ``*``) wins only with a strictly higher ``q`` than
  every variant: a client that lists a coding wants it.
* If no variant is acceptable the file is sent as is, even after ``identity;q=0``: RFC 9110
  §12.1 lets a server disregard the header rather than answer 406, and the plain file is the
  one every client can use.

Every response for a file that has a variant, whichever is sent, carries
``vary: accept-encoding`` so a cache keeps the representations apart. A variant is opened under
the same rules as any static file (inside the mount after resolving symlinks, a regular file),
and one that cannot be opened is passed over for the next acceptable one. The ``.gz`` file itself,
requested by its own name, is just a file.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from typing import NamedTuple

from .static_resolve import Found, open_variant

__all__ = ['CODINGS', 'Variant', 'acceptable_codings', 'available_codings', 'choose_variant', 'parse_accept_encoding']

#: ``(content coding, file suffix)``, in the order that breaks a tie between equal ``q`` values.
CODINGS: tuple[tuple[str, str], ...] = (('zstd', '.zst'), ('br', '.br'), ('gzip', '.gz'))
_SUFFIXES = dict(CODINGS)
_ALIASES = {'x-gzip': 'gzip'}
#: RFC 9110 §5.6.2 token characters, for telling a coding name from garbage.
_TCHAR = frozenset(b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_IDENTITY = 'identity'
_ANY = '*'


def _weight(value: bytes) -> int | None:
    """An RFC 9110 §12.4.2 ``qvalue`` in thousandths (``0.5`` is 500), or ``None`` if malformed."""
    whole, _, fraction = value.partition(b'.')
    if len(fraction) > 3 or (fraction and not fraction.isdigit()):
        return None
    if whole == b'0':
        return int(fraction.ljust(3, b'0'))
    if whole == b'1' and not fraction.strip(b'0'):
        return 1000
    return None


def parse_accept_encoding(header: bytes) -> dict[str, int]:
    """The codings an ``Accept-Encoding`` value names, lower-cased, with their ``q`` in thousandths."""
    weights: dict[str, int] = {}
    for member in header.split(b','):
        token, *parameters = member.split(b';')
        token = token.strip()
        if not token or not _TCHAR.issuperset(token):
            continue
        weight: int | None = 1000
        for parameter in parameters:
            name, _, value = parameter.partition(b'=')
            if name.strip().lower() == b'q':
                weight = _weight(value.strip())
        if weight is None:
            continue
        coding = token.decode('ascii').lower()
        weights.setdefault(_ALIASES.get(coding, coding), weight)
    return weights


def acceptable_codings(header: bytes | None, available: Sequence[str]) -> list[str]:
    """Which of the ``available`` codings to send, best first (none: send the file as is)."""
    if header is None:
        return []
    weights = parse_accept_encoding(header)
    any_coding = weights.get(_ANY)
    identity = weights.get(_IDENTITY, any_coding)
    ranked = []
    for order, coding in enumerate(available):
        weight = weights.get(coding, any_coding)
        if weight is None or weight == 0 or (identity is not None and identity > weight):
            continue
        ranked.append((-weight, order, coding))
    return [coding for _, _, coding in sorted(ranked)]


def available_codings(path: str) -> list[str]:
    """The codings of the variants beside ``path`` that exist as regular files, in tie order.

    One ``stat`` each: whether any exists decides ``vary`` even for a client that accepts none.
    """
    found = []
    for coding, suffix in CODINGS:
        try:
            if stat.S_ISREG(os.stat(path + suffix).st_mode):
                found.append(coding)
        except (OSError, ValueError):
            continue
    return found


class Variant(NamedTuple):
    """What to send for a file: ``found`` itself or an open variant of it."""

    file: Found
    #: The ``content-encoding`` of ``file``, ``None`` for the original.
    coding: str | None
    #: Whether the original has variants (so the response depends on ``Accept-Encoding``).
    vary: bool


def choose_variant(mount: str, found: Found, accept_encoding: bytes | None) -> Variant:
    """The representation of ``found`` to send to a client with this ``Accept-Encoding``.

    A chosen variant's descriptor is open and owned by the caller, like ``found``'s.
    """
    available = available_codings(found.path)
    if not available:
        return Variant(found, None, False)
    for coding in acceptable_codings(accept_encoding, available):
        variant = open_variant(mount, found.path + _SUFFIXES[coding])
        if variant is not None:
            return Variant(variant, coding, True)
    return Variant(found, None, True)
