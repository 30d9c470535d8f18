from granian_http import HTTP1Settings as HTTP1Settings
from granian_http import HTTP2Settings as HTTP2Settings
from granian_http import HTTP3Settings as HTTP3Settings

__all__ = ['HTTP1Settings', 'HTTP2Settings', 'HTTP3Settings']
