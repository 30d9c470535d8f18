"""granian-proxies: make apps behind a reverse proxy see the real client, scheme and host.

``wrap_asgi_with_proxy_headers`` and ``wrap_wsgi_with_proxy_headers`` behave as upstream
Granian's ``granian.utils.proxies`` (``X-Forwarded-For``/``X-Forwarded-Proto`` from trusted
peers). Opt-in extras: RFC 7239 ``Forwarded`` (``forwarded=True``), ``X-Forwarded-Host`` and
``X-Forwarded-Port`` (``forwarded_host=True``), and ``wrap_rsgi_with_proxy_headers`` for RSGI.
Standard library only; no other granian package is needed.
"""

from __future__ import annotations

from ._trust import TrustedHosts, TrustedHostsSpec
from .asgi import wrap_asgi_with_proxy_headers
from .rsgi import wrap_rsgi_with_proxy_headers
from .wsgi import wrap_wsgi_with_proxy_headers

__all__ = [
    'TrustedHosts',
    'TrustedHostsSpec',
    'wrap_asgi_with_proxy_headers',
    'wrap_rsgi_with_proxy_headers',
    'wrap_wsgi_with_proxy_headers',
]
