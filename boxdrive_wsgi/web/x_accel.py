"""GetObject through nginx's X-Accel-Redirect: the app answers, nginx sends the file.

Opt-in with ``BOXDRIVE_X_ACCEL_REDIRECT=/_boxdrive_internal/``: the prefix of an
``internal`` nginx location whose ``alias`` is the filesystem store's root (see
deploy/nginx/boxdrive.conf). For a GET of an object whose body has a local file
(``ObjectBody.path``), the app authenticates, authorizes, evaluates the
conditionals and answers 200 with ``X-Accel-Redirect: <prefix><path under the
root>`` and no body; nginx then serves the content file itself (sendfile), and
applies the client's Range to it (206 with Content-Range). The app has already
refused an unsatisfiable range with 416.

nginx keeps only a few of the app's headers across the redirect (Content-Type,
Content-Disposition, Cache-Control, Expires, Accept-Ranges); the internal
location restores the rest from ``$upstream_http_*`` variables, which works for a
fixed list of names only. A response with any other header (user metadata
``x-amz-meta-*`` above all) is streamed by the app as usual, as are requests with
``If-Match``/``If-Unmodified-Since``/``If-Range`` (nginx would evaluate them
against the file's own mtime and inode-based ETag) and Range headers S3 ignores.

Only nginx turns such an answer into the object: the shipped #accel part sends
``X-Boxdrive-Accel: 1`` with every request it proxies. A GET that would be answered
with X-Accel-Redirect but lacks it (a client that reached the app without nginx, or
an nginx without the #accel part) gets 403 AccessDenied, never an empty 200.

The race: content files are never modified in place; an overwrite writes a new
file and unlinks the old one, a delete unlinks it. If that happens between the
app's answer and nginx's open, nginx finds no file, and the internal location's
``error_page 404`` hands the request back to the app (``X-Boxdrive-No-Accel``),
which answers from the index as it is then: the new content or NoSuchKey.
Once nginx has opened the file, it sends the old content to the end (the same
guarantee as a streamed GET).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import quote

from flask import Response

from ..protocol.errors import S3Error
from ..stores.base import ObjectBody
from .context import S3Request

#: Response headers that survive the redirect: nginx passes the first group itself,
#: the internal location in deploy/nginx/*.conf restores the others (keep in sync).
RESTORED_HEADERS = frozenset(
    {
        "content-type", "content-disposition", "cache-control", "expires", "accept-ranges",
        "etag", "last-modified", "content-encoding", "content-language",
        "x-amz-tagging-count", "x-amz-version-id", "x-amz-storage-class",
        "x-amz-checksum-crc32", "x-amz-checksum-crc32c", "x-amz-checksum-crc64nvme",
        "x-amz-checksum-sha1", "x-amz-checksum-sha256",
    }
)  # fmt: skip
#: Added after the handler (blueprint after_request); restored by the location too.
RESTORED_LATER = ("x-amz-request-id", "x-amz-id-2", "Access-Control-*", "Vary")
#: Conditionals nginx would evaluate again against its own view of the file.
NGINX_CONDITIONALS = ("If-Match", "If-Unmodified-Since", "If-Range")
#: Sent by the nginx fallback location: serve this request from the app.
NO_ACCEL_HEADER = "X-Boxdrive-No-Accel"
#: Sent by nginx (the #accel part) with every request: it acts on X-Accel-Redirect.
ACCEL_HEADER = "X-Boxdrive-Accel"


def accel_response(
    s3: S3Request, body: ObjectBody, headers: Mapping[str, str], *, ranged: bool
) -> Response | None:
    """An empty response that makes nginx send ``body``'s file, or None to stream.

    ``ranged``: the app parsed a Range it would honour (nginx applies it itself).
    Closes ``body`` when it answers.
    """
    prefix = s3.settings.x_accel_redirect
    request = s3.request
    if not prefix or body.path is None or request.method != "GET":
        return None
    if "partNumber" in s3.query or NO_ACCEL_HEADER in request.headers:
        return None
    if "Range" in request.headers and not ranged:
        return None  # S3 ignores this Range header; nginx might not
    if any(name in request.headers for name in NGINX_CONDITIONALS):
        return None
    if any(name.lower() not in RESTORED_HEADERS for name in headers):
        return None
    relative = _under_root(body.path, s3.store.capabilities.file_root or s3.settings.data_dir)
    if relative is None:
        return None
    body.close()
    if request.headers.get(ACCEL_HEADER) != "1":
        raise S3Error(
            "AccessDenied",
            "This server sends objects through its proxy (X-Accel-Redirect); the request"
            " did not come through it",
        )
    response = Response(b"", status=200, headers=dict(headers))
    response.headers["X-Accel-Redirect"] = prefix.rstrip("/") + "/" + quote(relative)
    return response


def _under_root(path: str, root: str) -> str | None:
    """``path`` relative to ``root`` with ``/`` separators, or None outside it."""
    relative = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    if relative == os.curdir or relative.split(os.sep, 1)[0] == os.pardir:
        return None
    return relative.replace(os.sep, "/")
