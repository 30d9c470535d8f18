"""RSGI request headers, built from the exchange's header list only when the app first looks.

Most requests of a fast app never touch their headers, so the scope keeps the exchange's raw
``(name, value)`` byte pairs and this mapping decodes them (latin-1, which cannot fail) on the
first access. Names arrive lower-case from the protocol layer; a lookup with another case is
retried lower-cased, because upstream's header map is case-insensitive.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar, overload

from granian_rsgi_spec import Headers

__all__ = ['RSGIHeaders']

_T = TypeVar('_T')


class RSGIHeaders(Headers):
    __slots__ = ('_map', '_raw')

    def __init__(self, raw: Sequence[tuple[bytes, bytes]]) -> None:
        self._raw = raw
        self._map: dict[str, list[str]] | None = None

    def _values_by_name(self) -> dict[str, list[str]]:
        by_name = self._map
        if by_name is None:
            by_name = self._map = {}
            for raw_name, raw_value in self._raw:
                name = raw_name.decode('latin-1')
                value = raw_value.decode('latin-1')
                values = by_name.get(name)
                if values is None:
                    by_name[name] = [value]
                else:
                    values.append(value)
        return by_name

    def _lookup(self, key: str) -> list[str] | None:
        by_name = self._values_by_name()
        values = by_name.get(key)
        if values is None and isinstance(key, str):
            lowered = key.lower()
            if lowered != key:
                values = by_name.get(lowered)
        return values

    def keys(self) -> list[str]:
        return list(self._values_by_name())

    def values(self) -> list[str]:
        return [value for values in self._values_by_name().values() for value in values]

    def items(self) -> list[tuple[str, str]]:
        return [(name, value) for name, values in self._values_by_name().items() for value in values]

    @overload
    def get(self, key: str) -> str | None: ...

    @overload
    def get(self, key: str, default: _T) -> str | _T: ...

    def get(self, key: str, default: object = None) -> object:
        values = self._lookup(key)
        return values[0] if values else default

    def get_all(self, key: str) -> list[str]:
        values = self._lookup(key)
        return list(values) if values else []

    def __getitem__(self, key: str) -> str:
        values = self._lookup(key)
        if not values:
            raise KeyError(key)
        return values[0]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._lookup(key) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._values_by_name()))

    def __len__(self) -> int:
        return len(self._values_by_name())

    def __repr__(self) -> str:
        return f'Headers({self.items()!r})'
