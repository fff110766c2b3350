"""POST Object: a browser form upload (multipart/form-data POST on a bucket).

The form is parsed with Werkzeug's streaming multipart decoder, driven here: fields
before the file are collected (at most MAX_FIELDS_BYTES), and the file part is
streamed straight into ``store.put_object`` - never held whole, never spooled. As in
S3, fields after the file are ignored.

Authentication is the form's own: a SigV4-signed policy (x-amz-algorithm,
x-amz-credential, x-amz-date, x-amz-signature, policy), not the Authorization header,
so the dispatch table marks the operation self-authenticating and this handler
authorizes the PutObject it performs with the same access policy as every request.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit, urlunsplit

from flask import Response
from werkzeug.datastructures import Headers
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from ..auth.identity import ANONYMOUS, Identity
from ..auth.post_policy import (
    check_policy,
    decode_policy,
    parse_credential,
    signature_matches,
    v2_signature_matches,
)
from ..encryption import wiring as sse
from ..encryption.sse import shown_etag
from ..protocol.acl import canned, stored_acl
from ..protocol.errors import S3Error
from ..protocol.headers import attributes_from_headers, quote_etag
from ..protocol.names import check_key
from ..protocol.tagging import MAX_OBJECT_TAGS, parse_tagging_xml
from ..protocol.unimplemented import refuse_unimplemented
from ..protocol.versioning import written_version_headers
from ..stores.base import ObjectAttributes, ObjectInfo, Readable
from ..stores.streams import IterReader
from ..web.access import PUBLIC_CANNED, check_acl_request, object_owner
from ..web.body import raw_body
from ..web.context import S3Request, empty_response, xml_response
from .objects import STORAGE_CLASSES

#: S3 limits the form fields other than the file to 20 KB.
MAX_FIELDS_BYTES = 20 * 1024
READ_SIZE = 64 * 1024


def is_form(headers: object) -> bool:
    content_type = getattr(headers, "get", lambda _: None)("Content-Type") or ""
    return str(content_type).lower().startswith("multipart/form-data")


def _malformed(detail: str = "") -> S3Error:
    message = "The body of your POST request is not well-formed multipart/form-data."
    return S3Error("MalformedPOSTRequest", f"{message} {detail}".strip())


class FormStream:
    """Drives a MultipartDecoder over the request body, one event at a time."""

    def __init__(self, body: Readable, boundary: bytes) -> None:
        self._body = body
        self._decoder = MultipartDecoder(boundary, max_form_memory_size=None)
        self._ended = False

    def next_event(self) -> object:
        while True:
            try:
                event = self._decoder.next_event()
            except ValueError as exc:  # Werkzeug reports malformed input this way
                raise _malformed(str(exc)) from None
            if not isinstance(event, NeedData):
                return event
            if self._ended:
                raise _malformed("Unexpected end of the body.")
            chunk = self._body.read(READ_SIZE)
            self._ended = not chunk
            self._decoder.receive_data(chunk or None)


class FileReader:
    """The file part's bytes as a ``Readable``, checked against content-length-range."""

    def __init__(self, form: FormStream, length_range: tuple[int, int] | None) -> None:
        self._form = form
        self._range = length_range
        self._reader = IterReader(self._data())
        self.size = 0

    def read(self, size: int = -1, /) -> bytes:
        return self._reader.read(size)

    def _data(self) -> Iterator[bytes]:
        done = False
        while not done:
            event = self._form.next_event()
            if not isinstance(event, Data):
                raise _malformed()
            self.size += len(event.data)
            if self._range is not None and self.size > self._range[1]:
                raise S3Error(
                    "EntityTooLarge",
                    extra={"ProposedSize": str(self.size), "MaxSizeAllowed": str(self._range[1])},
                )
            done = not event.more_data
            yield event.data
        if self._range is not None and self.size < self._range[0]:
            raise S3Error(
                "EntityTooSmall",
                extra={"ProposedSize": str(self.size), "MinSizeAllowed": str(self._range[0])},
            )


def _read_fields(form: FormStream) -> tuple[dict[str, str], str]:
    """Fields up to the file part (lower-case names), and the file's name."""
    fields: dict[str, str] = {}
    total = 0
    current: str | None = None
    value = bytearray()
    while True:
        event = form.next_event()
        if isinstance(event, Field):
            current, value = event.name.lower(), bytearray()
        elif isinstance(event, Data) and current is not None:
            value += event.data
            total += len(event.data)
            if total > MAX_FIELDS_BYTES:
                raise S3Error("MaxMessageLengthExceeded", "Your POST form fields are too large.")
            if not event.more_data:
                fields[current] = value.decode("utf-8", "replace")
                current = None
        elif isinstance(event, File):
            if event.name.lower() == "file":
                return fields, event.filename or ""
            # Clients (requests' files=) send ordinary fields as file parts too:
            # only the part named "file" is the upload.
            current, value = event.name.lower(), bytearray()
        elif isinstance(event, Epilogue):
            raise S3Error("IncorrectNumberOfFilesInPostRequest")


def _authenticate(s3: S3Request, fields: dict[str, str]) -> Identity:
    if "policy" not in fields:
        return ANONYMOUS  # the access check decides (a public-read-write bucket, say)
    if "x-amz-algorithm" not in fields and "awsaccesskeyid" in fields:  # Signature V2
        access_key = fields["awsaccesskeyid"]
        user = s3.credentials.lookup(access_key) if s3.credentials else None
        if user is None:
            raise S3Error("InvalidAccessKeyId", extra={"AWSAccessKeyId": access_key})
        if "signature" not in fields:
            raise S3Error("InvalidArgument", "Bucket POST must contain a field named 'signature'.")
        if not v2_signature_matches(fields["policy"], fields["signature"], user.secret_key):
            raise S3Error("SignatureDoesNotMatch")
        return user.identity
    credential = parse_credential(fields, s3.settings.region)
    user = s3.credentials.lookup(credential.access_key) if s3.credentials else None
    if user is None:
        raise S3Error("InvalidAccessKeyId", extra={"AWSAccessKeyId": credential.access_key})
    signature = fields["x-amz-signature"]
    if not signature_matches(fields["policy"], signature, user.secret_key, credential):
        raise S3Error("SignatureDoesNotMatch")
    return user.identity


def _attributes(fields: dict[str, str]) -> ObjectAttributes:
    headers = Headers([(k, v) for k, v in fields.items() if k != "x-amz-tagging"])
    attributes = attributes_from_headers(headers)
    tags: dict[str, str] = {}
    if "tagging" in fields:  # an XML Tagging document in POST, not a query string
        tags = parse_tagging_xml(fields["tagging"].encode(), limit=MAX_OBJECT_TAGS)
    return ObjectAttributes(
        content_type=attributes.content_type,
        metadata=attributes.metadata,
        headers=attributes.headers,
        tags=tags,
    )


def post_object(s3: S3Request) -> Response:
    bucket = s3.bucket_name
    _, options = parse_options_header(s3.request.headers.get("Content-Type", ""))
    boundary = options.get("boundary")
    if not boundary:
        raise _malformed("No boundary.")
    body, _ = raw_body(s3.request)
    form = FormStream(body, boundary.encode("latin-1"))
    fields, filename = _read_fields(form)
    if "key" not in fields:
        raise S3Error(
            "InvalidArgument",
            "Bucket POST must contain a field named 'key'.  If it is specified, please check "
            "the order of the fields.",
            extra={"ArgumentName": "key", "ArgumentValue": ""},
        )
    key = fields["key"].replace("${filename}", filename)
    if not key:
        raise S3Error("InvalidArgument", "User key must have a length greater than 0.")
    check_key(key)
    identity = _authenticate(s3, fields)
    length_range = None
    if "policy" in fields:
        document = decode_policy(fields["policy"])
        checked = {**fields, "bucket": bucket, "key": key}
        length_range = check_policy(document, checked, datetime.now(UTC))
    refuse_unimplemented("PostObject", Headers(fields))  # form fields ask as headers do
    s3.check_access("PutObject", bucket, key, identity=identity)
    s3.check_expected_owner(bucket)
    bucket_owner = s3.bucket_owner(bucket)
    acl = fields.get("acl")
    public = acl is not None and acl.strip() in PUBLIC_CANNED
    check_acl_request(s3, canned=acl, grants=False, public=public)
    policy = None if acl is None else canned(acl.strip(), identity.id, bucket_owner)
    owner = object_owner(s3, acl, identity.id)
    storage_class = fields.get("x-amz-storage-class")
    if storage_class is not None and storage_class not in STORAGE_CLASSES:
        raise S3Error("InvalidStorageClass", extra={"StorageClassRequested": storage_class})
    encryption = sse.form_request(s3, Headers(fields), bucket)
    attributes = replace(_attributes(fields), acl=stored_acl(policy), owner=owner)
    body, size, attributes, sse_headers = sse.encrypt_write(
        s3, encryption, attributes, FileReader(form, length_range), None, bucket=bucket, key=key
    )
    info = s3.store.put_object(bucket, key, body, size=size, attributes=attributes)
    response = _success(s3, fields, bucket, key, info)
    response.headers.update(sse_headers)
    return response


def _success(
    s3: S3Request, fields: dict[str, str], bucket: str, key: str, info: ObjectInfo
) -> Response:
    location = f"{s3.request.host_url.rstrip('/')}/{bucket}/{key}"
    etag = shown_etag(info)
    headers = {"ETag": quote_etag(etag), "Location": location}
    headers.update(written_version_headers(info.version_id))
    redirect = fields.get("success_action_redirect") or fields.get("redirect")
    if redirect:
        parts = urlsplit(redirect)
        if parts.scheme in ("http", "https"):
            query = urlencode({"bucket": bucket, "key": key, "etag": quote_etag(etag)})
            joined = f"{parts.query}&{query}" if parts.query else query
            headers["Location"] = urlunsplit(parts._replace(query=joined))
            return empty_response(303, headers)
    status = fields.get("success_action_status")
    if status == "201":
        response = xml_response(
            "PostResponse",
            [("Location", location), ("Bucket", bucket), ("Key", key), ("ETag", quote_etag(etag))],
            status=201,
        )
        response.headers.update(headers)
        return response
    return empty_response(200 if status == "200" else 204, headers)
