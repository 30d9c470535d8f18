"""The ``content-type`` of a static file, from its name alone and the same on every host.

Python's :mod:`mimetypes` reads the machine's ``/etc/mime.types`` (and the Windows registry), so
one file could be sent as ``text/plain`` on one host and ``application/octet-stream`` on another.
The table here ships with the package instead: upstream's own (the ``mime_guess`` crate's, see
:mod:`.static_mime_table`), looked up the way upstream looks it up:

* the extension is what Rust's ``Path::extension()`` returns: the part of the file name after its
  last dot, except for a name that starts with its only dot (``.bashrc`` has none) and for ``..``;
  ``archive.tar.gz`` is ``gz``, ``name.`` has an empty one;
* it is matched without regard to case, with Unicode case folding as ``unicase`` does it (``PNG``
  is ``png``);
* an unknown or missing extension is ``application/octet-stream``
  (``first_or_octet_stream()``), and no ``charset`` is ever added.
"""

from __future__ import annotations

import os

from .static_mime_table import TYPES

__all__ = ['DEFAULT_TYPE', 'content_type', 'extension']

#: What a file whose extension the table does not know is sent as.
DEFAULT_TYPE = 'application/octet-stream'


def extension(path: str) -> str | None:
    """The extension of ``path``'s file name without the dot, as ``Path::extension()`` finds it."""
    name = os.path.basename(path)
    dot = name.rfind('.')
    # No dot, or only a leading one (a hidden file's name): no extension. '..' is a parent
    # reference, not a name with an empty extension.
    if dot <= 0 or name == '..':
        return None
    return name[dot + 1 :]


def content_type(path: str) -> str:
    """The media type upstream sends for a file at ``path``."""
    found = extension(path)
    if not found:
        return DEFAULT_TYPE
    # casefold() is full Unicode case folding, as unicase compares non-ASCII names; on ASCII it
    # is lower().
    return TYPES.get(found.casefold(), DEFAULT_TYPE)
