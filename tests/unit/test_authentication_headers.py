"""The headers SigV4/SigV2 see are read off the environ as werkzeug lists them."""

from __future__ import annotations

import hashlib
import hmac

from werkzeug.datastructures import EnvironHeaders

from boxdrive_wsgi.auth import sigv4
from boxdrive_wsgi.web.authentication import lower_headers


def test_lower_headers_are_werkzeugs_headers_lower_cased_in_order() -> None:
    environ = {
        "REQUEST_METHOD": "GET",
        "HTTP_HOST": "example.com",
        "HTTP_X_AMZ_DATE": "20261204T100000Z",
        "HTTP_X_AMZ_META_MIXED_Case": "v",
        "CONTENT_TYPE": "",  # empty: werkzeug leaves it out
        "CONTENT_LENGTH": "5",
        "HTTP_CONTENT_LENGTH": "9",  # werkzeug ignores the HTTP_ copy
        "HTTP_X_\xdfNAME": "latin-1 byte in a name",  # title() then lower(): "ss"
        "HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=...",
        "wsgi.input": None,
    }
    expected = [(name.lower(), value) for name, value in EnvironHeaders(environ).items()]
    assert list(lower_headers(environ).items()) == expected


def test_sign_is_hmac_sha256_hex() -> None:
    key = b"k" * 32
    expected = hmac.new(key, "string to sign é".encode(), hashlib.sha256).hexdigest()
    assert sigv4.sign(key, "string to sign é") == expected
