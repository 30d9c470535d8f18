"""Errors that stop the server; the CLI turns any of them into exit code 1."""

from __future__ import annotations

__all__ = ['ConfigurationError', 'FatalError', 'PidFileError']


class FatalError(Exception):
    pass


class ConfigurationError(FatalError):
    pass


class PidFileError(FatalError):
    pass
