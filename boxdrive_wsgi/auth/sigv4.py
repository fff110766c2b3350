"""AWS Signature Version 4 verification for S3, as pure functions.

``parse_request_auth`` reads what a request claims (Authorization header or presigned
query) without knowing any secret; ``verify`` checks it against the secret the caller
looked up for ``auth.access_key``. The HTTP layer passes the path *as sent on the
wire* (percent-encoded, including any mount prefix such as ``/s3``), the raw query
string and the headers; nothing here touches a request object.

S3 differs from other services: it never normalizes the path (``//``, ``.``, ``..``
stay) and encodes it only once.

Header values are signed as the bytes on the wire. WSGI hands them decoded as
latin-1, so each is mapped back to its bytes (kept in a str as UTF-8 with
surrogate escapes, encoded back exactly when hashed). botocore instead signs
the UTF-8 of the text it then sends as latin-1; that form is the second
candidate, tried only when a value is not ASCII. Both bind the same wire bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import lru_cache
from urllib.parse import quote, unquote, unquote_plus

from ..protocol.errors import S3Error
from ..protocol.numbers import INT64_MAX, parse_bounded
from .chunked import ChunkSigner

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
PAYLOAD_TOKENS = frozenset(
    {UNSIGNED_PAYLOAD, STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER}
)
MAX_SKEW = timedelta(minutes=15)
MAX_EXPIRES = 7 * 24 * 3600  # presigned URLs live at most a week

_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_SHA256_HEX = re.compile("[0-9a-f]{64}")
_CREDENTIAL_FORMAT = (
    'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
)
_PRESIGN_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Expires",
)

Headers = Mapping[str, str] | Iterable[tuple[str, str]]
Query = str | Iterable[tuple[str, str]]


@dataclass(frozen=True)
class AuthRequest:
    """What a request claims; nothing in it is trusted before ``verify``."""

    access_key: str
    date: str  # YYYYMMDD of the credential scope
    region: str
    service: str
    terminator: str
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: str  # YYYYMMDDTHHMMSSZ, as signed
    timestamp: datetime
    presigned: bool
    expires: int | None  # presigned only
    method: str
    canonical_uris: tuple[str, ...]  # S3's once-encoded form first, then the raw path
    canonical_query: str
    canonical_headers: str  # values as the bytes on the wire (see the module doc)
    payload_hash: str | None  # x-amz-content-sha256 (or UNSIGNED-PAYLOAD when presigned)
    #: The values as text (botocore's form), when that differs from the wire form.
    canonical_headers_as_text: str | None = None

    @property
    def canonical_header_forms(self) -> tuple[str, ...]:
        if self.canonical_headers_as_text is None:
            return (self.canonical_headers,)
        return (self.canonical_headers, self.canonical_headers_as_text)

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/{self.terminator}"

    @property
    def streaming(self) -> bool:
        """The body is aws-chunked with chunk signatures (needs ``chunk_signer``)."""
        return self.payload_hash in (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER)


# -- canonical forms --------------------------------------------------------------


def _uri_encode(value: str) -> str:
    # RFC 3986 unreserved characters stay, everything else (UTF-8) is %XX, upper-case.
    return quote(value, safe="-_.~")


@lru_cache(maxsize=4096)  # a pure function of the path; clients ask for a path again
def canonical_uris(raw_path: str) -> tuple[str, ...]:
    """Canonical URI candidates: the path decoded and encoded once (what S3 signs),
    then the path exactly as sent when a client encoded it differently (e.g. ``!``
    as ``%21``, which botocore does not)."""
    path = raw_path or "/"
    standard = quote(unquote(path), safe="/-_.~")
    if path != standard and path.isascii() and " " not in path:
        return (standard, path)
    return (standard,)


def _query_pairs(query: Query) -> list[tuple[str, str]]:
    if not isinstance(query, str):
        return list(query)
    pairs = []
    for part in query.split("&"):
        if part:
            name, _, value = part.partition("=")
            # A bare "+" is a space, as in forms: SigV4 clients send a literal "+" as %2B,
            # and botocore itself puts a space as "+" on the wire (signing it as %20).
            pairs.append((unquote_plus(name), unquote_plus(value)))
    return pairs


def canonical_query(pairs: Iterable[tuple[str, str]], *, exclude: str | None = None) -> str:
    encoded = sorted(
        (_uri_encode(name), _uri_encode(value)) for name, value in pairs if name != exclude
    )
    return "&".join(f"{name}={value}" for name, value in encoded)


def _header_dict(headers: Headers) -> dict[str, str]:
    """Lower-case names; repeated headers joined with "," in order, as SigV4 does."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    out: dict[str, str] = {}
    for name, value in items:
        key = name.lower()
        out[key] = f"{out[key]},{value}" if key in out else value
    return out


def _trim(value: str) -> str:
    # Trim the ends and fold inner runs of whitespace (inside quotes too, per the
    # published get-header-value-trim vector).
    return " ".join(value.split())


def canonical_headers(headers: Mapping[str, str], signed: Iterable[str]) -> str:
    return "".join(f"{name}:{_trim(headers.get(name, ''))}\n" for name in signed)


def wire_text(value: str) -> str:
    """A WSGI (latin-1 decoded) header value as its wire bytes, held as UTF-8 text
    with surrogate escapes; a value that cannot be latin-1 is text already."""
    try:
        return value.encode("latin-1").decode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return value


def _header_forms(headers: Mapping[str, str], signed: Iterable[str]) -> tuple[str, str | None]:
    """The canonical headers from the wire bytes and, if different, from the text."""
    names = tuple(signed)
    as_text = canonical_headers(headers, names)
    if "".join(headers.get(name, "") for name in names).isascii():
        return as_text, None  # ASCII values are the same bytes either way (the common case)
    wire = canonical_headers({name: wire_text(headers.get(name, "")) for name in names}, names)
    return wire, (None if as_text == wire else as_text)


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _printable(text: str) -> str:
    """Text for an error document: undecodable wire bytes shown as U+FFFD."""
    return _utf8(text).decode("utf-8", "replace")


def canonical_request(
    auth: AuthRequest, uri: str, payload_hash: str, headers: str | None = None
) -> str:
    return "\n".join(
        (
            auth.method,
            uri,
            auth.canonical_query,
            auth.canonical_headers if headers is None else headers,
            ";".join(auth.signed_headers),
            payload_hash,
        )
    )


def string_to_sign(auth: AuthRequest, canonical: str) -> str:
    digest = hashlib.sha256(_utf8(canonical)).hexdigest()
    return "\n".join((ALGORITHM, auth.amz_date, auth.scope, digest))


@lru_cache(maxsize=256)
def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    """kSigning; cached since it only changes per day, region and service."""
    key = ("AWS4" + secret_key).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def sign(key: bytes, string: str) -> str:
    # hmac.digest: OpenSSL's one-shot HMAC, without building an HMAC object in Python
    return hmac.digest(key, string.encode(), "sha256").hex()


# -- parsing --------------------------------------------------------------------------


def _parse_credential(credential: str, code: str, prefix: str) -> tuple[str, ...]:
    parts = credential.split("/")
    if len(parts) != 5 or not parts[0]:
        raise S3Error(code, f"{prefix}{_CREDENTIAL_FORMAT}")
    if len(parts[1]) != 8 or not parts[1].isdigit():
        raise S3Error(code, f"{prefix}incorrect date format \"{parts[1]}\". This date "
                      "in the credential must be in the format \"yyyyMMdd\".")  # fmt: skip
    return tuple(parts)


@lru_cache(maxsize=1024)  # one X-Amz-Date per second serves every request signed in it
def _parse_amz_date(value: str) -> datetime | None:
    try:
        return datetime.strptime(value, _AMZ_DATE).replace(tzinfo=UTC)
    except ValueError:
        return None


def _payload_hash(headers: Mapping[str, str], *, presigned: bool) -> str | None:
    value = headers.get("x-amz-content-sha256")
    if value is None:
        return UNSIGNED_PAYLOAD if presigned else None
    if value not in PAYLOAD_TOKENS and not _SHA256_HEX.fullmatch(value):
        raise S3Error(
            "InvalidArgument",
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER "
            "or a valid sha256 value.",
            extra={"ArgumentName": "x-amz-content-sha256", "ArgumentValue": value},
        )
    return value


def _unsupported() -> S3Error:
    return S3Error(
        "InvalidRequest",
        "The authorization mechanism you have provided is not supported. "
        "Please use AWS4-HMAC-SHA256.",
    )


def parse_request_auth(
    method: str, raw_path: str, query: Query, headers: Headers
) -> AuthRequest | None:
    """Parse the SigV4 claim of a request; None when it carries none (anonymous).

    ``raw_path``: the path as sent (percent-encoded, with any mount prefix);
    ``query``: the raw query string (or already-decoded pairs).
    Raises S3Error for malformed or unsupported authentication.
    """
    hdrs = _header_dict(headers)
    pairs = _query_pairs(query)
    params = dict(pairs)
    authorization = hdrs.get("authorization")
    if authorization is not None and "X-Amz-Algorithm" in params:
        raise S3Error(
            "InvalidArgument",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
            "Signature query string parameter or the Authorization header should be specified",
            extra={"ArgumentName": "Authorization", "ArgumentValue": authorization},
        )
    if authorization is not None:
        return _parse_header_auth(method, raw_path, pairs, hdrs, authorization)
    if "X-Amz-Algorithm" in params or "X-Amz-Credential" in params:
        return _parse_presigned(method, raw_path, pairs, params, hdrs)
    if "Signature" in params and "AWSAccessKeyId" in params:
        raise _unsupported()  # SigV2 presigned URL
    return None


def _parse_header_auth(
    method: str,
    raw_path: str,
    pairs: list[tuple[str, str]],
    hdrs: dict[str, str],
    authorization: str,
) -> AuthRequest:
    scheme, _, rest = authorization.strip().partition(" ")
    if scheme != ALGORITHM:
        raise _unsupported()
    fields: dict[str, str] = {}
    for component in rest.split(","):
        name, sep, value = component.strip().partition("=")
        if sep:
            fields[name] = value.strip()
    code, prefix = "AuthorizationHeaderMalformed", "The authorization header is malformed; "
    for name in ("Credential", "SignedHeaders", "Signature"):
        if not fields.get(name):
            raise S3Error(code, f"{prefix}the authorization header requires a {name} component.")
    access_key, date, region, service, terminator = _parse_credential(
        fields["Credential"], code, prefix
    )
    amz_date = hdrs.get("x-amz-date")
    timestamp = _parse_amz_date(amz_date) if amz_date else None
    if amz_date is None and "date" in hdrs:
        # Only without x-amz-date is the HTTP Date header the signing time.
        try:
            timestamp = parsedate_to_datetime(hdrs["date"]).astimezone(UTC)
        except (TypeError, ValueError):
            timestamp = None
        amz_date = timestamp.strftime(_AMZ_DATE) if timestamp else None
    if timestamp is None or amz_date is None:
        raise S3Error(
            "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header"
        )
    signed = tuple(fields["SignedHeaders"].split(";"))
    wire_headers, text_headers = _header_forms(hdrs, signed)
    payload_hash = _payload_hash(hdrs, presigned=False)
    if payload_hash is None and service == "s3":
        raise S3Error(
            "InvalidRequest", "Missing required header for this request: x-amz-content-sha256"
        )
    return AuthRequest(
        access_key=access_key,
        date=date,
        region=region,
        service=service,
        terminator=terminator,
        signed_headers=signed,
        signature=fields["Signature"],
        amz_date=amz_date,
        timestamp=timestamp,
        presigned=False,
        expires=None,
        method=method.upper(),
        canonical_uris=canonical_uris(raw_path),
        canonical_query=canonical_query(pairs),
        canonical_headers=wire_headers,
        payload_hash=payload_hash,
        canonical_headers_as_text=text_headers,
    )


def _parse_presigned(
    method: str,
    raw_path: str,
    pairs: list[tuple[str, str]],
    params: dict[str, str],
    hdrs: dict[str, str],
) -> AuthRequest:
    code = "AuthorizationQueryParametersError"
    if any(not params.get(name) for name in _PRESIGN_PARAMS):
        raise S3Error(
            code,
            "Query-string authentication version 4 requires the X-Amz-Algorithm, "
            "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, "
            "and X-Amz-Expires parameters.",
        )
    if params["X-Amz-Algorithm"] != ALGORITHM:
        raise S3Error(code, f'X-Amz-Algorithm only supports "{ALGORITHM}"')
    access_key, date, region, service, terminator = _parse_credential(
        params["X-Amz-Credential"], code, "Error parsing the X-Amz-Credential parameter; "
    )
    timestamp = _parse_amz_date(params["X-Amz-Date"])
    if timestamp is None:
        raise S3Error(
            code, "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""
        )
    raw_expires = params["X-Amz-Expires"]
    if parse_bounded(raw_expires.removeprefix("-"), 0, INT64_MAX) is None:
        raise S3Error(code, "X-Amz-Expires should be a number")
    if raw_expires.startswith("-"):
        raise S3Error(code, "X-Amz-Expires must be non-negative")
    expires = int(raw_expires)
    if expires > MAX_EXPIRES:
        raise S3Error(
            code, f"X-Amz-Expires must be less than a week (in seconds) that is {MAX_EXPIRES}"
        )
    signed = tuple(params["X-Amz-SignedHeaders"].split(";"))
    wire_headers, text_headers = _header_forms(hdrs, signed)
    return AuthRequest(
        access_key=access_key,
        date=date,
        region=region,
        service=service,
        terminator=terminator,
        signed_headers=signed,
        signature=params["X-Amz-Signature"],
        amz_date=params["X-Amz-Date"],
        timestamp=timestamp,
        presigned=True,
        expires=expires,
        method=method.upper(),
        canonical_uris=canonical_uris(raw_path),
        canonical_query=canonical_query(pairs, exclude="X-Amz-Signature"),
        canonical_headers=wire_headers,
        payload_hash=_payload_hash(hdrs, presigned=True),
        canonical_headers_as_text=text_headers,
    )


# -- verification -----------------------------------------------------------------


def _check_scope(auth: AuthRequest, region: str | None, service: str) -> None:
    if auth.presigned:
        code, prefix = (
            "AuthorizationQueryParametersError",
            ("Error parsing the X-Amz-Credential parameter; "),
        )
    else:
        code, prefix = "AuthorizationHeaderMalformed", "The authorization header is malformed; "
    if region is not None and auth.region != region:
        raise S3Error(
            code,
            f"{prefix}the region '{auth.region}' is wrong; expecting '{region}'",
            extra={"Region": region},
        )
    if auth.service != service:
        raise S3Error(
            code,
            f'{prefix}incorrect service "{auth.service}". This endpoint belongs to "{service}".',
        )
    if auth.terminator != "aws4_request":
        raise S3Error(
            code,
            f'{prefix}incorrect terminal "{auth.terminator}". This endpoint uses "aws4_request".',
        )
    if auth.date != auth.amz_date[:8]:
        raise S3Error(code, f"{prefix}Invalid credential date. Date is not the same as X-Amz-Date.")
    if "host" not in auth.signed_headers:
        raise S3Error(
            "AccessDenied",
            "There were headers present in the request which were not signed",
            extra={"HeadersNotSigned": "host"},
        )


def _server_time(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_time(auth: AuthRequest, now: datetime) -> None:
    if auth.presigned:
        assert auth.expires is not None
        if auth.timestamp - now > MAX_SKEW:
            raise S3Error("AccessDenied", "Request is not valid yet")
        if now > auth.timestamp + timedelta(seconds=auth.expires):
            raise S3Error(
                "AccessDenied",
                "Request has expired",
                extra={
                    "X-Amz-Expires": str(auth.expires),
                    "Expires": (auth.timestamp + timedelta(seconds=auth.expires)).strftime(
                        "%Y-%m-%dT%H:%M:%SZ"
                    ),
                    "ServerTime": _server_time(now),
                },
            )
    elif abs(now - auth.timestamp) > MAX_SKEW:
        raise S3Error(
            "RequestTimeTooSkewed",
            extra={
                "RequestTime": auth.amz_date,
                "ServerTime": _server_time(now),
                "MaxAllowedSkewMilliseconds": str(int(MAX_SKEW.total_seconds() * 1000)),
            },
        )


def verify(
    auth: AuthRequest,
    secret_key: str,
    now: datetime,
    *,
    region: str | None = None,
    service: str = "s3",
    payload_hash: str | None = None,
) -> None:
    """Check scope, time and signature; raise S3Error or return None.

    ``region``: the server's region (None accepts any). ``payload_hash`` overrides the
    x-amz-content-sha256 value (only for services that sign the body otherwise).
    """
    _check_scope(auth, region, service)
    _check_time(auth, now)
    payload = payload_hash or auth.payload_hash
    if payload is None:
        raise S3Error(
            "InvalidRequest", "Missing required header for this request: x-amz-content-sha256"
        )
    key = signing_key(secret_key, auth.date, auth.region, auth.service)
    provided = auth.signature.lower()
    first: tuple[str, str] | None = None
    for uri in auth.canonical_uris:
        for headers in auth.canonical_header_forms:
            canonical = canonical_request(auth, uri, payload, headers)
            to_sign = string_to_sign(auth, canonical)
            if hmac.compare_digest(sign(key, to_sign), provided):
                return
            first = first or (_printable(canonical), to_sign)
    assert first is not None
    raise S3Error(
        "SignatureDoesNotMatch",
        extra={
            "AWSAccessKeyId": auth.access_key,
            "StringToSign": first[1],
            "SignatureProvided": auth.signature,
            "CanonicalRequest": first[0],
        },
    )


def chunk_signer(auth: AuthRequest, secret_key: str) -> ChunkSigner:
    """The signer for an aws-chunked body whose seed request ``auth`` verified."""
    key = signing_key(secret_key, auth.date, auth.region, auth.service)
    return ChunkSigner(key, auth.signature, auth.amz_date, auth.scope)
