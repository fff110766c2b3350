"""A large PUT under waitress is written once: waitress spools the body into the filesystem
store's tmp/ as an unnamed, linkable file, and the store links that file into place after
reading it through the verifying reader, instead of writing every byte a second time."""

from __future__ import annotations

import base64
import errno
import hashlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from waitress.adjustments import Adjustments
from waitress.buffers import OverflowableBuffer
from waitress.parser import HTTPRequestParser
from waitress.server import create_server

import boxdrive_wsgi  # noqa: F401  (applies the waitress patches)
from boxdrive_wsgi import create_app
from boxdrive_wsgi.protocol.checksums import VerifyingReader
from boxdrive_wsgi.protocol.errors import S3Error
from boxdrive_wsgi.servers import waitress_spool
from boxdrive_wsgi.stores.filesystem.content import ContentFiles
from boxdrive_wsgi.stores.streams import Spool
from boxdrive_wsgi.web.body import SpooledReader

MIB = 1024 * 1024


@pytest.fixture
def spool_dir(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "spool"
    directory.mkdir()
    waitress_spool.spool_into(str(directory))
    yield directory
    waitress_spool.spool_into(None)


def parsed(data: bytes, target: bytes = b"/b/k", headers: bytes = b"") -> HTTPRequestParser:
    """A PUT of ``data``, past waitress's inbuf_overflow, as its parser receives it."""
    parser = HTTPRequestParser(Adjustments(inbuf_overflow=1024))
    head = b"PUT %s HTTP/1.1\r\nHost: x\r\n%sContent-Length: %d\r\n\r\n"
    raw = head % (target, headers, len(data)) + data
    while raw:
        raw = raw[parser.received(raw[:65536]) :]
    assert parser.completed and parser.error is None
    return parser


def spooled(data: bytes) -> tuple[waitress_spool.SpoolFile, Spool]:
    f = parsed(data).get_body_stream()
    assert isinstance(f, waitress_spool.SpoolFile)
    spool = waitress_spool.spool_of(f, len(data))
    assert spool is not None
    return f, spool


def test_waitress_spools_into_the_directory(spool_dir: Path) -> None:
    data = os.urandom(4096)
    f, spool = spooled(data)
    assert [spool_dir / n for n in os.listdir(spool_dir)] == [Path(spool.path)]
    assert oct(os.stat(spool.path).st_mode & 0o777) == oct(0o600)
    assert spool.size == len(data)
    assert spool.md5 == hashlib.md5(data).hexdigest()  # hashed as it arrived
    assert f.read() == data
    assert waitress_spool.spool_of(f, len(data)) is None  # read already: not adoptable
    f.seek(0)
    assert waitress_spool.spool_of(f, len(data) + 1) is None  # not the whole body
    f.close()
    assert os.listdir(spool_dir) == []  # waitress closing its buffer removes the file


def test_response_buffers_spool_as_before(spool_dir: Path) -> None:
    buffer = OverflowableBuffer(1024)  # not a request body's (the channel's outbufs)
    buffer.append(os.urandom(4096))
    assert not isinstance(buffer.getfile(), waitress_spool.SpoolFile)
    assert os.listdir(spool_dir) == []
    buffer.close()


@pytest.mark.parametrize(
    ("target", "headers"),
    [
        (b"/b/k?partNumber=1&uploadId=u1", b""),  # a part: the multipart store's to keep
        (b"/b/k", b"x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER\r\n"),
    ],
    ids=["upload-part", "aws-chunked"],
)
def test_bodies_the_store_cannot_adopt_spool_as_before(
    spool_dir: Path, target: bytes, headers: bytes
) -> None:
    parser = parsed(b"z" * 4096, target, headers)
    f = parser.get_body_stream()
    assert not isinstance(f, waitress_spool.SpoolFile)
    assert os.listdir(spool_dir) == []
    assert f.read() == b"z" * 4096
    parser.close()


def test_a_spool_file_written_out_of_order_offers_no_md5(spool_dir: Path) -> None:
    f, _ = spooled(b"a" * 2048)
    f.seek(0)
    f.write(b"b")
    f.seek(0)
    assert waitress_spool.spool_of(f, 2048) == Spool(f.path, f.fileno(), 2048, None)
    f.close()


def test_without_a_spool_directory_waitress_spools_as_before() -> None:
    waitress_spool.spool_into(None)
    parser = parsed(b"x" * 4096)
    f = parser.get_body_stream()
    assert not isinstance(f, waitress_spool.SpoolFile)
    assert f.read() == b"x" * 4096
    assert waitress_spool.spool_of(f, 4096) is None
    parser.close()


def test_a_missing_spool_directory_falls_back(tmp_path: Path) -> None:
    waitress_spool.spool_into(str(tmp_path / "gone"))
    try:
        parser = parsed(b"y" * 4096)
        f = parser.get_body_stream()
        assert not isinstance(f, waitress_spool.SpoolFile)
        assert f.read() == b"y" * 4096
        parser.close()
    finally:
        waitress_spool.spool_into(None)


def reader(f: waitress_spool.SpoolFile, spool: Spool, md5: bytes | None) -> SpooledReader:
    return SpooledReader(f, spool=spool, content_md5=md5, size=spool.size)


def test_the_store_links_the_spooled_file_into_place(tmp_path: Path, spool_dir: Path) -> None:
    content = ContentFiles(str(tmp_path / "store"))
    waitress_spool.spool_into(content.tmp_dir)
    data = os.urandom(3 * MIB + 5)
    f, spool = spooled(data)
    size, md5 = content.write(
        "ab" + "0" * 30, reader(f, spool, hashlib.md5(data).digest()), len(data)
    )
    assert (size, md5) == (len(data), hashlib.md5(data).hexdigest())
    path = content.path("ab" + "0" * 30)
    assert os.stat(path).st_ino == os.fstat(spool.fd).st_ino  # the same file: not copied
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o600)
    f.close()  # waitress closes its buffer: the content file stays
    assert Path(path).read_bytes() == data
    assert os.stat(path).st_nlink == 1
    assert os.listdir(content.tmp_dir) == []


def test_a_spooled_body_that_fails_its_check_is_not_linked(tmp_path: Path, spool_dir: Path) -> None:
    content = ContentFiles(str(tmp_path / "store"))
    data = os.urandom(2 * MIB)
    f, spool = spooled(data)
    with pytest.raises(S3Error) as caught:
        content.write("cd" + "0" * 30, reader(f, spool, b"\0" * 16), len(data))
    assert caught.value.code == "BadDigest"
    assert not os.path.exists(content.path("cd" + "0" * 30))
    f.close()
    assert os.listdir(content.tmp_dir) == []


def test_a_spool_on_another_filesystem_is_copied(
    tmp_path: Path, spool_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = ContentFiles(str(tmp_path / "store"))
    data = os.urandom(MIB + 1)
    f, spool = spooled(data)

    def cross_device(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EXDEV, "cross-device link")

    monkeypatch.setattr(os, "link", cross_device)
    size, md5 = content.write("ef" + "0" * 30, reader(f, spool, None), len(data))
    assert (size, md5) == (len(data), hashlib.md5(data).hexdigest())
    path = content.path("ef" + "0" * 30)
    assert os.stat(path).st_ino != os.fstat(spool.fd).st_ino
    assert Path(path).read_bytes() == data
    f.close()
    assert os.listdir(content.tmp_dir) == []


def test_a_plain_verifying_reader_is_written_as_before(tmp_path: Path) -> None:
    content = ContentFiles(str(tmp_path / "store"))
    data = b"x" * 1000

    class Body:
        def __init__(self) -> None:
            self.left = data

        def read(self, n: int = -1, /) -> bytes:
            piece, self.left = self.left[:n], self.left[n:]
            return piece

    size, _ = content.write("aa" + "0" * 30, VerifyingReader(Body(), size=len(data)), len(data))
    assert size == len(data)
    assert Path(content.path("aa" + "0" * 30)).read_bytes() == data


def test_put_object_under_waitress_adopts_the_spool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    adopted: list[int] = []
    adopt = ContentFiles._adopt

    def counting(self: ContentFiles, file_id: str, body: object, spool: Spool) -> object:
        adopted.append(spool.size)
        return adopt(self, file_id, body, spool)  # type: ignore[arg-type]

    monkeypatch.setattr(ContentFiles, "_adopt", counting)
    data_dir = tmp_path / "data"
    app = create_app(data_dir=str(data_dir), access_key="AKSPOOL", secret_key="s" * 30)
    server = create_server(app, host="127.0.0.1", port=0, threads=2)
    threading.Thread(target=server.run, daemon=True).start()
    try:
        s3 = boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{server.effective_port}",
            aws_access_key_id="AKSPOOL",
            aws_secret_access_key="s" * 30,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}),
        )
        s3.create_bucket(Bucket="spooled")
        data = os.urandom(3 * MIB + 3)
        md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
        s3.put_object(Bucket="spooled", Key="big", Body=data, ContentMD5=md5)
        assert adopted == [len(data)]
        assert s3.get_object(Bucket="spooled", Key="big")["Body"].read() == data
        with pytest.raises(ClientError) as caught:
            s3.put_object(Bucket="spooled", Key="bad", Body=data, ContentMD5="A" * 22 + "==")
        assert caught.value.response["Error"]["Code"] == "BadDigest"
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="spooled").get("Contents", [])]
        assert keys == ["big"]
        small = b"small body, kept in memory by waitress"
        s3.put_object(Bucket="spooled", Key="small", Body=small)
        assert adopted == [len(data), len(data)]  # the BadDigest one too; the small one not
        assert s3.get_object(Bucket="spooled", Key="small")["Body"].read() == small
        assert os.listdir(data_dir / "tmp") == []
    finally:
        server.close()
        waitress_spool.spool_into(None)


class CountingReads:
    """The body stream the app reads (``request.stream``), counting the bytes read."""

    def __init__(self, f: waitress_spool.SpoolFile) -> None:
        self.f = f
        self.bytes = 0

    def read(self, n: int = -1, /) -> bytes:
        data = self.f.read(n)
        self.bytes += len(data)
        return data


@pytest.mark.parametrize("with_md5", [False, True], ids=["no-checks", "content-md5"])
def test_a_spooled_body_the_server_hashed_is_linked_unread(
    tmp_path: Path, spool_dir: Path, with_md5: bool
) -> None:
    content = ContentFiles(str(tmp_path / "store"))
    waitress_spool.spool_into(content.tmp_dir)
    data = os.urandom(2 * MIB + 1)
    f, spool = spooled(data)
    raw = CountingReads(f)
    body = SpooledReader(
        raw,
        spool=spool,
        content_md5=hashlib.md5(data).digest() if with_md5 else None,
        size=len(data),
    )
    file_id = "ab" + "2" * 30
    assert content.write(file_id, body, len(data)) == (len(data), hashlib.md5(data).hexdigest())
    assert raw.bytes == 0  # verified from what the server computed on arrival
    assert body.bytes_read == len(data) and body.read(1) == b""
    assert os.stat(content.path(file_id)).st_ino == os.fstat(spool.fd).st_ino
    f.close()
    assert Path(content.path(file_id)).read_bytes() == data


def test_a_spooled_body_with_a_payload_hash_is_read_through(
    tmp_path: Path, spool_dir: Path
) -> None:
    content = ContentFiles(str(tmp_path / "store"))
    waitress_spool.spool_into(content.tmp_dir)
    data = os.urandom(MIB + 3)
    f, spool = spooled(data)
    raw = CountingReads(f)
    sha = hashlib.sha256(data).hexdigest()
    body = SpooledReader(raw, spool=spool, sha256_hex=sha, size=len(data))
    assert content.write("cd" + "2" * 30, body, len(data))[0] == len(data)
    assert raw.bytes == len(data)  # SHA-256 needs the bytes
    f.close()

    f, spool = spooled(data)
    body = SpooledReader(f, spool=spool, sha256_hex="0" * 64, size=len(data))
    with pytest.raises(S3Error) as caught:
        content.write("ef" + "2" * 30, body, len(data))
    assert caught.value.code == "XAmzContentSHA256Mismatch"
    assert not os.path.exists(content.path("ef" + "2" * 30))
    f.close()


def test_a_large_spooled_body_is_hashed_behind_waitress(
    spool_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from boxdrive_wsgi.stores import write_behind

    monkeypatch.setattr(write_behind, "THREADS_AFTER", 64 * 1024)  # the threads take over
    data = os.urandom(3 * MIB + 11)
    f, spool = spooled(data)
    assert spool.md5 == hashlib.md5(data).hexdigest()
    f.close()


def test_a_large_body_arriving_is_received_in_large_reads(spool_dir: Path) -> None:
    parser = HTTPRequestParser(Adjustments(inbuf_overflow=1024))
    size = 5 * MIB

    def receive(data: bytes) -> None:
        while data:
            data = data[parser.received(data) :]

    receive(b"PUT /b/k HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % size + b"a" * 100)
    assert waitress_spool._recv_size(parser, 8192) == 8192  # in memory still: small reads
    receive(b"a" * 16384)  # past inbuf_overflow: the body is in a file now
    assert isinstance(parser.get_body_stream(), waitress_spool.SpoolFile)
    assert waitress_spool._recv_size(parser, 8192) == waitress_spool.BODY_RECV
    receive(b"a" * (size - 16484 - 1000))
    assert waitress_spool._recv_size(parser, 8192) == 8192  # only 1000 bytes are left
    assert waitress_spool._recv_size(None, 8192) == 8192  # between requests
    parser.close()
