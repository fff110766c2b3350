"""Opaque continuation tokens: where the next page of a listing starts."""

from __future__ import annotations

import base64
import binascii

from .errors import S3Error


def encode_token(last: str) -> str:
    return base64.urlsafe_b64encode(last.encode("utf-8")).decode("ascii")


def decode_token(token: str) -> str:
    """Raise S3Error InvalidArgument for anything encode_token did not make."""
    try:
        return base64.urlsafe_b64decode(token.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise S3Error(
            "InvalidArgument",
            "The continuation token provided is incorrect",
            extra={"ArgumentName": "continuation-token", "ArgumentValue": token},
        ) from None
