"""S3Store's multipart backend: upstream's own multipart uploads, passed through.

Parts are streamed to UploadPart as they arrive when their length is known (spooled
otherwise), as PutObject bodies are; the part ETag is upstream's, the MD5 of the part.
Completion hands the part list to upstream, which validates it (InvalidPart,
InvalidPartOrder, EntityTooSmall against *its* minimum part size) and composes the
object with the S3 multipart ETag. Conditional completion passes ``If-None-Match`` /
``If-Match`` through where upstream applies them on completion (probed: moto 5.2
ignores If-Match there, Ceph 16 both) and is refused (NotSupported) elsewhere.
Attributes given at creation travel as upstream metadata. With ``native_multipart=False``
the store returns the staged default instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, BinaryIO

from ..base import (
    CompletedAttributes,
    InvalidPart,
    NoSuchKey,
    NoSuchUpload,
    NotSupported,
    ObjectAttributes,
    ObjectBody,
    ObjectInfo,
    PartInfo,
    PartPage,
    Readable,
    UploadInfo,
    UploadPage,
    WriteOptions,
)
from .support import encode_attributes, error_code, map_error, request_body, strip_etag, utc
from .versions import read_error

if TYPE_CHECKING:  # the store builds its backend; the backend never imports the store
    from .store import S3Store


class S3Multipart:
    """The MultipartBackend of an S3Store whose upstream does multipart (the default)."""

    def __init__(self, store: S3Store) -> None:
        self._s = store

    @property
    def client(self) -> Any:
        return self._s.client

    def get_part(
        self, bucket: str, key: str, number: int, version_id: str | None = None
    ) -> tuple[ObjectBody, int]:
        """Upstream composed the object and knows its parts: ask it for part ``number``
        (of upstream's ``version_id`` of it)."""
        s = self._s
        version = {"VersionId": version_id} if version_id is not None else {}
        try:
            response = self.client.get_object(
                **s.layout.where(bucket, key), PartNumber=number, **version
            )
        except Exception as exc:
            if error_code(exc) in ("InvalidPartNumber", "InvalidPart"):
                raise InvalidPart(number) from exc
            raise read_error(s, exc, bucket, key, version_id) from exc
        body = s._body(bucket, key, response, ranged=False)
        count = response.get("PartsCount")
        if body.content_range is None or not count:
            body.close()  # upstream ignored partNumber: it would be the whole object
            raise NotSupported("upstream does not serve parts by number")
        return body, int(count)

    def _upload_error(self, exc: BaseException, bucket: str, key: str, upload_id: str) -> Any:
        error = map_error(exc, bucket, key, upload_id)
        if isinstance(error, NoSuchKey):  # Ceph 16's answer for an unknown upload id
            error = NoSuchUpload(bucket, key, upload_id)
        if isinstance(error, NoSuchUpload):
            self._s._require_bucket(bucket)
        return error

    def create(self, bucket: str, key: str, *, attributes: ObjectAttributes | None) -> str:
        s = self._s
        s._refuse_reserved(bucket, key)
        s._require_bucket(bucket)
        attrs = (attributes or ObjectAttributes()).copy()
        extra = {"ContentType": attrs.content_type} if attrs.content_type else {}
        try:
            response = self.client.create_multipart_upload(
                **s.layout.where(bucket, key),
                Metadata=encode_attributes(attrs),
                **extra,
            )
        except Exception as exc:
            raise map_error(exc, bucket, key) from exc
        return str(response["UploadId"])

    def upload_part(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        body: Readable | BinaryIO,
        *,
        size: int | None,
        checksums: Mapping[str, str] | None,
    ) -> PartInfo:
        s = self._s
        with request_body(body, size, stream=s.stream_uploads, memory=s.spool_memory) as payload:
            try:
                response = self.client.upload_part(
                    **s.layout.where(bucket, key),
                    UploadId=upload_id,
                    PartNumber=part_number,
                    Body=payload.file,
                    ContentLength=payload.size,
                )
            except Exception as exc:
                raise self._upload_error(payload.error(exc), bucket, key, upload_id) from exc
            payload.verify(response.get("ETag"))
            return PartInfo(
                part_number=part_number,
                etag=strip_etag(response.get("ETag")) or payload.md5,
                size=payload.size,
                last_modified=datetime.now(UTC).replace(microsecond=0),
                checksums=dict(checksums or {}),
            )

    def complete(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: Sequence[tuple[int, str]],
        *,
        options: WriteOptions,
        attributes: CompletedAttributes | None = None,
    ) -> ObjectInfo:
        s = self._s
        s._require_bucket(bucket)
        if attributes is not None:
            self._check_completion(bucket, key, upload_id, parts, attributes)
        extra = s._conditions(bucket, key, options, "complete")
        listed = [{"PartNumber": n, "ETag": f'"{strip_etag(etag)}"'} for n, etag in parts]
        try:
            response = self.client.complete_multipart_upload(
                **s.layout.where(bucket, key),
                UploadId=upload_id,
                MultipartUpload={"Parts": listed},
                **extra,
            )
        except Exception as exc:
            raise self._upload_error(exc, bucket, key, upload_id) from exc
        # the version completed (Ceph 16 answers an empty ETag: ask for it)
        return s._head(bucket, key, s._version(response))[0]

    def _check_completion(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: Sequence[tuple[int, str]],
        derive: CompletedAttributes,
    ) -> None:
        """Run ``derive`` over upstream's parts (it checks what the client asked). The
        attributes upstream keeps were fixed at creation, so an object checksum derived
        now could not be kept: refuse rather than drop it."""
        wanted = {number for number, _ in parts}
        found: list[PartInfo] = []
        marker = 0
        while True:
            page = self.list_parts(
                bucket, key, upload_id, part_number_marker=marker, max_parts=1000
            )
            found += [p for p in page.parts if p.part_number in wanted]
            if not page.is_truncated or page.next_part_number_marker is None:
                break
            marker = page.next_part_number_marker
        if derive(ObjectAttributes(), found).checksums:
            raise NotSupported("multipart upload checksums on the S3 store")

    def abort(self, bucket: str, key: str, upload_id: str) -> None:
        s = self._s
        s._require_bucket(bucket)
        try:
            self.client.abort_multipart_upload(**s.layout.where(bucket, key), UploadId=upload_id)
        except Exception as exc:
            raise self._upload_error(exc, bucket, key, upload_id) from exc

    def list_parts(
        self, bucket: str, key: str, upload_id: str, *, part_number_marker: int, max_parts: int
    ) -> PartPage:
        s = self._s
        try:
            response = self.client.list_parts(
                **s.layout.where(bucket, key),
                UploadId=upload_id,
                PartNumberMarker=part_number_marker,
                MaxParts=max_parts,
            )
        except Exception as exc:
            raise self._upload_error(exc, bucket, key, upload_id) from exc
        parts = [
            PartInfo(
                part_number=int(p["PartNumber"]),
                etag=strip_etag(p.get("ETag")),
                size=int(p.get("Size", 0)),
                last_modified=utc(p.get("LastModified")),
            )
            for p in response.get("Parts", [])
        ]
        truncated = bool(response.get("IsTruncated"))
        marker = response.get("NextPartNumberMarker")
        return PartPage(parts, truncated, int(marker) if truncated and marker else None)

    def list_uploads(
        self,
        bucket: str,
        *,
        prefix: str,
        delimiter: str,
        key_marker: str,
        upload_id_marker: str,
        max_uploads: int,
    ) -> UploadPage:
        s = self._s
        s._require_bucket(bucket)
        base = s.layout.base(bucket)
        options: dict[str, Any] = {
            "Bucket": s.layout.upstream_bucket(bucket),
            "Prefix": base + prefix,
            "MaxUploads": max_uploads,
        }
        if delimiter:
            options["Delimiter"] = delimiter
        if key_marker:
            options["KeyMarker"] = base + key_marker
            if upload_id_marker:
                options["UploadIdMarker"] = upload_id_marker
        try:
            response = self.client.list_multipart_uploads(**options)
        except Exception as exc:
            raise map_error(exc, bucket) from exc
        uploads = [
            UploadInfo(
                bucket=bucket,
                key=u["Key"][len(base) :],
                upload_id=u["UploadId"],
                initiated=utc(u.get("Initiated")),
            )
            for u in response.get("Uploads", [])
        ]
        prefixes = [p["Prefix"][len(base) :] for p in response.get("CommonPrefixes", [])]
        truncated = bool(response.get("IsTruncated"))
        next_key = response.get("NextKeyMarker")
        return UploadPage(
            uploads,
            prefixes,
            truncated,
            next_key[len(base) :] if truncated and next_key else None,
            response.get("NextUploadIdMarker") if truncated else None,
        )

    def abort_all(self, bucket: str) -> None:
        """Discard the uploads in progress of a bucket being deleted (prefix mode)."""
        if not self._s.upstream_bucket:
            return
        options = {"prefix": "", "delimiter": "", "key_marker": "", "upload_id_marker": ""}
        try:
            while True:
                page = self.list_uploads(bucket, **options, max_uploads=1000)
                for upload in page.uploads:
                    self.abort(bucket, upload.key, upload.upload_id)
                if not page.is_truncated or not page.uploads:
                    return
        except NotSupported:
            return
