"""The blueprint mounted under ``/s3`` in a site's Flask app, served by waitress: signatures
are verified over the prefixed path, and the site's own ``authenticate`` (its login session
or a header set by its proxy) and ``authorize`` hooks decide who may do what."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
import requests
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials as BotoCredentials
from botocore.exceptions import ClientError
from flask import Flask, Request, session
from waitress.server import create_server

from boxdrive_wsgi import make_blueprint
from boxdrive_wsgi.auth.credentials import Credentials, User
from boxdrive_wsgi.auth.identity import Identity
from boxdrive_wsgi.stores import MemoryStore
from boxdrive_wsgi.web.context import S3Request

from . import raw

KEYS = User("site", "AKSITE00000000000001", "site-secret-value")
READ_ONLY = {"GetObject", "HeadObject", "ListObjects", "ListObjectsV2", "HeadBucket"}


def site_identity(request: Request) -> Identity | None:
    """The site's login: a session cookie, or a header its proxy sets; else S3 signatures."""
    name = session.get("user") or request.headers.get("X-Site-User")
    return Identity.named(name) if name else None


def site_policy(s3: S3Request) -> bool | None:
    """Auditors may read every bucket and change nothing; everyone else: the default."""
    if s3.identity.display_name == "auditor":
        return s3.operation in READ_ONLY or s3.operation == "ListBuckets"
    return None


@dataclass
class Site:
    url: str
    store: MemoryStore


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    app = Flask("site")
    app.secret_key = "site-session-key"

    @app.post("/login/<name>")
    def login(name: str) -> str:
        session["user"] = name
        return f"hello {name}"

    store = MemoryStore()
    app.register_blueprint(
        make_blueprint(
            store,
            name="s3",
            credentials=Credentials([KEYS]),
            authenticate=site_identity,
            authorize=site_policy,
        ),
        url_prefix="/s3",
    )
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield Site(f"http://127.0.0.1:{server.effective_port}", store)
    server.close()


def client(site: Site, secret: str = KEYS.secret_key, signature_version: str | None = None):
    return boto3.client(
        "s3",
        endpoint_url=site.url + "/s3",
        aws_access_key_id=KEYS.access_key,
        aws_secret_access_key=secret,
        region_name="us-east-1",
        config=Config(
            s3={"addressing_style": "path"},
            retries={"total_max_attempts": 1},
            signature_version=signature_version,
        ),
    )


def test_signatures_cover_the_prefix(site: Site) -> None:
    s3 = client(site)
    s3.create_bucket(Bucket="signed")
    s3.put_object(Bucket="signed", Key="a b/c+d", Body=b"payload")
    assert s3.get_object(Bucket="signed", Key="a b/c+d")["Body"].read() == b"payload"
    for presigner in (client(site), client(site, signature_version="s3v4")):  # SigV2, SigV4
        presigned = presigner.generate_presigned_url(
            "get_object", Params={"Bucket": "signed", "Key": "a b/c+d"}, ExpiresIn=60
        )
        assert requests.get(presigned, timeout=10).content == b"payload", presigned

    # Signed for /signed/k (as if the server sat at the root) but sent to /s3/signed/k.
    request = AWSRequest(method="GET", url=f"{site.url}/signed/a", data=b"")
    S3SigV4Auth(BotoCredentials(KEYS.access_key, KEYS.secret_key), "s3", "us-east-1").add_auth(
        request
    )
    resp = requests.get(f"{site.url}/s3/signed/a", headers=dict(request.headers), timeout=10)
    assert resp.status_code == 403
    fields = raw.error_fields(resp)
    assert fields["Code"] == "SignatureDoesNotMatch"
    assert "\n/s3/signed/a\n" in fields["CanonicalRequest"]

    with pytest.raises(ClientError) as exc:
        client(site, secret="wrong").list_buckets()
    assert exc.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_session_login_and_header_identities(site: Site) -> None:
    carol = requests.Session()
    assert carol.post(f"{site.url}/login/carol", timeout=10).status_code == 200
    assert carol.put(f"{site.url}/s3/carols", timeout=10).status_code == 200
    assert carol.put(f"{site.url}/s3/carols/note.txt", data=b"hi", timeout=10).status_code == 200
    assert carol.get(f"{site.url}/s3/carols/note.txt", timeout=10).content == b"hi"
    listing = carol.get(f"{site.url}/s3/", timeout=10)
    assert raw.find_all_text(raw.xml_root(listing.content), ("Buckets", "Bucket", "Name")) == [
        "carols"
    ]
    assert raw.find_text(raw.xml_root(listing.content), "DisplayName") == "carol"

    # dave (a header identity) is not the owner: the default policy denies him.
    dave = {"X-Site-User": "dave"}
    denied = requests.get(f"{site.url}/s3/carols/note.txt", headers=dave, timeout=10)
    assert denied.status_code == 403 and raw.error_fields(denied)["Code"] == "AccessDenied"
    put = requests.put(f"{site.url}/s3/carols/x", data=b"x", headers=dave, timeout=10)
    assert put.status_code == 403
    assert site.store.head_bucket("carols").owner == Identity.named("carol").id

    # The key-signed user is someone else again.
    with pytest.raises(ClientError) as exc:
        client(site).get_object(Bucket="carols", Key="note.txt")
    assert exc.value.response["Error"]["Code"] == "AccessDenied"

    # Without a session, header or signature: no access.
    anonymous = requests.get(f"{site.url}/s3/carols/note.txt", timeout=10)
    assert anonymous.status_code == 403


def test_authorize_hook_overrides_the_default(site: Site) -> None:
    carol = requests.Session()
    carol.post(f"{site.url}/login/carol", timeout=10)
    carol.put(f"{site.url}/s3/audited", timeout=10)
    carol.put(f"{site.url}/s3/audited/ledger", data=b"numbers", timeout=10)
    auditor = {"X-Site-User": "auditor"}
    read = requests.get(f"{site.url}/s3/audited/ledger", headers=auditor, timeout=10)
    assert read.status_code == 200 and read.content == b"numbers"  # allowed by the hook
    listed = requests.get(f"{site.url}/s3/audited?list-type=2", headers=auditor, timeout=10)
    assert listed.status_code == 200
    write = requests.put(f"{site.url}/s3/audited/ledger", data=b"x", headers=auditor, timeout=10)
    assert write.status_code == 403  # denied by the hook
    own = requests.put(f"{site.url}/s3/auditors-own", headers=auditor, timeout=10)
    assert own.status_code == 403  # denied even where the default would allow
    assert site.store.get_object("audited", "ledger").read_all() == b"numbers"
