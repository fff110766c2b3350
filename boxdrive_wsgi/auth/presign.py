"""SigV4 query-string presigning (what botocore's ``generate_presigned_url`` makes), pure.

The console hands the browser presigned URLs so that uploads, downloads and share links
go straight to the S3 API, where the user's own keys are checked by the same verifier
and policy as any other client. Only ``host`` is signed and the payload is
``UNSIGNED-PAYLOAD``, so a browser may send any body and content type with the URL.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime
from urllib.parse import quote

from . import sigv4

#: What the console offers for share links: S3's own limit on presigned URLs.
MAX_EXPIRES = sigv4.MAX_EXPIRES


def presign(
    method: str,
    *,
    scheme: str,
    host: str,
    path: str,
    access_key: str,
    secret_key: str,
    region: str,
    expires: int,
    now: datetime | None = None,
    query: Iterable[tuple[str, str]] = (),
) -> str:
    """A URL for ``method`` on ``path`` (decoded, with any mount prefix: ``/s3/b/k``).

    ``host`` is the Host header the client will send (``name:port``); ``query`` the
    sub-resource parameters (``uploads``, ``partNumber``...), signed with the rest.
    """
    if not 1 <= expires <= MAX_EXPIRES:
        raise ValueError(f"expires must be between 1 and {MAX_EXPIRES} seconds")
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    amz_date = moment.strftime("%Y%m%dT%H%M%SZ")
    date = amz_date[:8]
    scope = f"{date}/{region}/s3/aws4_request"
    pairs = [
        *query,
        ("X-Amz-Algorithm", sigv4.ALGORITHM),
        ("X-Amz-Credential", f"{access_key}/{scope}"),
        ("X-Amz-Date", amz_date),
        ("X-Amz-Expires", str(expires)),
        ("X-Amz-SignedHeaders", "host"),
    ]
    canonical_query = sigv4.canonical_query(pairs)
    uri = quote(path, safe="/-_.~")  # S3 encodes the path once and never normalizes it
    canonical = "\n".join(
        (method.upper(), uri, canonical_query, f"host:{host}\n", "host", sigv4.UNSIGNED_PAYLOAD)
    )
    digest = hashlib.sha256(canonical.encode("utf-8", "surrogateescape")).hexdigest()
    to_sign = "\n".join((sigv4.ALGORITHM, amz_date, scope, digest))
    signature = sigv4.sign(sigv4.signing_key(secret_key, date, region, "s3"), to_sign)
    return f"{scheme}://{host}{uri}?{canonical_query}&X-Amz-Signature={signature}"
