"""Static ``content-type``: upstream's table (``mime_guess`` 2.0.5) shipped with the package, the
same on every host whatever its ``/etc/mime.types`` says.

The expected types below were read off the crate's ``src/mime_types.rs`` by hand, not from the
generated table, so a wrong generation fails here.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

import pytest

from granian_server.static_mime import content_type, extension
from granian_server.static_mime_table import MIME_GUESS_VERSION, TYPES

SAMPLE = {
    # web pages and code
    'html': 'text/html',
    'htm': 'text/html',
    'css': 'text/css',
    'js': 'text/javascript',
    # mime_guess 2.0.5 moved .js to text/javascript (RFC 9239) but left .mjs behind.
    'mjs': 'application/javascript',
    'json': 'application/json',
    'map': 'text/plain',
    'wasm': 'application/wasm',
    'webmanifest': 'application/manifest+json',
    'xml': 'text/xml',
    'xhtml': 'application/xhtml+xml',
    # images
    'svg': 'image/svg+xml',
    'png': 'image/png',
    'jpg': 'image/jpeg',
    'jpeg': 'image/jpeg',
    'gif': 'image/gif',
    'webp': 'image/webp',
    'avif': 'image/avif',
    'ico': 'image/x-icon',
    'bmp': 'image/bmp',
    'tiff': 'image/tiff',
    # fonts
    'woff': 'application/font-woff',
    'woff2': 'font/woff2',
    'ttf': 'font/ttf',
    'otf': 'application/font-sfnt',
    'eot': 'application/vnd.ms-fontobject',
    # audio and video
    'mp4': 'video/mp4',
    'webm': 'video/webm',
    'mp3': 'audio/mpeg',
    'ogg': 'audio/ogg',
    'wav': 'audio/wav',
    'vtt': 'text/vtt',
    # documents, data, archives
    'pdf': 'application/pdf',
    'txt': 'text/plain',
    'md': 'text/markdown',
    'csv': 'text/csv',
    'yaml': 'text/x-yaml',
    'toml': 'text/x-toml',
    'ics': 'text/calendar',
    'zip': 'application/zip',
    'gz': 'application/gzip',
    'tar': 'application/x-tar',
    '7z': 'application/x-7z-compressed',
    'xz': 'application/x-xz',
    'pem': 'application/x-x509-ca-cert',  # upstream's own test
    'xlsx': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    # the table says macroEnabled; upstream's mime::Mime lower-cases it
    'xlsm': 'application/vnd.ms-excel.sheet.macroenabled.12',
    'py': 'text/plain',
    'sh': 'application/x-sh',
}


def test_the_table_is_mime_guess_2_0_5() -> None:
    assert MIME_GUESS_VERSION == '2.0.5'
    # mime_guess 2.0.5 has 1382 entries; the two with a dot can never match (see the table).
    assert len(TYPES) == 1380
    assert all(key == key.lower() and '.' not in key for key in TYPES)
    assert all(value == value.lower() and value.count('/') == 1 for value in TYPES.values())


@pytest.mark.parametrize(('ext', 'expected'), SAMPLE.items())
def test_a_sample_of_extensions(ext: str, expected: str) -> None:
    assert content_type(f'/srv/site/file.{ext}') == expected


@pytest.mark.parametrize(
    ('name', 'expected'),
    [
        ('A.PNG', 'image/png'),
        ('Archive.Tar.Gz', 'application/gzip'),
        # Unicode case folding, as unicase compares: LATIN SMALL LETTER LONG S folds to 's'.
        ('logo.\u017fvg', 'image/svg+xml'),
        ('こんにちは.png', 'image/png'),
        ('archive.tar.gz', 'application/gzip'),
        ('.hidden.css', 'text/css'),
        # Only the last extension counts: 'config', not the table's 'dll.config'.
        ('web.dll.config', 'application/xml'),
        ('data:x.png', 'image/png'),
    ],
)
def test_extension_rules(name: str, expected: str) -> None:
    assert content_type(f'/srv/{name}') == expected


@pytest.mark.parametrize(
    'name', ['README', '.bashrc', 'name.', '..', 'blob.unknownext', 'x.png.unknownext', 'x.br', 'x.zst']
)
def test_no_or_unknown_extension_is_octet_stream(name: str) -> None:
    assert content_type(f'/srv/{name}') == 'application/octet-stream'


def test_only_the_file_name_counts() -> None:
    assert content_type('/srv/v1.2/readme') == 'application/octet-stream'
    assert content_type('/srv/v1.png/app.js') == 'text/javascript'


@pytest.mark.parametrize(
    ('name', 'found'),
    [
        ('a.txt', 'txt'),
        ('a.b.c', 'c'),
        ('.bashrc', None),
        ('.a.b', 'b'),
        ('a.', ''),
        ('..', None),
        ('...', ''),
        ('a', None),
    ],
)
def test_extension_is_what_rust_path_extension_returns(name: str, found: str | None) -> None:
    assert extension(f'/x/{name}') == found


def test_the_hosts_mime_types_are_not_consulted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    host_table = tmp_path / 'mime.types'
    host_table.write_text('application/x-host-png png\ntext/x-host-css css\ntext/x-host-granian granianext\n')
    # What mimetypes reads from /etc/mime.types, replaced by another host's table.
    monkeypatch.setattr(mimetypes, '_db', mimetypes.MimeTypes(filenames=[str(host_table)]))
    monkeypatch.setattr(mimetypes, 'inited', True)
    # The replacement took effect: a lookup through mimetypes now answers differently...
    assert mimetypes.guess_type('a.png')[0] == 'application/x-host-png'
    assert mimetypes.guess_type('a.css')[0] == 'text/x-host-css'
    assert mimetypes.guess_type('a.granianext')[0] == 'text/x-host-granian'
    # ...and the static files do not.
    assert content_type('/srv/a.png') == 'image/png'
    assert content_type('/srv/a.css') == 'text/css'
    assert content_type('/srv/a.granianext') == 'application/octet-stream'


def test_where_python_mimetypes_and_upstream_differ() -> None:
    # Python's own defaults (no host file) name these differently; upstream's table wins.
    defaults = mimetypes.MimeTypes(filenames=())
    for name, upstream in [('f.woff', 'application/font-woff'), ('f.ico', 'image/x-icon'), ('f.yaml', 'text/x-yaml')]:
        assert defaults.guess_type(name)[0] != upstream
        assert content_type(name) == upstream
