"""granian-proxies: proxy-header wrappers (placeholder until the implementation lands)."""

from __future__ import annotations

from typing import Any

__all__ = ['wrap_asgi_with_proxy_headers', 'wrap_wsgi_with_proxy_headers']


def wrap_asgi_with_proxy_headers(app: Any, trusted_hosts: Any = '127.0.0.1') -> Any:
    raise NotImplementedError


def wrap_wsgi_with_proxy_headers(app: Any, trusted_hosts: Any = '127.0.0.1') -> Any:
    raise NotImplementedError
