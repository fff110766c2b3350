"""The access matrix: who may run which S3 operation on whose bucket, stated on its own
(not derived from boxdrive_wsgi.web.access), and one valid request per operation.

Shared by tests/unit/test_access_matrix.py (every operation, in-process) and
tests/e2e/test_access_server.py (a slice over waitress with real clients).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlencode

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from flask import Flask
from flask.testing import FlaskClient
from urllib3 import encode_multipart_formdata
from werkzeug.test import TestResponse

from boxdrive_wsgi import make_blueprint
from boxdrive_wsgi.auth.credentials import Credentials, User
from boxdrive_wsgi.auth.identity import ANONYMOUS
from boxdrive_wsgi.auth.sigv4 import signing_key
from boxdrive_wsgi.operations import TABLE, VARIANTS
from boxdrive_wsgi.stores.base import BucketInfo, ObjectAttributes, ObjectStore
from boxdrive_wsgi.stores.memory import MemoryStore

REGION = "us-east-1"
ALICE = User("alice", "AKALICE0000000000001", "alice-secret-0000000000000001")
BOB = User("bob", "AKBOB00000000000002", "bob-secret-0000000000000002")
ADMIN = User("root", "AKADMIN0000000000003", "admin-secret-000000000000003", admin=True)
USERS = (ALICE, BOB, ADMIN)
#: Who asks: None is an unsigned request.
PRINCIPALS: dict[str, User | None] = {
    "unsigned": None,
    "other": BOB,
    "owner": ALICE,
    "admin": ADMIN,
}

#: Bucket kinds: alice's (private), alice's with public-read-write bucket and public-read
#: object ACLs, one created unsigned on an anonymous server, and one without an owner.
KINDS = ("private", "public", "anonymous", "unowned")
BUCKET_OWNER = {"private": ALICE.identity.id, "public": ALICE.identity.id}
BUCKET_OWNER.update({"anonymous": ANONYMOUS.id})

#: What an AllUsers READ/WRITE grant on the bucket (and READ on the object) allows.
PUBLIC_READ = {
    "ListObjects",
    "ListObjectsV2",
    "ListObjectVersions",
    "ListMultipartUploads",
    "HeadBucket",
}
PUBLIC_READ |= {"GetObject", "HeadObject", "GetObjectAttributes"}
PUBLIC_WRITE = {"PutObject", "CopyObject", "PostObject", "DeleteObject", "DeleteObjects"}
PUBLIC_WRITE |= {"CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"}
PUBLIC_WRITE |= {"AbortMultipartUpload", "ListParts"}


def expected_allowed(operation: str, principal: str, kind: str, anonymous_mode: bool) -> bool:
    """The rules (README, "Access"), written out case by case."""
    if operation == "PreflightCors":
        return True  # unauthenticated by design, as in S3
    if operation in ("ListBuckets", "CreateBucket"):
        return principal != "unsigned" or anonymous_mode
    if kind == "unowned":
        return principal == "admin"  # the operator's, never ANONYMOUS's or a user's
    if kind == "anonymous":
        # ANONYMOUS's own bucket while anonymous mode is on; whoever signs gets no less.
        return anonymous_mode
    if principal == "owner":
        return True
    return kind == "public" and operation in PUBLIC_READ | PUBLIC_WRITE


#: Operations that, allowed, change what later requests find (the object, the upload,
#: the ACLs or CORS rules the case relies on): each runs on a bucket of its own.
DESTRUCTIVE = {"DeleteObjects", "DeleteObject", "CompleteMultipartUpload"}
DESTRUCTIVE |= {"AbortMultipartUpload", "DeleteBucketCors", "PutBucketAcl", "PutObjectAcl"}


def operation_names() -> set[str]:
    """Every S3 operation of the dispatch table."""
    names = {op.name for op in TABLE.values()}
    return names | {op.name for variants in VARIANTS.values() for _, op in variants}


class OwnerlessStore(MemoryStore):
    """A store that records no bucket owners (as the S3 store in 1:1 mode did)."""

    def create_bucket(self, bucket: str, *, owner: str | None = None) -> BucketInfo:
        return replace(super().create_bucket(bucket), owner=None)

    def head_bucket(self, bucket: str) -> BucketInfo:
        return replace(super().head_bucket(bucket), owner=None)

    def list_buckets(self) -> list[BucketInfo]:
        return [replace(b, owner=None) for b in super().list_buckets()]


def ownerless_store() -> ObjectStore:
    """BOXDRIVE_STORE=tests.access_rules:ownerless_store"""
    return OwnerlessStore()


# ------------------------------------------------------------------ one request per operation

ENCRYPTION = (
    b"<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault>"
    b"<SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule>"
    b"</ServerSideEncryptionConfiguration>"
)
CORS = (
    b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>"
    b"<AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>"
)
LIFECYCLE = (
    b"<LifecycleConfiguration><Rule><ID>r</ID><Prefix>tmp/</Prefix><Status>Enabled</Status>"
    b"<Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>"
)
LOCK = (
    b"<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled>"
    b"</ObjectLockConfiguration>"
)
RETAIN = (
    b"<Retention><Mode>GOVERNANCE</Mode>"
    b"<RetainUntilDate>2099-01-01T00:00:00Z</RetainUntilDate></Retention>"
)
HOLD = b"<LegalHold><Status>ON</Status></LegalHold>"
#: A public access block and ownership controls that change nothing the matrix relies on.
NO_BLOCK = b"<PublicAccessBlockConfiguration><BlockPublicAcls>false</BlockPublicAcls>"
NO_BLOCK += b"</PublicAccessBlockConfiguration>"
LOGGING_OFF = b'<BucketLoggingStatus xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>'
OBJECT_WRITER = b"<OwnershipControls><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership>"
OBJECT_WRITER += b"</Rule></OwnershipControls>"
TAGGING = b"<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>"


@dataclass
class Prepared:
    """A bucket holding object ``k`` and, if asked for, upload ``upload_id`` of ``mp``
    (part 1 uploaded)."""

    bucket: str
    upload_id: str = "none"
    part_etag: str = ""


#: Operations whose request needs the upload of a prepared bucket.
ON_UPLOAD = {"UploadPart", "CompleteMultipartUpload", "AbortMultipartUpload", "ListParts"}


@dataclass
class Call:
    method: str
    path: str  # percent-encoded
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    #: statuses that mean the operation ran (it was allowed)
    ok: tuple[int, ...] = (200,)

    def target(self) -> str:
        if not self.query:
            return self.path
        return self.path + "?" + urlencode(self.query, quote_via=quote, safe="-_.~")


def _md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode()


def call_for(
    operation: str,
    p: Prepared,
    user: User | None,
    *,
    host: str,
    extra_headers: Mapping[str, str] | None = None,
) -> Call:
    """A valid request for ``operation`` on the prepared bucket, as ``user`` (with
    ``extra_headers``, signed too)."""
    b = p.bucket
    upload = {"uploadId": p.upload_id}
    complete = (
        f"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
        f'<ETag>"{p.part_etag}"</ETag></Part></CompleteMultipartUpload>'
    ).encode()
    delete = b"<Delete><Object><Key>k</Key></Object></Delete>"
    origin = {"Origin": "https://site.test", "Access-Control-Request-Method": "GET"}
    calls = {
        "ListBuckets": Call("GET", "/"),
        "CreateBucket": Call("PUT", f"/{b}-new"),
        "HeadBucket": Call("HEAD", f"/{b}"),
        "DeleteBucket": Call("DELETE", f"/{b}", ok=(409,)),  # BucketNotEmpty: it ran
        "GetBucketLocation": Call("GET", f"/{b}", {"location": ""}),
        "ListObjects": Call("GET", f"/{b}"),
        "ListObjectsV2": Call("GET", f"/{b}", {"list-type": "2"}),
        "ListObjectVersions": Call("GET", f"/{b}", {"versions": ""}),
        "DeleteObjects": Call(
            "POST", f"/{b}", {"delete": ""}, {"Content-MD5": _md5(delete)}, delete
        ),
        "PutObject": Call("PUT", f"/{b}/new", body=b"new"),
        "CopyObject": Call("PUT", f"/{b}/copy", headers={"x-amz-copy-source": f"/{b}/k"}),
        "GetObject": Call("GET", f"/{b}/k"),
        "GetObjectAttributes": Call(
            "GET", f"/{b}/k", {"attributes": ""}, {"x-amz-object-attributes": "ETag,ObjectSize"}
        ),
        "HeadObject": Call("HEAD", f"/{b}/k"),
        "DeleteObject": Call("DELETE", f"/{b}/k", ok=(204,)),
        "ListMultipartUploads": Call("GET", f"/{b}", {"uploads": ""}),
        "CreateMultipartUpload": Call("POST", f"/{b}/new", {"uploads": ""}),
        "UploadPart": Call("PUT", f"/{b}/mp", {"partNumber": "2", **upload}, body=b"p2"),
        "CompleteMultipartUpload": Call("POST", f"/{b}/mp", upload, body=complete),
        "AbortMultipartUpload": Call("DELETE", f"/{b}/mp", upload, ok=(204,)),
        "ListParts": Call("GET", f"/{b}/mp", upload),
        "GetObjectTagging": Call("GET", f"/{b}/k", {"tagging": ""}),
        "PutObjectTagging": Call("PUT", f"/{b}/k", {"tagging": ""}, body=TAGGING),
        "DeleteObjectTagging": Call("DELETE", f"/{b}/k", {"tagging": ""}, ok=(204,)),
        # NoSuchTagSet, or the tags of a PutBucketTagging that ran before on this bucket
        "GetBucketTagging": Call("GET", f"/{b}", {"tagging": ""}, ok=(200, 404)),
        "PutBucketTagging": Call("PUT", f"/{b}", {"tagging": ""}, body=TAGGING, ok=(204,)),
        "DeleteBucketTagging": Call("DELETE", f"/{b}", {"tagging": ""}, ok=(204,)),
        "GetBucketCors": Call("GET", f"/{b}", {"cors": ""}),
        "PutBucketCors": Call("PUT", f"/{b}", {"cors": ""}, {"Content-MD5": _md5(CORS)}, CORS),
        "DeleteBucketCors": Call("DELETE", f"/{b}", {"cors": ""}, ok=(204,)),
        "PreflightCors": Call("OPTIONS", f"/{b}/k", headers=origin),
        # ServerSideEncryptionConfigurationNotFoundError, or a PutBucketEncryption's
        "GetBucketEncryption": Call("GET", f"/{b}", {"encryption": ""}, ok=(200, 404)),
        "PutBucketEncryption": Call("PUT", f"/{b}", {"encryption": ""}, body=ENCRYPTION),
        "DeleteBucketEncryption": Call("DELETE", f"/{b}", {"encryption": ""}, ok=(204,)),
        "GetBucketAcl": Call("GET", f"/{b}", {"acl": ""}),
        "PutBucketAcl": Call("PUT", f"/{b}", {"acl": ""}, {"x-amz-acl": "private"}),
        "GetObjectAcl": Call("GET", f"/{b}/k", {"acl": ""}),
        "PutObjectAcl": Call("PUT", f"/{b}/k", {"acl": ""}, {"x-amz-acl": "private"}),
        "GetBucketVersioning": Call("GET", f"/{b}", {"versioning": ""}),
        "PutBucketVersioning": Call(
            "PUT",
            f"/{b}",
            {"versioning": ""},
            body=b"<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>",
        ),
        "GetBucketPolicy": Call("GET", f"/{b}", {"policy": ""}, ok=(404,)),  # none set
        "DeleteBucketPolicy": Call("DELETE", f"/{b}", {"policy": ""}, ok=(204,)),
        "PutBucketPolicy": Call("PUT", f"/{b}", {"policy": ""}, body=harmless_policy(b), ok=(204,)),
        "GetBucketPolicyStatus": Call("GET", f"/{b}", {"policyStatus": ""}),
        "GetPublicAccessBlock": Call("GET", f"/{b}", {"publicAccessBlock": ""}, ok=(404,)),
        "PutPublicAccessBlock": Call("PUT", f"/{b}", {"publicAccessBlock": ""}, body=NO_BLOCK),
        "DeletePublicAccessBlock": Call("DELETE", f"/{b}", {"publicAccessBlock": ""}, ok=(204,)),
        "GetBucketLogging": Call("GET", f"/{b}", {"logging": ""}),
        "PutBucketLogging": Call("PUT", f"/{b}", {"logging": ""}, body=LOGGING_OFF),
        "GetBucketOwnershipControls": Call("GET", f"/{b}", {"ownershipControls": ""}, ok=(404,)),
        "PutBucketOwnershipControls": Call(
            "PUT", f"/{b}", {"ownershipControls": ""}, body=OBJECT_WRITER
        ),
        "DeleteBucketOwnershipControls": Call(
            "DELETE", f"/{b}", {"ownershipControls": ""}, ok=(204,)
        ),
        "PostObject": post_object_call(b, user),
        # NoSuchLifecycleConfiguration, or the rules a PutBucketLifecycle put there before
        "GetBucketLifecycleConfiguration": Call("GET", f"/{b}", {"lifecycle": ""}, ok=(200, 404)),
        "PutBucketLifecycleConfiguration": Call(
            "PUT", f"/{b}", {"lifecycle": ""}, {"Content-MD5": _md5(LIFECYCLE)}, LIFECYCLE
        ),
        "DeleteBucketLifecycle": Call("DELETE", f"/{b}", {"lifecycle": ""}, ok=(204,)),
        # The prepared buckets have no object lock: S3's refusals mean the operation ran.
        "GetObjectLockConfiguration": Call("GET", f"/{b}", {"object-lock": ""}, ok=(404,)),
        "PutObjectLockConfiguration": Call(
            "PUT", f"/{b}", {"object-lock": ""}, {"Content-MD5": _md5(LOCK)}, LOCK, ok=(409,)
        ),
        "GetObjectRetention": Call("GET", f"/{b}/k", {"retention": ""}, ok=(400,)),
        "PutObjectRetention": Call(
            "PUT", f"/{b}/k", {"retention": ""}, {"Content-MD5": _md5(RETAIN)}, RETAIN, ok=(400,)
        ),
        "GetObjectLegalHold": Call("GET", f"/{b}/k", {"legal-hold": ""}, ok=(400,)),
        "PutObjectLegalHold": Call(
            "PUT", f"/{b}/k", {"legal-hold": ""}, {"Content-MD5": _md5(HOLD)}, HOLD, ok=(400,)
        ),
    }
    call = calls[operation]
    call.headers.update(extra_headers or {})
    if user is not None and operation not in ("PostObject", "PreflightCors"):
        call.headers = sign(call, user, host)
    return call


def harmless_policy(bucket: str) -> bytes:
    """A valid bucket policy that changes nobody's access (it denies a user no one is)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Deny",
                    "Principal": {"AWS": "nobody-at-all"},
                    "Action": "s3:*",
                    "Resource": f"arn:aws:s3:::{bucket}/*",
                }
            ],
        }
    ).encode()


def post_object_call(bucket: str, user: User | None) -> Call:
    """A browser form upload: with a SigV4-signed policy for ``user``, else unsigned."""
    fields: list[tuple[str, str | tuple[str, bytes]]] = [("key", "posted")]
    if user is not None:
        now = datetime.now(UTC)
        date = now.strftime("%Y%m%d")
        credential = f"{user.access_key}/{date}/{REGION}/s3/aws4_request"
        expiration = (now + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        document = (
            f'{{"expiration": "{expiration}", "conditions": [{{"bucket": "{bucket}"}}, '
            f'["starts-with", "$key", ""], {{"x-amz-algorithm": "AWS4-HMAC-SHA256"}}, '
            f'{{"x-amz-credential": "{credential}"}}, '
            f'{{"x-amz-date": "{now.strftime("%Y%m%dT%H%M%SZ")}"}}]}}'
        )
        policy = base64.b64encode(document.encode()).decode()
        key = signing_key(user.secret_key, date, REGION, "s3")
        signature = hmac_hex(key, policy)
        fields += [
            ("x-amz-algorithm", "AWS4-HMAC-SHA256"),
            ("x-amz-credential", credential),
            ("x-amz-date", now.strftime("%Y%m%dT%H%M%SZ")),
            ("policy", policy),
            ("x-amz-signature", signature),
        ]
    fields.append(("file", ("f.txt", b"posted")))
    body, content_type = encode_multipart_formdata(fields)
    return Call("POST", f"/{bucket}", headers={"Content-Type": content_type}, body=body, ok=(204,))


def hmac_hex(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def sign(call: Call, user: User, host: str) -> dict[str, str]:
    """``call.headers`` plus SigV4 headers for ``user`` (payload signed)."""
    request = AWSRequest(
        method=call.method,
        url=f"http://{host}{call.target()}",
        headers=dict(call.headers),
        data=call.body,
    )
    S3SigV4Auth(BotoCredentials(user.access_key, user.secret_key), "s3", REGION).add_auth(request)
    return dict(request.headers.items())


def prepare(store: ObjectStore, bucket: str, kind: str, *, upload: bool = True) -> Prepared:
    """Make ``bucket`` of ``kind`` directly in ``store`` (what the requests find there)."""
    from boxdrive_wsgi.operations.cors import CONFIG as CORS_CONFIG
    from boxdrive_wsgi.protocol.acl import canned
    from boxdrive_wsgi.protocol.cors import dump_rules, parse_cors_xml
    from boxdrive_wsgi.web.access import set_bucket_policy

    owner = BUCKET_OWNER.get(kind)
    store.create_bucket(bucket, owner=owner)
    store.put_bucket_config(bucket, CORS_CONFIG, dump_rules(parse_cors_xml(CORS)))
    object_acl = None
    if kind == "public":
        assert owner is not None
        set_bucket_policy(store, bucket, canned("public-read-write", owner))
        object_acl = canned("public-read", owner).to_json()
    attributes = ObjectAttributes(owner=owner, acl=object_acl)
    store.put_object(bucket, "k", io.BytesIO(b"data"), size=4, attributes=attributes)
    if not upload:
        return Prepared(bucket)
    upload_id = store.create_multipart_upload(bucket, "mp", attributes=attributes)
    part = store.upload_part(bucket, "mp", upload_id, 1, io.BytesIO(b"part one"), size=8)
    return Prepared(bucket, upload_id, part.etag)


KEYS_DIR = tempfile.mkdtemp(prefix="boxdrive-test-keys-")


def flask_client(store: ObjectStore, *, anonymous: bool = False) -> FlaskClient:
    """The S3 blueprint over ``store`` with USERS, in a Flask test client."""
    app = Flask(__name__)
    blueprint = make_blueprint(
        store,
        credentials=Credentials(USERS),
        anonymous=anonymous,
        access_log="off",
        data_dir=KEYS_DIR,  # SSE-S3 master keys (PutBucketEncryption runs): not ./data
    )
    app.register_blueprint(blueprint)
    return app.test_client()


def send(client: FlaskClient, call: Call) -> TestResponse:
    return client.open(call.target(), method=call.method, headers=call.headers, data=call.body)


def error_code(body: bytes) -> str | None:
    start = body.find(b"<Code>")
    if start < 0:
        return None
    return body[start + 6 : body.find(b"</Code>")].decode()


def verdict(call: Call, status: int, body: bytes, method: str) -> str:
    """``allowed``, ``denied`` or a description of an unexpected answer."""
    if status in call.ok:
        return "allowed"
    code = error_code(body)
    if status == 403 and (code == "AccessDenied" or (method == "HEAD" and not body)):
        return "denied"
    return f"unexpected {status} {code}"
