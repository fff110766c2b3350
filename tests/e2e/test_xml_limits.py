"""XML request bodies stay within S3's limits (issue 11, item 6).

Four concurrent 8 MiB deeply nested CompleteMultipartUpload bodies once took a
server from 109 MB to 1.1 GB. Each is now refused (MaxMessageLengthExceeded when
too large, MalformedXML when too deep or carrying unknown elements), and the
server's peak memory grows by far less than 16 MB per request.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from . import raw
from .conftest import make_client
from .servers import RunningServer, running_waitress

MIB = 1024 * 1024
CONCURRENT = 4
#: What each refused request may cost the server at its peak (issue 11: < 16 MB).
MAX_GROWTH_PER_REQUEST = 16 * MIB


def nested(size: int) -> bytes:
    """A well-formed CompleteMultipartUpload of ``size`` bytes, nested all the way down."""
    depth = (size - 60) // len(b"<Part></Part>")
    return (
        b"<CompleteMultipartUpload>"
        + b"<Part>" * depth
        + b"</Part>" * depth
        + b"</CompleteMultipartUpload>"
    )


def peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


@pytest.fixture(scope="module")
def lone_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server of its own, so its peak memory is this test's."""
    with running_waitress(tmp_path_factory.mktemp("xml-limits"), threads=8) as srv:
        yield srv


@pytest.fixture(scope="module")
def upload(lone_server: RunningServer) -> tuple[str, str, str]:
    client = make_client(lone_server)
    client.create_bucket(Bucket="xml-limits")
    created = client.create_multipart_upload(Bucket="xml-limits", Key="k")
    return "xml-limits", "k", created["UploadId"]


def _complete(server: RunningServer, upload: tuple[str, str, str], body: bytes):
    bucket, key, upload_id = upload
    return raw.request(
        server, "POST", f"/{bucket}/{key}", params={"uploadId": upload_id}, body=body
    )


def _complete_chunked(server: RunningServer, upload: tuple[str, str, str], body: bytes):
    bucket, key, upload_id = upload
    chunks = (body[i : i + MIB] for i in range(0, len(body), MIB))
    return raw.send_streamed(server, "POST", f"/{bucket}/{key}?uploadId={upload_id}", chunks)


def test_concurrent_nested_bodies_stay_small(lone_server: RunningServer, upload) -> None:
    bomb = nested(8 * MIB)
    within_limit = nested(2 * MIB)  # under the 3 MiB limit: refused for its depth
    before = peak_rss(lone_server.pid)
    with ThreadPoolExecutor(CONCURRENT * 3) as pool:
        sized = [pool.submit(_complete, lone_server, upload, bomb) for _ in range(CONCURRENT)]
        streamed = [
            pool.submit(_complete_chunked, lone_server, upload, bomb) for _ in range(CONCURRENT)
        ]
        deep = [
            pool.submit(_complete, lone_server, upload, within_limit) for _ in range(CONCURRENT)
        ]
        for future in sized:
            response = future.result()
            assert response.status_code == 400
            assert raw.error_fields(response)["Code"] == "MaxMessageLengthExceeded"
        for future in streamed:
            answer = future.result()
            assert answer.status == 400
            assert raw.error_fields(answer)["Code"] == "MaxMessageLengthExceeded"
        for future in deep:
            response = future.result()
            assert response.status_code == 400
            assert raw.error_fields(response)["Code"] == "MalformedXML"
    growth = peak_rss(lone_server.pid) - before
    print(f"peak RSS before {before / MIB:.0f} MiB, growth {growth / MIB:.1f} MiB")
    assert growth < CONCURRENT * MAX_GROWTH_PER_REQUEST
    assert "Traceback" not in lone_server.log()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"<CompleteMultipartUpload><Bogus/></CompleteMultipartUpload>", "MalformedXML"),
        (b"<Delete><Object><Key>k</Key></Object></Delete>", "MalformedXML"),
        (
            b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>e</ETag>"
            b"<Part/></Part></CompleteMultipartUpload>",
            "MalformedXML",
        ),
    ],
)
def test_unexpected_elements_are_malformed(
    lone_server: RunningServer, upload, body: bytes, code: str
) -> None:
    response = _complete(lone_server, upload, body)
    assert response.status_code == 400
    assert raw.error_fields(response)["Code"] == code


def test_small_documents_have_small_limits(lone_server: RunningServer, upload) -> None:
    """A tagging document has no business being a megabyte."""
    bucket, _, _ = upload
    tags = b"<Tag><Key>k</Key><Value>" + b"v" * (128 * 1024) + b"</Value></Tag>"
    body = b"<Tagging><TagSet>" + tags + b"</TagSet></Tagging>"
    response = raw.request(lone_server, "PUT", f"/{bucket}", params={"tagging": ""}, body=body)
    assert response.status_code == 400
    assert raw.error_fields(response)["Code"] == "MaxMessageLengthExceeded"
