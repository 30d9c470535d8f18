"""Seed corpora from the test suite's own inputs.

The tests already hold the interesting inputs: valid requests, each refusal the guard knows,
smuggling attempts, broken frames. :func:`literals` reads them out of the test modules with
:mod:`ast` (bytes and str constants, including those built with ``+`` of constants and with
``%``-free implicit concatenation), so a new test case becomes a new seed without anyone
remembering to add it here.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

__all__ = ['TESTS', 'literals']

TESTS = Path(__file__).resolve().parents[1]


def _constant(node: ast.AST) -> bytes | str | None:
    """The value of a constant expression made of literals and ``+``; None for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (bytes, str)):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _constant(node.left), _constant(node.right)
        if isinstance(left, bytes) and isinstance(right, bytes):
            return left + right
        if isinstance(left, str) and isinstance(right, str):
            return left + right
    return None


def literals(globs: Iterable[str], keep: Callable[[bytes], bool]) -> Iterator[bytes]:
    """Every bytes or str constant in the test modules matching ``globs`` that ``keep`` accepts
    (str constants encoded as UTF-8), each once."""
    seen: set[bytes] = set()
    for pattern in globs:
        for path in sorted(TESTS.glob(pattern)):
            tree = ast.parse(path.read_text(encoding='utf-8'), str(path))
            for node in ast.walk(tree):
                value = _constant(node)
                if value is None:
                    continue
                data = value.encode('utf-8', 'surrogateescape') if isinstance(value, str) else value
                if data not in seen and keep(data):
                    seen.add(data)
                    yield data
