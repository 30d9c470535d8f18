"""The request headers as an RSGI app sees them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, TypeVar, overload, runtime_checkable

__all__ = ['Headers']

_T = TypeVar('_T')


@runtime_checkable
class Headers(Protocol):
    """A read-only, multi-valued mapping of the request headers.

    Names are lower-case strings and values are strings (the header bytes decoded as latin-1). A
    name sent more than once is one key with several values: :meth:`keys`, iteration and
    ``len()`` count it once, while :meth:`values` and :meth:`items` list every value.
    """

    __slots__ = ()

    def keys(self) -> list[str]:
        """The distinct header names, in the order they first appeared."""
        ...

    def values(self) -> list[str]:
        """Every header value, duplicates included, grouped by name."""
        ...

    def items(self) -> list[tuple[str, str]]:
        """Every ``(name, value)`` pair, duplicates included, grouped by name."""
        ...

    @overload
    def get(self, key: str) -> str | None: ...

    @overload
    def get(self, key: str, default: _T) -> str | _T: ...

    def get(self, key: str, default: object = None) -> object:
        """The first value of ``key``, or ``default`` (``None``) when the header is absent."""
        ...

    def get_all(self, key: str) -> list[str]:
        """Every value of ``key`` in the order received; an empty list when it is absent (RSGI 1.4)."""
        ...

    def __getitem__(self, key: str) -> str:
        """The first value of ``key``; raises :class:`KeyError` when the header is absent."""
        ...

    def __contains__(self, key: object) -> bool:
        """Whether a header named ``key`` was sent."""
        ...

    def __iter__(self) -> Iterator[str]:
        """Iterate over the distinct header names."""
        ...

    def __len__(self) -> int:
        """The number of distinct header names."""
        ...
