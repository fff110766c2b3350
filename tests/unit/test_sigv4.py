"""SigV4 verification: AWS's published test-suite vectors and requests signed by botocore."""

from __future__ import annotations

import dataclasses
import hashlib
import io
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit

import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from boxdrive_wsgi.auth.chunked import AwsChunkedReader
from boxdrive_wsgi.auth.sigv4 import (
    AuthRequest,
    canonical_uris,
    chunk_signer,
    parse_request_auth,
    signing_key,
    verify,
)
from boxdrive_wsgi.protocol.errors import S3Error

# -- AWS SigV4 test suite (aws-signing-test-suite/v4): the header-signed and the
# query-signed request of each case, verbatim. Only cases that hold for S3 are here:
# S3 does not normalize paths, so the "-unnormalized" variants are the S3 ones.
SUITE_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SUITE_NOW = datetime(2015, 8, 30, 12, 36, tzinfo=UTC)

SUITE: dict[str, tuple[str, str]] = {
    "get-vanilla": (
        (
            "GET / HTTP/1.1\n"
            "Host:example.amazonaws.com\n"
            "X-Amz-Date:20150830T123600Z\n"
            "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws"
            "4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31\n"
            "\n"
        ),
        (
            "GET /?X-Amz-Algorithm=AWS4-HMAC-SHA256&"
            "X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&"
            "X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&"
            "X-Amz-Signature=e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d HTT"
            "P/1.1\n"
            "Host:example.amazonaws.com\n"
            "\n"
        ),
    ),
    "get-vanilla-query-order-key-case": (
        (
            "GET /?Param2=value2&Param1=value1 HTTP/1.1\n"
            "Host:example.amazonaws.com\n"
            "X-Amz-Date:20150830T123600Z\n"
            "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws"
            "4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500\n"
            "\n"
        ),
        (
            "GET /?Param2=value2&Param1=value1&X-Amz-Algorithm=AWS4-HMAC-SHA256&"
            "X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&"
            "X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&"
            "X-Amz-Signature=86012e2c9ad4d77369f5d81c11f75158aae4f895a085212cc6d3f923d300bed5 HTT"
            "P/1.1\n"
            "Host:example.amazonaws.com\n"
            "\n"
        ),
    ),
    "get-header-value-trim": (
        (
            "GET / HTTP/1.1\n"
            "Host:example.amazonaws.com\n"
            "My-Header1: value1\n"
            'My-Header2: "a   b   c"\n'
            "X-Amz-Date:20150830T123600Z\n"
            "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws"
            "4_request, "
            "SignedHeaders=host;my-header1;my-header2;x-amz-date, "
            "Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736\n"
            "\n"
        ),
        (
            "GET /?X-Amz-Algorithm=AWS4-HMAC-SHA256&"
            "X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&"
            "X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host%3Bmy-header1%3Bmy-header2&"
            "X-Amz-Expires=3600&"
            "X-Amz-Signature=e7bb0fd515e125e1aec2ecc4c0c17484fb06f6846b927c35e46005dd3df3acd4 HTT"
            "P/1.1\n"
            "Host:example.amazonaws.com\n"
            "My-Header1: value1\n"
            'My-Header2: "a   b   c"\n'
            "\n"
        ),
    ),
    "post-x-www-form-urlencoded": (
        (
            "POST / HTTP/1.1\n"
            "Content-Type:application/x-www-form-urlencoded\n"
            "Host:example.amazonaws.com\n"
            "Content-Length:13\n"
            "X-Amz-Date:20150830T123600Z\n"
            "x-amz-content-sha256:9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6"
            "e\n"
            "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws"
            "4_request, "
            "SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date, "
            "Signature=d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b\n"
            "\n"
            "Param1=value1"
        ),
        (
            "POST /?X-Amz-Algorithm=AWS4-HMAC-SHA256&"
            "X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&"
            "X-Amz-Date=20150830T123600Z&"
            "X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost&X-Amz-Expires=3600&"
            "X-Amz-Signature=89a40deed0f26f9461242825a082d2222717248abc7ab41f552ad84a94ad46e9 HTT"
            "P/1.1\n"
            "Content-Type:application/x-www-form-urlencoded\n"
            "Host:example.amazonaws.com\n"
            "Content-Length:13\n"
            "\n"
            "Param1=value1"
        ),
    ),
    "get-utf8": (
        (
            "GET /ሴ HTTP/1.1\n"
            "Host:example.amazonaws.com\n"
            "X-Amz-Date:20150830T123600Z\n"
            "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws"
            "4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85\n"
            "\n"
        ),
        (
            "GET /ሴ?X-Amz-Algorithm=AWS4-HMAC-SHA256&"
            "X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&"
            "X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&"
            "X-Amz-Signature=10eae3f14a260bd3911cc6d008d3c576d143b05b62f09782a7a4b37f52178e44 HTT"
            "P/1.1\n"
            "Host:example.amazonaws.com\n"
            "\n"
        ),
    ),
    "get-vanilla-utf8-query": (
        (
            "GET /?ሴ=bar HTTP/1.1\n"
            "Host:example.amazonaws.com\n"
            "X-Amz-Date:20150830T123600Z\n"
            "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws"
            "4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04\n"
            "\n"
        ),
        (
            "GET /?ሴ=bar&X-Amz-Algorithm=AWS4-HMAC-SHA256&"
            "X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&"
            "X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&"
            "X-Amz-Signature=0bdd809b1519ac4f0c1dc3540e2cc46bd0c7f778eda408b2ebf3b913d21ff600 HTT"
            "P/1.1\n"
            "Host:example.amazonaws.com\n"
            "\n"
        ),
    ),
    "get-vanilla-query-unreserved": (
        (
            "GET /?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456"
            "789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz HTTP/1.1\n"
            "Host:example.amazonaws.com\n"
            "X-Amz-Date:20150830T123600Z\n"
            "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws"
            "4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197\n"
            "\n"
        ),
        (
            "GET /?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456"
            "789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz&"
            "X-Amz-Algorithm=AWS4-HMAC-SHA256&"
            "X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&"
            "X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&"
            "X-Amz-Signature=8e76a88a7433637b12778d5592799b29ad21ecd6cf6325051c21d86f0acda2bf HTT"
            "P/1.1\n"
            "Host:example.amazonaws.com\n"
            "\n"
        ),
    ),
    "get-unreserved": (
        (
            "GET /-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz HTTP/1.1\n"
            "Host:example.amazonaws.com\n"
            "X-Amz-Date:20150830T123600Z\n"
            "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws"
            "4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f\n"
            "\n"
        ),
        (
            "GET /-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz?X-Amz-Algori"
            "thm=AWS4-HMAC-SHA256&"
            "X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&"
            "X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&"
            "X-Amz-Signature=95968482db1b9e0fadef6efc1bd24689f77c77d9ef56919c96a28cc92e0d6005 HTT"
            "P/1.1\n"
            "Host:example.amazonaws.com\n"
            "\n"
        ),
    ),
    "get-slashes-unnormalized": (
        (
            "GET //example// HTTP/1.1\n"
            "Host:example.amazonaws.com\n"
            "X-Amz-Date:20150830T123600Z\n"
            "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws"
            "4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=87cca117541a147f6df867677d98a7d80dff226d2bfca9e4ffa899665623c7e5\n"
            "\n"
        ),
        (
            "GET //example//?X-Amz-Algorithm=AWS4-HMAC-SHA256&"
            "X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&"
            "X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&"
            "X-Amz-Signature=822a5a9ba28072c5ab2bb4a6307d0c88276d40e49fec6b724c03fb4d4ba60fc2 HTT"
            "P/1.1\n"
            "Host:example.amazonaws.com\n"
            "\n"
        ),
    ),
    "get-space-unnormalized": (
        (
            "GET /example space/ HTTP/1.1\n"
            "Host:example.amazonaws.com\n"
            "X-Amz-Date:20150830T123600Z\n"
            "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws"
            "4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741\n"
            "\n"
        ),
        (
            "GET /example space/?X-Amz-Algorithm=AWS4-HMAC-SHA256&"
            "X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&"
            "X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&"
            "X-Amz-Signature=7a1f416954786484c9824d93c1f26ef64acb9b1b6c9154d08c9f07d0e394abf6 HTT"
            "P/1.1\n"
            "Host:example.amazonaws.com\n"
            "\n"
        ),
    ),
    "get-vanilla-empty-query-key": (
        (
            "GET /?Param1=value1 HTTP/1.1\n"
            "Host:example.amazonaws.com\n"
            "X-Amz-Date:20150830T123600Z\n"
            "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws"
            "4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb\n"
            "\n"
        ),
        (
            "GET /?Param1=value1&X-Amz-Algorithm=AWS4-HMAC-SHA256&"
            "X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&"
            "X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&"
            "X-Amz-Signature=49096700cbbaa5753443850f40df10f904fc2fdb544dc9512203cc77c471a9de HTT"
            "P/1.1\n"
            "Host:example.amazonaws.com\n"
            "\n"
        ),
    ),
    "post-header-key-case": (
        (
            "POST / HTTP/1.1\n"
            "Host:example.amazonaws.com\n"
            "X-Amz-Date:20150830T123600Z\n"
            "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws"
            "4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b\n"
            "\n"
        ),
        (
            "POST /?X-Amz-Algorithm=AWS4-HMAC-SHA256&"
            "X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&"
            "X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&"
            "X-Amz-Signature=2ce6e6d2e0cf2f9d1b55fafec88cd20574c31dc2e7631979f71ba2310083e95b HTT"
            "P/1.1\n"
            "Host:example.amazonaws.com\n"
            "\n"
        ),
    ),
    "post-vanilla-query": (
        (
            "POST /?Param1=value1 HTTP/1.1\n"
            "Host:example.amazonaws.com\n"
            "X-Amz-Date:20150830T123600Z\n"
            "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws"
            "4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11\n"
            "\n"
        ),
        (
            "POST /?Param1=value1&X-Amz-Algorithm=AWS4-HMAC-SHA256&"
            "X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&"
            "X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&"
            "X-Amz-Signature=a9ef26247f293bffe40eeff86a0480ba8c14d31503b2e0c3399e3a16bf1a3682 HTT"
            "P/1.1\n"
            "Host:example.amazonaws.com\n"
            "\n"
        ),
    ),
    "get-header-key-duplicate": (
        (
            "GET / HTTP/1.1\n"
            "Host:example.amazonaws.com\n"
            "My-Header1:value2\n"
            "My-Header1:value2\n"
            "My-Header1:value1\n"
            "X-Amz-Date:20150830T123600Z\n"
            "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws"
            "4_request, "
            "SignedHeaders=host;my-header1;x-amz-date, "
            "Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea\n"
            "\n"
        ),
        (
            "GET /?X-Amz-Algorithm=AWS4-HMAC-SHA256&"
            "X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&"
            "X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host%3Bmy-header1&"
            "X-Amz-Expires=3600&"
            "X-Amz-Signature=3349ee0b81b4b589da0ff28a395c3591e04de515651dd74f298fa992d1507a97 HTT"
            "P/1.1\n"
            "Host:example.amazonaws.com\n"
            "My-Header1:value2\n"
            "My-Header1:value2\n"
            "My-Header1:value1\n"
            "\n"
        ),
    ),
    "get-header-value-order": (
        (
            "GET / HTTP/1.1\n"
            "Host:example.amazonaws.com\n"
            "My-Header1:value4\n"
            "My-Header1:value1\n"
            "My-Header1:value3\n"
            "My-Header1:value2\n"
            "X-Amz-Date:20150830T123600Z\n"
            "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws"
            "4_request, "
            "SignedHeaders=host;my-header1;x-amz-date, "
            "Signature=08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01\n"
            "\n"
        ),
        (
            "GET /?X-Amz-Algorithm=AWS4-HMAC-SHA256&"
            "X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&"
            "X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host%3Bmy-header1&"
            "X-Amz-Expires=3600&"
            "X-Amz-Signature=313720e71ca6202fdcfa9b20f88de01a4eb0638a83c833b1c184359a4eda864e HTT"
            "P/1.1\n"
            "Host:example.amazonaws.com\n"
            "My-Header1:value4\n"
            "My-Header1:value1\n"
            "My-Header1:value3\n"
            "My-Header1:value2\n"
            "\n"
        ),
    ),
    "get-vanilla-query-order-encoded": (
        (
            "GET /?Param-3=Value3&Param=Value2&%E1%88%B4=Value1 HTTP/1.1\n"
            "Host:example.amazonaws.com\n"
            "X-Amz-Date:20150830T123600Z\n"
            "Authorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws"
            "4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac\n"
            "\n"
        ),
        (
            "GET /?Param-3=Value3&Param=Value2&%E1%88%B4=Value1&X-Amz-Algorithm=AWS4-HMAC-SHA256&"
            "X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&"
            "X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&"
            "X-Amz-Signature=c5f1848ceec943ac2ca68ee720460c23aaae30a2300586597ada94c4a65e4787 HTT"
            "P/1.1\n"
            "Host:example.amazonaws.com\n"
            "\n"
        ),
    ),
}


def parse_http(text: str) -> tuple[str, str, str, list[tuple[str, str]], bytes]:
    head, _, body = text.partition("\n\n")
    request_line, *header_lines = head.split("\n")
    method, rest = request_line.split(" ", 1)
    target = rest.rsplit(" ", 1)[0]
    path, _, query = target.partition("?")
    headers = []
    for line in header_lines:
        name, _, value = line.partition(":")
        headers.append((name, value))
    return method, path, query, headers, body.encode()


def suite_verify(text: str, *, now: datetime = SUITE_NOW, secret: str = SUITE_SECRET) -> None:
    method, path, query, headers, body = parse_http(text)
    auth = parse_request_auth(method, path, query, headers)
    assert auth is not None
    verify(
        auth,
        secret,
        now,
        region="us-east-1",
        service="service",
        payload_hash=hashlib.sha256(body).hexdigest(),
    )


@pytest.mark.parametrize("name", sorted(SUITE))
def test_suite_header_signed(name):
    suite_verify(SUITE[name][0])


@pytest.mark.parametrize("name", sorted(SUITE))
def test_suite_query_signed(name):
    suite_verify(SUITE[name][1])


@pytest.mark.parametrize("which", [0, 1])
@pytest.mark.parametrize("name", ["get-vanilla", "get-header-value-trim", "get-utf8"])
def test_suite_wrong_secret(name, which):
    with pytest.raises(S3Error) as e:
        suite_verify(SUITE[name][which], secret="x" + SUITE_SECRET)
    assert e.value.code == "SignatureDoesNotMatch"
    assert e.value.extra["AWSAccessKeyId"] == "AKIDEXAMPLE"


def test_suite_tampered_header_value():
    text = SUITE["get-header-value-trim"][0].replace("value1", "value2")
    with pytest.raises(S3Error) as e:
        suite_verify(text)
    assert e.value.code == "SignatureDoesNotMatch"


def test_suite_time_checks():
    with pytest.raises(S3Error) as e:
        suite_verify(SUITE["get-vanilla"][0], now=SUITE_NOW + timedelta(minutes=16))
    assert e.value.code == "RequestTimeTooSkewed"
    suite_verify(SUITE["get-vanilla"][0], now=SUITE_NOW - timedelta(minutes=14))
    suite_verify(SUITE["get-vanilla"][1], now=SUITE_NOW + timedelta(seconds=3600))
    with pytest.raises(S3Error) as e:
        suite_verify(SUITE["get-vanilla"][1], now=SUITE_NOW + timedelta(seconds=3601))
    assert (e.value.code, e.value.message) == ("AccessDenied", "Request has expired")
    assert e.value.extra["X-Amz-Expires"] == "3600"
    with pytest.raises(S3Error) as e:
        suite_verify(SUITE["get-vanilla"][1], now=SUITE_NOW - timedelta(hours=1))
    assert e.value.code == "AccessDenied"


def test_signing_key_published_example():
    # AWS's "deriving the signing key" example (iam, us-east-1, 20120215).
    key = signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam")
    assert key.hex() == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"


def test_s3_get_object_published_example():
    # S3 API reference, "Example: GET Object" (Authorization header, Range header).
    headers = {
        "Host": "examplebucket.s3.amazonaws.com",
        "Range": "bytes=0-9",
        "x-amz-content-sha256": hashlib.sha256(b"").hexdigest(),
        "x-amz-date": "20130524T000000Z",
        "Authorization": "AWS4-HMAC-SHA256 "
        "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
    }
    auth = parse_request_auth("GET", "/test.txt", "", headers)
    assert auth is not None
    now = datetime(2013, 5, 24, tzinfo=UTC)
    verify(auth, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", now, region="us-east-1")


def test_s3_presigned_published_example():
    # S3 API reference, "Example: presigned URL" (GET examplebucket/test.txt, 86400 s).
    query = (
        "X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    )
    auth = parse_request_auth("GET", "/test.txt", query, {"Host": "examplebucket.s3.amazonaws.com"})
    assert auth is not None and auth.presigned and auth.expires == 86400
    now = datetime(2013, 5, 24, 12, tzinfo=UTC)
    verify(auth, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", now, region="us-east-1")


# -- requests signed by botocore itself ---------------------------------------------

ACCESS, SECRET = "AKIDBOXDRIVE", "s3cr3t/key+with=odd"
KEYS = [
    "plain.txt",
    "with space.txt",
    "plus+sign",
    "100%",
    "ünïcødé/ключ/鍵",
    "a//b",
    "dir/./x/../y",
    "tilde~!*'()$&,;=@:",
    "trailing/",
    "?question#hash",
]
PREFIXES = ["", "/s3"]


def botocore_request(
    method: str, url: str, *, presign: bool = False, expires: int = 3600, body: bytes = b"",
    headers: dict[str, str] | None = None, params: dict[str, str] | None = None,
) -> tuple[str, str, str, dict[str, str]]:  # fmt: skip
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {}, params=params)
    credentials = Credentials(ACCESS, SECRET)
    if presign:
        S3SigV4QueryAuth(credentials, "s3", "us-east-1", expires=expires).add_auth(request)
    else:
        S3SigV4Auth(credentials, "s3", "us-east-1").add_auth(request)
    prepared = request.prepare()
    parts = urlsplit(prepared.url)
    sent = {name: str(value) for name, value in prepared.headers.items()}
    sent["Host"] = parts.netloc  # added by the HTTP client when it sends the request
    return method, parts.path, parts.query, sent


def url_for(prefix: str, key: str) -> str:
    # botocore's S3 serializer encodes keys like this.
    return f"http://localhost:9000{prefix}/bucket/{quote(key, safe='/~')}"


def check(method: str, path: str, query: str, headers: dict[str, str], **kw: object) -> AuthRequest:
    auth = parse_request_auth(method, path, query, headers)
    assert auth is not None
    verify(auth, SECRET, datetime.now(UTC), region="us-east-1", **kw)  # type: ignore[arg-type]
    return auth


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("key", KEYS)
def test_botocore_header_signed(prefix, key):
    body = b"hello"
    auth = check(*botocore_request("PUT", url_for(prefix, key), body=body))
    assert auth.payload_hash == hashlib.sha256(body).hexdigest()
    assert not auth.presigned and not auth.streaming


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("key", KEYS)
def test_botocore_presigned(prefix, key):
    auth = check(*botocore_request("GET", url_for(prefix, key), presign=True))
    assert auth.presigned and auth.payload_hash == "UNSIGNED-PAYLOAD"


def test_botocore_query_parameters():
    params = {"list-type": "2", "prefix": "a b+c/ü", "delimiter": "/", "encoding-type": "url"}
    check(*botocore_request("GET", "http://localhost:9000/bucket", params=params))
    check(*botocore_request("GET", "http://localhost:9000/bucket?uploads", presign=True))
    check(*botocore_request("GET", "http://localhost:9000/bucket?acl="))


def test_botocore_extra_signed_headers():
    headers = {"Content-Type": "text/plain", "x-amz-meta-note": "  two   spaces  ", "Range": "x"}
    method, path, query, sent = botocore_request(
        "PUT", url_for("", "k"), body=b"x", headers=headers
    )
    check(method, path, query, sent)
    sent["x-amz-meta-note"] = "changed"
    with pytest.raises(S3Error) as e:
        check(method, path, query, sent)
    assert e.value.code == "SignatureDoesNotMatch"


@pytest.mark.parametrize("trailer", [False, True])
def test_aws_streaming_examples_end_to_end(trailer):
    # S3 API reference, chunked upload examples: the seed request verifies, and the
    # signer it yields verifies the published chunk (and trailer) signatures.
    signed = "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
    signed += "x-amz-decoded-content-length;x-amz-storage-class"
    seed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
    sigs = [
        "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
        "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
        "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
    ]
    headers = {
        "Host": "s3.amazonaws.com",
        "x-amz-date": "20130524T000000Z",
        "x-amz-storage-class": "REDUCED_REDUNDANCY",
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "Content-Encoding": "aws-chunked",
        "x-amz-decoded-content-length": "66560",
        "Content-Length": "66824",
    }
    tail = b"\r\n"
    if trailer:
        signed = signed.replace(";content-length;", ";", 1) + ";x-amz-trailer"
        seed = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
        sigs = [
            "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
            "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
            "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
        ]
        headers["x-amz-content-sha256"] += "-TRAILER"
        headers["x-amz-trailer"] = "x-amz-checksum-crc32c"
        tail = (
            b"x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:"
            b"d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n\r\n"
        )
    headers["Authorization"] = (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
        f"SignedHeaders={signed},Signature={seed}"
    )
    auth = parse_request_auth("PUT", "/examplebucket/chunkObject.txt", "", headers)
    assert auth is not None and auth.streaming
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    verify(auth, secret, datetime(2013, 5, 24, tzinfo=UTC), region="us-east-1")
    body = (
        b"10000;chunk-signature=" + sigs[0].encode() + b"\r\n" + b"a" * 65536 + b"\r\n"
        + b"400;chunk-signature=" + sigs[1].encode() + b"\r\n" + b"a" * 1024 + b"\r\n"
        + b"0;chunk-signature=" + sigs[2].encode() + b"\r\n" + tail
    )  # fmt: skip
    reader = AwsChunkedReader(
        io.BytesIO(body), signer=chunk_signer(auth, secret), expect_trailer=trailer,
        decoded_length=66560,
    )  # fmt: skip
    assert reader.read() == b"a" * 66560


@pytest.mark.parametrize("presign", [False, True])
def test_botocore_tampering_fails(presign):
    method, path, query, headers = botocore_request("GET", url_for("", "key"), presign=presign)
    tampered = [
        (method, path.replace("key", "kez"), query, headers),
        ("DELETE", path, query, headers),
        (method, path, query + "&extra=1", headers),
        (method, path, query, {**headers, "Host": "evil:9000"}),
    ]
    for request in tampered:
        with pytest.raises(S3Error) as e:
            check(*request)
        assert e.value.code == "SignatureDoesNotMatch", request
    auth = parse_request_auth(method, path, query, headers)
    assert auth is not None
    with pytest.raises(S3Error) as e:
        verify(auth, SECRET + "x", datetime.now(UTC))
    assert e.value.code == "SignatureDoesNotMatch"
    bad = dataclasses.replace(auth, signature="0" * 64)
    with pytest.raises(S3Error):
        verify(bad, SECRET, datetime.now(UTC))


def test_botocore_presigned_expiry():
    request = botocore_request("GET", url_for("", "k"), presign=True, expires=60)
    auth = parse_request_auth(*request)
    assert auth is not None
    verify(auth, SECRET, auth.timestamp + timedelta(seconds=60))
    with pytest.raises(S3Error) as e:
        verify(auth, SECRET, auth.timestamp + timedelta(seconds=61))
    assert e.value.message == "Request has expired"


def test_region_check():
    auth = parse_request_auth(*botocore_request("GET", url_for("", "k")))
    assert auth is not None
    with pytest.raises(S3Error) as e:
        verify(auth, SECRET, datetime.now(UTC), region="eu-west-1")
    assert e.value.code == "AuthorizationHeaderMalformed"
    assert e.value.extra == {"Region": "eu-west-1"}
    auth = parse_request_auth(*botocore_request("GET", url_for("", "k"), presign=True))
    assert auth is not None
    with pytest.raises(S3Error) as e:
        verify(auth, SECRET, datetime.now(UTC), region="eu-west-1")
    assert e.value.code == "AuthorizationQueryParametersError"


# -- parsing errors ---------------------------------------------------------------------

GOOD_CREDENTIAL = "AK/20150830/us-east-1/s3/aws4_request"
HEADERS = {
    "Host": "h",
    "x-amz-date": "20150830T123600Z",
    "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
}


def header_auth(value: str, **extra: str) -> AuthRequest | None:
    return parse_request_auth("GET", "/", "", {**HEADERS, "Authorization": value, **extra})


def test_anonymous():
    assert parse_request_auth("GET", "/b/k", "x=1", {"Host": "h"}) is None


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        ("AWS AK:sig", "InvalidRequest"),
        ("AWS4-ECDSA-P256-SHA256 Credential=x", "InvalidRequest"),
        ("AWS4-HMAC-SHA256 SignedHeaders=host, Signature=ab", "AuthorizationHeaderMalformed"),
        (
            f"AWS4-HMAC-SHA256 Credential={GOOD_CREDENTIAL}, Signature=ab",
            "AuthorizationHeaderMalformed",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AK/2015/us-east-1/s3/aws4_request, SignedHeaders=host, "
            "Signature=ab",
            "AuthorizationHeaderMalformed",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AK/20150830/s3/aws4_request, SignedHeaders=host, "
            "Signature=ab",
            "AuthorizationHeaderMalformed",
        ),
    ],
)
def test_malformed_authorization(authorization, code):
    with pytest.raises(S3Error) as e:
        header_auth(authorization)
    assert e.value.code == code


@pytest.mark.parametrize(
    ("credential", "message"),
    [
        ("AK/20150830/us-east-1/sqs/aws4_request", 'incorrect service "sqs"'),
        ("AK/20150830/us-east-1/s3/aws5_request", 'incorrect terminal "aws5_request"'),
        ("AK/20150831/us-east-1/s3/aws4_request", "Invalid credential date"),
    ],
)
def test_scope_errors(credential, message):
    auth = header_auth(f"AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders=host, Signature=a")
    assert auth is not None
    with pytest.raises(S3Error) as e:
        verify(auth, "s", SUITE_NOW)
    assert e.value.code == "AuthorizationHeaderMalformed"
    assert message in e.value.message


def test_host_must_be_signed():
    auth = header_auth(
        f"AWS4-HMAC-SHA256 Credential={GOOD_CREDENTIAL}, SignedHeaders=x-amz-date, Signature=a"
    )
    assert auth is not None
    with pytest.raises(S3Error) as e:
        verify(auth, "s", SUITE_NOW)
    assert e.value.code == "AccessDenied"


def test_header_errors():
    value = f"AWS4-HMAC-SHA256 Credential={GOOD_CREDENTIAL}, SignedHeaders=host, Signature=a"
    no_date = {"Host": "h", "x-amz-content-sha256": "UNSIGNED-PAYLOAD", "Authorization": value}
    with pytest.raises(S3Error) as e:
        parse_request_auth("GET", "/", "", no_date)
    assert e.value.code == "AccessDenied"
    auth = parse_request_auth("GET", "/", "", {**no_date, "Date": "Sun, 30 Aug 2015 12:36:00 GMT"})
    assert auth is not None and auth.amz_date == "20150830T123600Z"
    with pytest.raises(S3Error) as e:
        header_auth(value, **{"x-amz-content-sha256": "nope"})
    assert e.value.code == "InvalidArgument"
    headers = {k: v for k, v in HEADERS.items() if k != "x-amz-content-sha256"}
    with pytest.raises(S3Error) as e:
        parse_request_auth("GET", "/", "", {**headers, "Authorization": value})
    assert e.value.code == "InvalidRequest"
    with pytest.raises(S3Error) as e:
        parse_request_auth(
            "GET", "/", "X-Amz-Algorithm=AWS4-HMAC-SHA256", {**HEADERS, "Authorization": value}
        )
    assert e.value.code == "InvalidArgument"


PRESIGN = {
    "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
    "X-Amz-Credential": GOOD_CREDENTIAL,
    "X-Amz-Date": "20150830T123600Z",
    "X-Amz-Expires": "3600",
    "X-Amz-SignedHeaders": "host",
    "X-Amz-Signature": "ab",
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"X-Amz-Signature": ""}, "requires the X-Amz-Algorithm"),
        ({"X-Amz-Algorithm": "AWS4-HMAC-SHA1"}, "X-Amz-Algorithm only supports"),
        ({"X-Amz-Credential": "AK/20150830/us-east-1"}, "Credential is mal-formed"),
        ({"X-Amz-Date": "2015-08-30"}, "ISO8601"),
        ({"X-Amz-Expires": "soon"}, "should be a number"),
        ({"X-Amz-Expires": "-1"}, "non-negative"),
        ({"X-Amz-Expires": "604801"}, "less than a week"),
    ],
)
def test_presigned_errors(change, message):
    pairs = list({**PRESIGN, **change}.items())
    with pytest.raises(S3Error) as e:
        parse_request_auth("GET", "/", pairs, {"Host": "h"})
    assert e.value.code == "AuthorizationQueryParametersError"
    assert message in e.value.message


def test_presigned_week_is_allowed_and_sigv2_is_not():
    auth = parse_request_auth("GET", "/", list({**PRESIGN, "X-Amz-Expires": "604800"}.items()), {})
    assert auth is not None and auth.expires == 604800
    with pytest.raises(S3Error) as e:
        parse_request_auth("GET", "/", "AWSAccessKeyId=AK&Signature=x&Expires=1", {})
    assert e.value.code == "InvalidRequest"


def test_canonical_uris():
    assert canonical_uris("/b/with%20space") == ("/b/with%20space",)
    assert canonical_uris("/b/ሴ") == ("/b/%E1%88%B4",)
    assert canonical_uris("") == ("/",)
    # A client that encoded more than needed signed what it sent; both forms are tried.
    assert canonical_uris("/b/a%2Fb%21") == ("/b/a/b%21", "/b/a%2Fb%21")
    assert canonical_uris("//a/./b/../c") == ("//a/./b/../c",)  # no normalization in S3
