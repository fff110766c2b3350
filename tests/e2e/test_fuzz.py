"""Property-based fuzz of signed requests (issue 11, "How it is checked").

Methods, paths, query strings (sub-resources, numeric parameters with odd
values) and headers are drawn by hypothesis, every request is signed with
botocore's SigV4 so it reaches the operations, and no answer may be a 5xx other
than 501 NotImplemented / 503, nor leave a traceback in the log. It runs twice,
in-process (Flask's test client, fast, many examples) and against a real
waitress (fewer examples), each within a fixed budget.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

import pytest
import requests
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from boxdrive_wsgi import create_app
from boxdrive_wsgi.operations import SUBRESOURCES
from boxdrive_wsgi.stores import MemoryStore

from .servers import running_waitress

REGION = "us-east-1"
ACCESS_KEY = "FUZZACCESSKEY"
SECRET_KEY = secrets.token_urlsafe(30)
BUCKET = "fuzz-bucket"
ALLOWED_5XX = {501, 503}
#: Budgets: examples per run, chosen so both runs together take well under 60 s;
#: BOXDRIVE_FUZZ_SCALE multiplies them for a longer hunt.
SCALE = int(os.environ.get("BOXDRIVE_FUZZ_SCALE", "1"))
IN_PROCESS_EXAMPLES = 500 * SCALE
WAITRESS_EXAMPLES = 80 * SCALE

ODD_NUMBERS = [
    "0", "1", "2", "1000", "10000", "10001", "-1", "+1", " 1", "1_0", "0x10", "1e3", "",
    "\u00b2", "\u0663", "1" * 5000, str(2**31), str(2**63 - 1), str(2**63), str(2**64),
]  # fmt: skip
NUMERIC_PARAMETERS = [
    "max-keys", "max-buckets", "max-parts", "max-uploads", "part-number-marker",
    "partNumber", "list-type", "X-Amz-Expires",
]  # fmt: skip
OTHER_PARAMETERS = [
    "uploadId", "prefix", "delimiter", "marker", "start-after", "continuation-token",
    "encoding-type", "fetch-owner", "versionId", "key-marker", "upload-id-marker",
    "version-id-marker", "response-content-type", "response-expires",
]  # fmt: skip
HEADERS = [
    "Range", "Content-MD5", "Content-Type", "Content-Encoding", "Cache-Control", "Expires",
    "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since",
    "x-amz-copy-source", "x-amz-copy-source-range", "x-amz-copy-source-if-match",
    "x-amz-copy-source-if-modified-since", "x-amz-metadata-directive",
    "x-amz-tagging-directive", "x-amz-tagging", "x-amz-acl", "x-amz-grant-read",
    "x-amz-grant-full-control", "x-amz-storage-class", "x-amz-meta-fuzz",
    "x-amz-checksum-algorithm", "x-amz-checksum-crc32", "x-amz-checksum-sha256",
    "x-amz-checksum-mode", "x-amz-checksum-type", "x-amz-trailer",
    "x-amz-decoded-content-length", "x-amz-server-side-encryption",
    "x-amz-server-side-encryption-customer-algorithm",
    "x-amz-server-side-encryption-customer-key", "x-amz-bucket-object-lock-enabled",
    "x-amz-object-lock-mode", "x-amz-expected-bucket-owner", "x-amz-mp-object-size",
    "x-amz-if-match-size", "x-amz-if-match-last-modified-time", "x-amz-object-attributes",
    "x-amz-max-parts", "x-amz-part-number-marker", "x-amz-website-redirect-location",
]  # fmt: skip
XML_BODIES = [
    b"<Delete><Object><Key>k</Key></Object></Delete>",
    b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part>"
    b"</CompleteMultipartUpload>",
    b"<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>",
    b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>"
    b"<AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>99999999999999999999</MaxAgeSeconds>"
    b"</CORSRule></CORSConfiguration>",
    b"<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>",
    b"<CreateBucketConfiguration><LocationConstraint>x</LocationConstraint>"
    b"</CreateBucketConfiguration>",
    b"<AccessControlPolicy><AccessControlList/></AccessControlPolicy>",
    b"<a>" * 50 + b"</a>" * 50,
    b"<!DOCTYPE x [<!ENTITY e 'boom'>]><Delete>&e;</Delete>",
]

#: Sub-resources with operations behind them (the rest answer 501 at dispatch).
IMPLEMENTED = ["acl", "tagging", "cors", "uploads", "uploadId", "location", "versioning",
               "versions", "delete", "policy", "attributes"]  # fmt: skip
#: Stands for the seeded upload's id in a drawn value (substituted when sent).
UPLOAD = "@upload"

#: Header and parameter text: latin-1, as HTTP carries it (WSGI decodes bytes so).
latin1 = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=40)
values = st.one_of(st.sampled_from([*ODD_NUMBERS, UPLOAD, UPLOAD]), latin1)
keys = st.one_of(
    st.sampled_from(["k", "mp", "missing", "a/b/../c", "./", "%", "\u00e9\u65e5"]),
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x2FFF), min_size=1, max_size=30),
)


@dataclass(frozen=True)
class Fuzzed:
    """One drawn request; ``UPLOAD`` in a value is replaced by ``with_upload``."""

    method: str
    path: str  # percent-encoded, as on the wire
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes

    def with_upload(self, upload_id: str) -> Fuzzed:
        def swap(text: str) -> str:
            return text.replace(UPLOAD, upload_id)

        return Fuzzed(
            self.method,
            self.path,
            [(name, swap(value)) for name, value in self.query],
            {name: swap(value) for name, value in self.headers.items()},
            self.body,
        )

    @property
    def target(self) -> str:
        query = urlencode(self.query, quote_via=quote, safe="-_.~")
        return self.path + ("?" + query if query else "")


#: Operations' shapes: (methods, target, the query they take). Drawing a shape first
#: makes the odd values land on parameters that the chosen operation reads.
SHAPES: list[tuple[list[str], str, dict[str, list[str]]]] = [
    (["GET"], "service", {"max-buckets": [], "prefix": [], "continuation-token": []}),
    (["GET"], "bucket", {"max-keys": [], "list-type": ["2"], "marker": [], "prefix": []}),
    (["GET"], "bucket", {"uploads": [""], "max-uploads": [], "key-marker": []}),
    (["GET"], "bucket", {"versions": [""], "max-keys": [], "version-id-marker": []}),
    (["GET", "HEAD"], "object", {"partNumber": [], "versionId": []}),
    (["GET"], "upload", {"uploadId": [UPLOAD], "max-parts": [], "part-number-marker": []}),
    (["PUT"], "upload", {"uploadId": [UPLOAD], "partNumber": []}),
    (["POST", "DELETE"], "upload", {"uploadId": [UPLOAD]}),
    (["POST"], "object", {"uploads": [""]}),
    (["PUT", "GET", "DELETE"], "bucket", {name: [""] for name in IMPLEMENTED}),
    (["PUT", "GET", "DELETE"], "object", {"tagging": [""], "acl": [""], "attributes": [""]}),
    (["PUT", "GET", "HEAD", "DELETE", "POST"], "object", {}),
    (["POST"], "bucket", {"delete": [""]}),
]


@st.composite
def shaped(draw: st.DrawFn) -> tuple[str, str, str | None, list[tuple[str, str]]]:
    """(method, bucket or "", key, query) for one operation, odd values included."""
    methods, target, parameters = draw(st.sampled_from(SHAPES))
    method = draw(st.sampled_from(methods))
    bucket = "" if target == "service" else BUCKET
    key = {"object": draw(st.sampled_from(["k", "mp"])), "upload": "mp"}.get(target)
    names = draw(st.lists(st.sampled_from(sorted(parameters)), unique=True)) if parameters else []
    query = []
    for name in names:
        fixed = parameters[name] or (ODD_NUMBERS if name in NUMERIC_PARAMETERS else [])
        query.append((name, draw(st.sampled_from(fixed) if fixed else values)))
    return method, bucket, key, query


@st.composite
def anything(draw: st.DrawFn) -> tuple[str, str, str | None, list[tuple[str, str]]]:
    """Any method on any path with any parameters."""
    method = draw(st.sampled_from(["GET", "PUT", "POST", "DELETE", "HEAD", "OPTIONS"]))
    bucket = draw(st.sampled_from(["", "", BUCKET, BUCKET, "no-such-bucket", "Bad_Name"]))
    key = draw(st.one_of(st.none(), keys)) if bucket else None
    names = st.one_of(
        st.sampled_from(IMPLEMENTED),
        st.sampled_from(NUMERIC_PARAMETERS + OTHER_PARAMETERS),
        st.sampled_from(sorted(SUBRESOURCES)),
    )
    numbers = st.tuples(st.sampled_from(NUMERIC_PARAMETERS), st.sampled_from(ODD_NUMBERS))
    pairs = st.one_of(numbers, st.tuples(names, values))
    query = draw(st.lists(pairs, max_size=4, unique_by=lambda p: p[0]))
    return method, bucket, key, query


@st.composite
def requests_(draw: st.DrawFn) -> Fuzzed:
    method, bucket, key, query = draw(st.one_of(shaped(), anything()))
    path = "/" + quote(bucket)
    if bucket and key is not None:
        path += "/" + quote(key, safe="/~")
    if method == "DELETE" and bucket == BUCKET and key is None and not query:
        path = "/no-such-bucket"  # keep the seeded bucket for the requests that follow
    # HTTP drops the whitespace around a header value (and clients refuse to send it).
    header_values = values.map(str.strip)
    headers = draw(st.dictionaries(st.sampled_from(HEADERS), header_values, max_size=5))
    body = draw(st.one_of(st.just(b""), st.sampled_from(XML_BODIES), st.binary(max_size=64)))
    return Fuzzed(method, path, query, headers, body)


def signed_headers(endpoint: str, fuzzed: Fuzzed) -> dict[str, str]:
    request = AWSRequest(
        method=fuzzed.method,
        url=endpoint + fuzzed.target,
        headers=dict(fuzzed.headers),
        data=fuzzed.body,
    )
    S3SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", REGION).add_auth(request)
    return dict(request.headers.items())


def on_the_wire(headers: dict[str, str]) -> dict[str, bytes]:
    """Header values as UTF-8 bytes, which botocore signed (as the Go and JS SDKs send)."""
    return {name: value.encode() for name, value in headers.items()}


def acceptable(status: int) -> bool:
    return status < 500 or status in ALLOWED_5XX


@dataclass
class Target:
    """What the fuzzed requests go to: a way to send, and the seeded upload."""

    send: Callable[[Fuzzed], tuple[int, bytes]]
    upload_id: str
    log: Callable[[], str] = field(default=lambda: "", repr=False)


SEED = (
    Fuzzed("PUT", f"/{BUCKET}", [], {}, b""),
    Fuzzed("PUT", f"/{BUCKET}/k", [], {}, b"0123456789"),
    Fuzzed("POST", f"/{BUCKET}/mp", [("uploads", "")], {}, b""),
)


def seeded(send: Callable[[Fuzzed], tuple[int, bytes]]) -> str:
    """Create a bucket, an object and a multipart upload; return the upload's id."""
    for request in SEED:
        status, body = send(request)
        assert status == 200, body
    match = re.search(rb"<UploadId>([^<]+)</UploadId>", body)
    assert match is not None
    return match.group(1).decode()


def check(target: Target, fuzzed: Fuzzed) -> None:
    status, body = target.send(fuzzed.with_upload(target.upload_id))
    assert acceptable(status), (fuzzed, status, body[:500])


# --------------------------------------------------------------------------- in-process


@pytest.fixture(scope="module")
def in_process(tmp_path_factory: pytest.TempPathFactory) -> Target:
    app = create_app(
        MemoryStore(),
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        region=REGION,
        data_dir=str(tmp_path_factory.mktemp("fuzz-app")),
    )
    client = app.test_client()

    def send(fuzzed: Fuzzed) -> tuple[int, bytes]:
        response = client.open(
            fuzzed.path,
            method=fuzzed.method,
            query_string=fuzzed.target.partition("?")[2],
            headers={  # WSGI carries the wire bytes as latin-1 text
                name: value.decode("latin-1")
                for name, value in on_the_wire(signed_headers("http://localhost", fuzzed)).items()
            },
            data=fuzzed.body,
            environ_overrides={"REQUEST_URI": fuzzed.target},
        )
        return response.status_code, response.data

    return Target(send, seeded(send))


@settings(
    max_examples=IN_PROCESS_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(fuzzed=requests_())
def test_fuzz_in_process(
    in_process: Target, caplog: pytest.LogCaptureFixture, fuzzed: Fuzzed
) -> None:
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        check(in_process, fuzzed)
    assert not [r for r in caplog.records if r.exc_info], caplog.text


# --------------------------------------------------------------------------- waitress


@pytest.fixture(scope="module")
def over_waitress(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    extra = {"BOXDRIVE_ACCESS_KEY": ACCESS_KEY, "BOXDRIVE_SECRET_KEY": SECRET_KEY}
    with running_waitress(tmp_path_factory.mktemp("fuzz"), threads=4, extra_env=extra) as srv:
        session = requests.Session()

        def send(fuzzed: Fuzzed) -> tuple[int, bytes]:
            response = session.request(
                fuzzed.method,
                srv.endpoint + fuzzed.target,
                headers=on_the_wire(signed_headers(srv.endpoint, fuzzed)),
                data=fuzzed.body,
                timeout=30,
                allow_redirects=False,
            )
            return response.status_code, response.content

        yield Target(send, seeded(send), srv.log)


@settings(
    max_examples=WAITRESS_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(fuzzed=requests_())
def test_fuzz_waitress(over_waitress: Target, fuzzed: Fuzzed) -> None:
    check(over_waitress, fuzzed)
    assert "Traceback" not in over_waitress.log()
