"""Where GitlabStore keeps things in the repository: S3 keys as git paths.

S3 keys are not file paths: ``a`` and ``a/b`` coexist, and ``..``, ``//``, a trailing
``/`` or 1024-byte keys are all valid. Git cannot hold a file ``a`` next to a
directory ``a``, nor a path component ``..`` or an empty one. So a key is split at
``/`` into segments and every segment is encoded:

* a segment's UTF-8 bytes are kept when they are ASCII letters, digits, ``-``,
  ``_`` or ``.`` (not a leading ``.``); every other byte is ``%XX`` (upper-case
  hex). The encoded text never contains ``~`` or ``+``, and never starts with ``.``.
* a *directory* segment (every segment but the last) gets a ``~`` suffix:
  ``photos/2024/cat.jpg`` -> ``photos~/2024~/cat.jpg``. So the key ``a`` (file
  ``a``) and the key ``a/b`` (directory ``a~``) never collide.
* an empty last segment (a key ending in ``/``) is the file ``%``; an empty
  directory segment (``a//b``) is the directory ``~``.
* an encoded segment longer than ``COMPONENT_MAX`` characters is cut into pieces;
  every piece but the last is a directory with a ``+`` suffix. So a 1024-byte key
  never needs a path component longer than ``COMPONENT_MAX + 1``.

Names starting with ``.`` are ours (no encoded segment starts with one):
``<bucket>/.boxdrive-bucket`` (the bucket marker), ``.boxdrive-index`` in each
directory (size, ETag and date of the keys in that directory, for listings),
``.boxdrive-meta/`` in each directory (one sidecar per object: attributes and
ETag), ``<bucket>/.boxdrive-config/`` (bucket configuration documents).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

#: Longest encoded path component (git has no limit; GitLab and file systems do).
COMPONENT_MAX = 120

MARKER = ".boxdrive-bucket"
INDEX = ".boxdrive-index"
META = ".boxdrive-meta"
CONFIG = ".boxdrive-config"

_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
DIR_SUFFIX = "~"
MORE_SUFFIX = "+"
EMPTY_LEAF = "%"


def encode_segment(segment: str) -> str:
    """Percent-encode one key segment (see the module docstring)."""
    out: list[str] = []
    for i, byte in enumerate(segment.encode("utf-8", "surrogatepass")):
        if byte in _SAFE and not (i == 0 and byte == ord(".")):
            out.append(chr(byte))
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def decode_segment(text: str) -> str:
    return unquote_to_bytes(text).decode("utf-8", "surrogatepass")


def _pieces(encoded: str) -> list[str]:
    """Cut an encoded segment into pieces of at most COMPONENT_MAX, never inside %XX."""
    pieces: list[str] = []
    start = 0
    while len(encoded) - start > COMPONENT_MAX:
        cut = start + COMPONENT_MAX
        # back off so that no "%XX" escape is split
        if encoded[cut - 1] == "%":
            cut -= 1
        elif encoded[cut - 2] == "%":
            cut -= 2
        pieces.append(encoded[start:cut])
        start = cut
    pieces.append(encoded[start:])
    return pieces


def _components(segment: str, *, directory: bool) -> list[str]:
    encoded = encode_segment(segment)
    if not encoded and not directory:
        return [EMPTY_LEAF]
    pieces = _pieces(encoded)
    last = pieces[-1] + (DIR_SUFFIX if directory else "")
    return [p + MORE_SUFFIX for p in pieces[:-1]] + [last]


@dataclass(frozen=True)
class KeyPaths:
    """The repository paths of one object."""

    #: the directory that holds the object, its index and its sidecars' folder
    directory: str
    #: the object's content
    data: str
    #: the object's sidecar (attributes, ETag)
    meta: str
    #: the directory's index (size, ETag, date of every key in it)
    index: str


def dir_prefix(key_dir: str) -> str:
    """Encoded directory path (``""`` or ending in ``/``) of a key prefix that is
    empty or ends with ``/``."""
    assert key_dir == "" or key_dir.endswith("/")
    parts: list[str] = []
    for segment in key_dir.split("/")[:-1]:
        parts += _components(segment, directory=True)
    return "".join(p + "/" for p in parts)


def key_paths(bucket: str, key: str) -> KeyPaths:
    head, _, leaf = key.rpartition("/")
    directory = bucket + "/" + dir_prefix(head + "/" if "/" in key else "")
    leaf_path = "/".join(_components(leaf, directory=False))
    return KeyPaths(
        directory=directory,
        data=directory + leaf_path,
        meta=directory + META + "/" + leaf_path,
        index=directory + INDEX,
    )


def marker_path(bucket: str) -> str:
    return f"{bucket}/{MARKER}"


def config_dir(bucket: str) -> str:
    return f"{bucket}/{CONFIG}"


def config_path(bucket: str, name: str) -> str:
    return f"{config_dir(bucket)}/{encode_segment(name) or EMPTY_LEAF}"


def first_directory_segment(components: list[str]) -> tuple[str, int] | None:
    """Decode the key segment that starts at ``components[0]`` if it is a directory
    segment: ``(segment, number of components it spans)``, else None (a file, or a
    long file name cut into ``+`` pieces)."""
    encoded: list[str] = []
    for n, component in enumerate(components):
        if component.endswith(MORE_SUFFIX):
            encoded.append(component[: -len(MORE_SUFFIX)])
            continue
        if component.endswith(DIR_SUFFIX):
            encoded.append(component[: -len(DIR_SUFFIX)])
            return decode_segment("".join(encoded)), n + 1
        return None
    return None
