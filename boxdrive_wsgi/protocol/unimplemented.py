"""Request headers for features this server does not have yet, and the error each gets.

No header is silently ignored: a client asking for encryption or a
website redirect must not get a plain object and a 200. This is the one table of
them; a feature, once implemented, deletes its lines here.

Errors are S3's: a write asking for a feature S3 has and this server lacks is
501 NotImplemented; headers S3 itself refuses for an operation (SSE headers on
a GET) get S3's 400s. Server-side encryption is implemented (encryption/).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .errors import S3Error
from .headers import HeaderMap

#: Operations that create an object from headers (POST Object: from form fields).
WRITES = frozenset({"PutObject", "CopyObject", "CreateMultipartUpload", "PostObject"})
#: Operations that read an object (UploadPart names UploadPartCopy too: its parts
#: belong to an upload that, created here, is never encrypted).
READS = frozenset({"GetObject", "HeadObject", "UploadPart"})
COPIES = frozenset({"CopyObject", "UploadPart"})
#: Operations whose SSE-C headers must come as a whole set (built once, not per request).
_SSE_C_CHECKED = WRITES | READS

SSE = "x-amz-server-side-encryption"
SSE_KMS = (f"{SSE}-aws-kms-key-id", f"{SSE}-context", f"{SSE}-bucket-key-enabled")
SSE_C = (f"{SSE}-customer-algorithm", f"{SSE}-customer-key", f"{SSE}-customer-key-md5")
COPY_SSE_C = tuple(f"x-amz-copy-source-{name[len('x-amz-') :]}" for name in SSE_C)

NOT_APPLICABLE = "The encryption parameters are not applicable to this object."


def _always(value: str) -> bool:
    return True


@dataclass(frozen=True)
class Refusal:
    header: str
    operations: frozenset[str]
    code: str
    message: str
    #: Whether the header's value asks for the feature (``false`` may not).
    applies: Callable[[str], bool] = _always


def _not_implemented(header: str, operations: frozenset[str], feature: str) -> Refusal:
    return Refusal(header, operations, "NotImplemented", f"{feature} is not implemented ({header})")


REFUSALS: tuple[Refusal, ...] = (
    *(),
    _not_implemented("x-amz-website-redirect-location", WRITES, "Website redirects"),
    *(
        Refusal(
            header,
            READS - {"UploadPart"},  # its upload's encryption applies; the header may repeat it
            "InvalidArgument",
            f"{header} header is not supported for this operation.",
        )
        for header in (SSE, *SSE_KMS)
    ),
)


def check_customer_key(headers: HeaderMap, names: tuple[str, ...], argument: str) -> None:
    """S3 checks an SSE-C parameter set is whole before anything else."""
    algorithm, key, key_md5 = (headers.get(name) for name in names)
    if algorithm is None and (key is not None or key_md5 is not None):
        raise S3Error(
            "InvalidArgument",
            "Requests specifying Server Side Encryption with Customer provided keys must "
            "provide a valid encryption algorithm.",
            extra={"ArgumentName": argument, "ArgumentValue": "null"},
        )
    if algorithm is not None and key is None:
        raise S3Error(
            "InvalidArgument",
            "Requests specifying Server Side Encryption with Customer provided keys must "
            "provide an appropriate secret key.",
            extra={"ArgumentName": argument, "ArgumentValue": "null"},
        )


def refuse_unimplemented(operation: str, headers: HeaderMap) -> None:
    """Raise S3's error for the first header ``operation`` cannot honour."""
    if operation in _SSE_C_CHECKED:
        check_customer_key(headers, SSE_C, SSE)
    if operation in COPIES:
        check_customer_key(headers, COPY_SSE_C, "x-amz-copy-source-server-side-encryption")
    for refusal in REFUSALS:
        if operation not in refusal.operations:
            continue
        value = headers.get(refusal.header)
        if value is not None and refusal.applies(value):
            argument = {"ArgumentName": refusal.header, "ArgumentValue": value}
            extra = argument if refusal.code == "InvalidArgument" else None
            raise S3Error(refusal.code, refusal.message, extra=extra)
