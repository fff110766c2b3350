"""S3's server-side encryption above the store: what a request asks for, the stored
``encryption`` attributes, encrypting writes and decrypting (ranged) reads.

The stored attributes (``ObjectAttributes.encryption``, strings only):

``scheme``      ``AES256`` (SSE-S3), ``aws:kms`` (SSE-KMS) or ``SSE-C``
``key_id``      the master key id (SSE-S3) or KMS key id (SSE-KMS)
``wrapped``     the object's data key wrapped under that key (SSE-C: the customer key)
``fingerprint`` SSE-C: a salted HMAC of the customer key (never the key)
``context``     SSE-KMS: the encryption context as the client gave it (base64 JSON)
``bucket_key``  SSE-KMS: ``true`` if the client asked for an S3 bucket key
``md5``         SSE-S3: the ETag S3 shows. A single stream: the hex MD5 of the plaintext
                (recorded by the encrypting reader at EOF: stores read ``attributes``
                only after the body's EOF, as for trailing checksums); multipart: the
                MD5 of the parts' plaintext MD5s, ``-N``

An encrypted part's ETag as shown is kept with the part, as the ``PART_ETAG`` entry of
its ``checksums`` (filled at EOF the same way; not an algorithm, so never shown as a
checksum: ``shown_checksums``): SSE-S3 the plaintext's MD5, as S3 shows; SSE-KMS and
SSE-C an HMAC of it under the data key (no plaintext MD5 to confirm a guess with, as
in S3, yet the same for the same bytes: a part sent again keeps its ETag). The
object's ``md5`` follows from those (``multipart_md5``).

The data key is wrapped bound to bucket, key and scheme, so attributes moved onto
another object do not unwrap. Plaintext sizes follow from the ciphertext's
(``segments.plaintext_size``; multipart: per part, from ``attributes.parts``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache

from ..protocol.errors import S3Error
from ..protocol.headers import HeaderMap
from ..settings import Settings
from ..stores.base import (
    ByteRange,
    InvalidRange,
    ObjectBody,
    ObjectInfo,
    ObjectStore,
    PartInfo,
    multipart_etag,
)
from ..stores.streams import Readable, Spool
from .keys import (
    KeyNotFound,
    Keyring,
    key_fingerprint,
    master_keyring,
    matches_fingerprint,
    unwrap_key,
    wrap_key,
)
from .kms import KeyManager, local_kms
from .layout import Stream, plain_total, read_plaintext, streams_of
from .segments import DecryptionError, EncryptingReader, ciphertext_size, new_data_key

SSE = "x-amz-server-side-encryption"
KMS_KEY_ID = f"{SSE}-aws-kms-key-id"
CONTEXT = f"{SSE}-context"
BUCKET_KEY = f"{SSE}-bucket-key-enabled"
C_ALGORITHM = f"{SSE}-customer-algorithm"
C_KEY = f"{SSE}-customer-key"
C_KEY_MD5 = f"{SSE}-customer-key-md5"
COPY_PREFIX = "x-amz-copy-source-"
AES256, KMS, SSE_C = "AES256", "aws:kms", "SSE-C"
#: What GetObject without the customer key gets for an SSE-C object.
NEEDS_KEY = (
    "The object was stored using a form of Server Side Encryption. The correct "
    "parameters must be provided to retrieve the object."
)
NOT_APPLICABLE = "The encryption parameters are not applicable to this object."
#: The bucket configuration slot of PutBucketEncryption (JSON, see bucket_config).
CONFIG = "encryption"
#: The entry of an encrypted part's ``checksums`` holding its ETag as shown.
PART_ETAG = "x-boxdrive-part-etag"


@dataclass(frozen=True)
class Requested:
    """The encryption a write asks for (headers, else the bucket default)."""

    scheme: str
    kms_key_id: str | None = None
    context: str | None = None
    bucket_key: bool = False
    customer_key: bytes | None = None
    customer_key_md5: str | None = None


@dataclass(frozen=True)
class Keys:
    """The server's keys: SSE-S3 master keys and the KMS."""

    master: Keyring
    kms: KeyManager
    default_kms_key: str | None


@cache
def _keys(
    data_dir: str, master: str | None, master_file: str | None, default: str | None, shared: bool
) -> Keys:
    keyring = master_keyring(data_dir, master, master_file, in_memory=not shared)
    return Keys(keyring, local_kms(data_dir), default)


def server_keys(settings: Settings, store: ObjectStore) -> Keys:
    """The keys for ``settings``; an in-process store (memory) keeps its master key in
    memory too (its objects die with the process), any other in ``data_dir``."""
    return _keys(
        settings.data_dir,
        settings.sse_master_key,
        settings.sse_master_key_file,
        settings.sse_kms_default_key,
        store.capabilities.shared,
    )


def _argument(message: str, name: str, value: str | None) -> S3Error:
    return S3Error(
        "InvalidArgument", message, extra={"ArgumentName": name, "ArgumentValue": value or "null"}
    )


# ----------------------------------------------------------------- what a request asks for


def customer_key(headers: HeaderMap, prefix: str = "x-amz-") -> tuple[bytes, str] | None:
    """The SSE-C key (and its base64 MD5) from headers (``x-amz-copy-source-`` for a copy's
    source), checked as S3 checks it; None if no SSE-C header is there."""
    names = [prefix + name[len("x-amz-") :] for name in (C_ALGORITHM, C_KEY, C_KEY_MD5)]
    algorithm, key, key_md5 = (headers.get(name) for name in names)
    if algorithm is None and key is None and key_md5 is None:
        return None
    if algorithm is None:
        raise _argument(
            "Requests specifying Server Side Encryption with Customer provided keys must "
            "provide a valid encryption algorithm.",
            names[0],
            None,
        )
    if algorithm != AES256:
        raise _argument("The encryption algorithm is not valid.", names[0], algorithm)
    if key is None:
        raise _argument(
            "Requests specifying Server Side Encryption with Customer provided keys must "
            "provide an appropriate secret key.",
            names[1],
            None,
        )
    try:
        material = base64.b64decode(key, validate=True)
    except binascii.Error:
        material = b""
    if len(material) != 32:
        raise _argument("The secret key was invalid for the specified algorithm.", names[1], None)
    digest = base64.b64encode(hashlib.md5(material).digest()).decode()
    if key_md5 is None:
        raise _argument(
            "Requests specifying Server Side Encryption with Customer provided keys must "
            "provide the client calculated MD5 of the secret key.",
            names[2],
            None,
        )
    if key_md5 != digest:
        raise _argument(
            "The calculated MD5 hash of the key did not match the hash that was provided.",
            names[2],
            None,
        )
    return material, digest


def requested(
    headers: HeaderMap, settings: Settings, secure: bool, default: Requested | None
) -> Requested | None:
    """The encryption a write (PutObject, CopyObject's destination, CreateMultipartUpload)
    asks for, or the bucket's default; None for none. Raises S3's 400s."""
    scheme = headers.get(SSE)
    key = customer_key(headers)
    kms_key = headers.get(KMS_KEY_ID)
    if scheme is not None and scheme not in (AES256, KMS):
        raise _argument("The encryption method specified is not supported", SSE, scheme)
    if key is not None:
        if scheme is not None:
            raise _argument(
                "Server Side Encryption with Customer provided key is incompatible with the "
                "encryption method specified",
                SSE,
                scheme,
            )
        if kms_key is not None:
            raise _argument(
                "Server Side Encryption with KMS managed key requires HTTP header "
                "x-amz-server-side-encryption : aws:kms",
                KMS_KEY_ID,
                kms_key,
            )
        check_secure(settings, secure)
        return Requested(SSE_C, customer_key=key[0], customer_key_md5=key[1])
    if scheme != KMS and (kms_key is not None or headers.get(CONTEXT) is not None):
        raise _argument(
            "Server Side Encryption with KMS managed key requires HTTP header "
            "x-amz-server-side-encryption : aws:kms",
            KMS_KEY_ID if kms_key is not None else CONTEXT,
            kms_key or headers.get(CONTEXT),
        )
    asks_bucket_key = headers.get(BUCKET_KEY, "").strip().lower() == "true"
    if scheme is None and asks_bucket_key and (default is None or default.scheme != KMS):
        raise _argument(
            "x-amz-server-side-encryption-bucket-key-enabled needs aws:kms encryption",
            BUCKET_KEY,
            headers.get(BUCKET_KEY),
        )
    if scheme == AES256:
        return Requested(AES256)
    if scheme == KMS:
        context = headers.get(CONTEXT)
        if context is not None:
            _check_context(context)
        return Requested(KMS, kms_key, context, asks_bucket_key)
    return default


def _check_context(context: str) -> None:
    import json

    try:
        value = json.loads(base64.b64decode(context, validate=True))
    except ValueError:
        value = None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise _argument("The encryption context must be base64-encoded JSON", CONTEXT, context)


def check_secure(settings: Settings, secure: bool) -> None:
    """S3 refuses SSE-C keys sent in the clear (a trusted TLS proxy counts as TLS)."""
    if not secure and not settings.sse_c_allow_http:
        raise S3Error(
            "InvalidRequest",
            "Requests specifying Server Side Encryption with Customer provided keys must "
            "be made over a secure connection.",
        )


# ----------------------------------------------------------------- writes


def _context(bucket: str, key: str, scheme: str, extra: str | None = None) -> bytes:
    return "\0".join((scheme, bucket, key, extra or "")).encode()


def new_encryption(
    want: Requested, keys: Keys, bucket: str, key: str
) -> tuple[bytes, dict[str, str]]:
    """A fresh data key and the attributes recording how it is wrapped."""
    data_key = new_data_key()
    context = _context(bucket, key, want.scheme, want.context)
    record: dict[str, str] = {"scheme": want.scheme}
    if want.scheme == SSE_C:
        assert want.customer_key is not None
        record["wrapped"] = wrap_key(want.customer_key, data_key, context)
        record["fingerprint"] = key_fingerprint(want.customer_key)
    elif want.scheme == KMS:
        key_id = want.kms_key_id or keys.default_kms_key
        if key_id is None or not keys.kms.exists(key_id):
            raise S3Error(
                "KMS.NotFoundException",
                f"Invalid keyId {key_id}" if key_id else "No KMS key id given and no default",
            )
        record["key_id"] = key_id
        record["wrapped"] = keys.kms.wrap(key_id, data_key, context)
        if want.context is not None:
            record["context"] = want.context
        if want.bucket_key:
            record["bucket_key"] = "true"
    else:
        key_id, master = keys.master.current(create=True)
        record["key_id"] = key_id
        record["wrapped"] = wrap_key(master, data_key, context)
    return data_key, record


def encrypting(
    body: Readable,
    data_key: bytes,
    size: int | None,
    *,
    part: int = 0,
    on_md5: Callable[[str], None] | None = None,
) -> tuple[Readable, int | None]:
    """The ciphertext reader a store reads, and its size (if the plaintext's is known).
    ``on_md5`` gets the plaintext's hex MD5 at EOF (what a shown ETag is made of)."""
    # A body the server spooled whole was MD5-hashed as it arrived (the bytes on the
    # wire are the plaintext there): that is the ETag, not worth a second pass.
    spool = getattr(body, "spool", None)
    known = spool.md5 if isinstance(spool, Spool) and spool.size == size else None
    reader = EncryptingReader(
        body, data_key, part=part, on_end=on_md5, known_md5=known, known_size=size
    )
    return reader, None if size is None else ciphertext_size(size)


# ----------------------------------------------------------------- reads


def record_of(info: ObjectInfo) -> Mapping[str, str] | None:
    return info.attributes.encryption


def data_key(
    record: Mapping[str, str], keys: Keys, bucket: str, key: str, customer: bytes | None
) -> bytes:
    """Unwrap an object's data key; S3Error if it cannot be (never a guess)."""
    scheme = record["scheme"]
    context = _context(bucket, key, scheme, record.get("context"))
    try:
        if scheme == SSE_C:
            if customer is None:
                raise S3Error("InvalidRequest", NEEDS_KEY)
            return unwrap_key(customer, record["wrapped"], context)
        if scheme == KMS:
            return keys.kms.unwrap(record["key_id"], record["wrapped"], context)
        return unwrap_key(keys.master.get(record["key_id"]), record["wrapped"], context)
    except KeyNotFound as error:
        raise S3Error(
            "InternalError", f"The object's encryption key cannot be found ({error})"
        ) from None
    except DecryptionError as error:
        raise S3Error("InternalError", f"The object cannot be decrypted: {error}") from None


def check_read_key(
    info: ObjectInfo, headers: HeaderMap, settings: Settings, secure: bool, prefix: str = "x-amz-"
) -> bytes | None:
    """The SSE-C key a read of ``info`` needs (checked against the stored fingerprint),
    None for other objects; S3's errors for missing, wrong or inapplicable keys."""
    record = record_of(info)
    given = customer_key(headers, prefix)
    if record is None or record.get("scheme") != SSE_C:
        if given is not None:
            raise S3Error("InvalidRequest", NOT_APPLICABLE)
        return None
    if given is None:
        raise S3Error("InvalidRequest", NEEDS_KEY)
    check_secure(settings, secure)
    if not matches_fingerprint(given[0], record.get("fingerprint", "")):
        # S3 answers 403 here; Ceph RGW (and the conformance suite) 400: the suite wins.
        raise S3Error("InvalidRequest", "The SSE-C key does not match the object's key")
    return given[0]


def streams(info: ObjectInfo) -> list[Stream]:
    parts = info.attributes.parts
    if parts is None:
        record = info.attributes.encryption or {}
        if record.get("multipart") == "true":
            raise DecryptionError("the store did not keep this multipart object's part sizes")
        return streams_of([(0, info.size)])
    return streams_of([(p.part_number, p.size) for p in parts])


def part_etag(scheme: str, data_key: bytes, plain_md5: str) -> str:
    """An encrypted part's ETag as shown (see the module's docstring)."""
    if scheme == AES256:
        return plain_md5
    mac = hmac.new(data_key, b"boxdrive part etag\0" + bytes.fromhex(plain_md5), "sha256")
    return mac.hexdigest()[:32]


def shown_part_etag(part: PartInfo) -> str:
    """The ETag a client sees for a part of an encrypted upload."""
    return part.checksums.get(PART_ETAG, part.etag)


def shown_checksums(checksums: Mapping[str, str]) -> dict[str, str]:
    """A part's checksums without the shown ETag entry."""
    return {a: v for a, v in checksums.items() if a != PART_ETAG}


def multipart_md5(record: Mapping[str, str] | None, parts: Sequence[PartInfo]) -> str | None:
    """The ETag shown for an encrypted multipart object of ``parts``: the MD5 of their
    shown ETags, ``-N``, as S3 makes it; None for a plaintext one or a part without one
    (uploaded before parts kept it: the stored ETag is then shown, as for its parts)."""
    if record is None or not parts or any(PART_ETAG not in p.checksums for p in parts):
        return None
    return multipart_etag(bytes.fromhex(p.checksums[PART_ETAG]) for p in parts)


def shown_etag(info: ObjectInfo) -> str:
    """The ETag a client sees: an SSE-S3 object's plaintext MD5, else the stored one."""
    record = record_of(info)
    return info.etag if record is None else record.get("md5", info.etag)


def stored_etag(current: ObjectInfo, given: str) -> str:
    """The stored ETag a store's conditional check (``If-Match``) must compare for an
    ETag a client gave (as shown by ``shown_etag``): the current object's stored ETag if
    ``given`` is its shown one; a value no object has if ``given`` matches only its stored
    one (hidden from clients); ``given`` itself for a plaintext object or ``*``."""
    shown = shown_etag(current)
    if given == "*" or shown == current.etag:
        return given
    return current.etag if given == shown else ""


def plain_info(info: ObjectInfo) -> ObjectInfo:
    """``info`` as a client sees it: plaintext size and part sizes, the shown ETag."""
    if record_of(info) is None:
        return info
    info = replace(info, etag=shown_etag(info))
    try:
        layout = streams(info)
    except DecryptionError:
        return info
    parts = info.attributes.parts
    if parts is not None:
        sizes = {s.part: s.plain_size for s in layout}
        parts = tuple(replace(p, size=sizes[p.part_number]) for p in parts)
    return replace(info, size=plain_total(layout), attributes=replace(info.attributes, parts=parts))


def open_plaintext(
    store: ObjectStore,
    info: ObjectInfo,
    data_key: bytes,
    byte_range: ByteRange | None,
    *,
    span: tuple[int, int] | None = None,
) -> ObjectBody:
    """A body of the object's plaintext (``byte_range`` or ``span`` of it), decrypting
    only the segments it needs. ``info`` is the stored (ciphertext) description."""
    layout = streams(info)
    size = plain_total(layout)
    ranged = byte_range is not None or span is not None
    if span is not None:
        start, stop = span
    elif byte_range is not None:
        try:
            start, stop = byte_range.resolve(size)
        except InvalidRange:
            raise InvalidRange(size) from None
    else:
        start, stop = 0, size
    bucket, key = info.bucket, info.key

    def open_range(lo: int, hi: int) -> ObjectBody:
        # the exact version described (None: an unversioned bucket's only one)
        body = store.get_object(
            bucket, key, byte_range=ByteRange(lo, hi - 1), version_id=info.version_id
        )
        if body.info.etag != info.etag:
            body.close()
            raise DecryptionError("the object changed while it was read")
        return body

    chunks = read_plaintext(open_range, data_key, layout, start, stop)
    shown = plain_info(info)
    return ObjectBody(shown, chunks, content_range=(start, stop) if ranged else None)


def first_chunk(body: ObjectBody) -> ObjectBody:
    """Decrypt the first chunk before answering, so a wrong key or tampered data is an
    error response (later failures cut the response short: never garbage)."""
    iterator = iter(body)
    try:
        first = next(iterator, b"")
    except DecryptionError as error:
        body.close()
        raise S3Error("InternalError", f"The object cannot be decrypted: {error}") from None

    def chained() -> Iterator[bytes]:
        if first:
            yield first
        yield from iterator

    return ObjectBody(body.info, chained(), content_range=body.content_range, on_close=body.close)


# ----------------------------------------------------------------- response headers


def response_headers(
    record: Mapping[str, str] | None, customer_md5: str | None = None
) -> dict[str, str]:
    if record is None:
        return {}
    scheme = record.get("scheme")
    if scheme == SSE_C:
        headers = {C_ALGORITHM: AES256}
        if customer_md5:
            headers[C_KEY_MD5] = customer_md5
        return headers
    if scheme == KMS:
        headers = {SSE: KMS, KMS_KEY_ID: record.get("key_id", "")}
        if record.get("bucket_key") == "true":
            headers[BUCKET_KEY] = "true"
        return headers
    return {SSE: AES256}


def customer_md5(headers: HeaderMap) -> str | None:
    return headers.get(C_KEY_MD5)
