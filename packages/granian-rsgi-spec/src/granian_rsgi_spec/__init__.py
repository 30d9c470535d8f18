"""granian-rsgi-spec: RSGI as types (placeholder until the full surface lands)."""

from __future__ import annotations

__all__: list[str] = []
