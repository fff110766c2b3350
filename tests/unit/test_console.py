"""The web console through Flask's test client: login and session, CSRF, and that every
page and action is authorized as the S3 API authorizes it (issue 18)."""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from boxdrive_wsgi import create_app, make_blueprint
from boxdrive_wsgi.auth.credentials import (
    Credentials,
    Group,
    User,
    read_users_and_groups,
    read_users_file,
    write_users_file,
)
from boxdrive_wsgi.console import make_console_blueprint
from boxdrive_wsgi.console.session import COOKIE, SECRET_FILE
from boxdrive_wsgi.protocol.acl import canned
from boxdrive_wsgi.stores import MemoryStore
from boxdrive_wsgi.stores.filesystem import FilesystemStore
from boxdrive_wsgi.web.access import set_bucket_policy

ALICE = User("alice", "AKALICE0000000000001", "alice-secret-value-1234567890", admin=True)
BOB = User("bob", "AKBOB000000000000002", "bob-secret-value-0987654321")
CONSOLE = "/-/console"


class Console:
    """A browser-like client: keeps the cookie, reads the CSRF token off each page."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.token = ""

    def get(self, path: str, **kwargs: object) -> TestResponse:
        response = self.client.get(CONSOLE + path, **kwargs)
        found = re.search(r'name="csrf-token" content="([^"]+)"', response.text)
        if found:
            self.token = found.group(1)
        return response

    def post(
        self, path: str, data: dict[str, object] | None = None, *, csrf: bool = True
    ) -> TestResponse:
        form = dict(data or {})
        if csrf:
            form["csrf"] = self.token
        return self.client.post(CONSOLE + path, data=form)

    def login(self, user: User) -> TestResponse:
        self.get("/login")
        response = self.post(
            "/login", {"access_key": user.access_key, "secret_key": user.secret_key}
        )
        self.get("/buckets")
        return response

    def cookie(self) -> str | None:
        found = self.client.get_cookie(COOKIE, path=CONSOLE)
        return found.value if found else None


@pytest.fixture
def users_file(tmp_path: Path) -> Path:
    path = tmp_path / "users.json"
    write_users_file(path, [ALICE, BOB])
    return path


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def app(tmp_path: Path, users_file: Path, store: MemoryStore) -> Flask:
    return create_app(
        store, data_dir=str(tmp_path / "data"), users_file=str(users_file), access_log="off"
    )


def console(app: Flask) -> Console:
    return Console(app.test_client())


def test_pages_need_a_login(app: Flask) -> None:
    response = console(app).get("/buckets")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == CONSOLE + "/login"


def test_login_checks_the_secret_and_never_echoes_it(app: Flask) -> None:
    c = console(app)
    c.get("/login")
    wrong = c.post("/login", {"access_key": ALICE.access_key, "secret_key": "not-it"})
    assert wrong.status_code == 401 and "wrong" in wrong.text
    assert "not-it" not in wrong.text
    unknown = c.post("/login", {"access_key": "AKNOBODY", "secret_key": ALICE.secret_key})
    assert unknown.status_code == 401
    assert c.get("/buckets").status_code == 302  # still logged out
    ok = c.post("/login", {"access_key": ALICE.access_key, "secret_key": ALICE.secret_key})
    assert ok.status_code == 302
    page = c.get("/buckets")
    assert page.status_code == 200 and "Signed in as" in page.text
    for path in ("/buckets", "/admin", "/admin/users", "/login"):
        text = c.get(path, follow_redirects=True).text
        assert ALICE.secret_key not in text and BOB.secret_key not in text, path


def test_the_session_cookie_is_signed_httponly_samesite_and_scoped(app: Flask) -> None:
    c = console(app)
    response = c.get("/login")
    header = response.headers["Set-Cookie"]
    assert header.startswith(COOKIE + "=")
    assert "HttpOnly" in header and "SameSite=Lax" in header and f"Path={CONSOLE}" in header
    c.login(ALICE)
    value = c.cookie()
    assert value and ALICE.secret_key not in value
    # A cookie whose signature does not match is no login at all.
    forged = value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB")
    c.client.set_cookie(COOKIE, forged, path=CONSOLE)
    assert c.get("/buckets").status_code == 302


def test_the_secret_key_is_kept_0600_in_the_data_dir(app: Flask, tmp_path: Path) -> None:
    console(app).get("/login")
    path = tmp_path / "data" / SECRET_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert len(path.read_text().strip()) >= 40


def test_a_configured_secret_key_signs_cookies_in_every_app(
    tmp_path: Path, users_file: Path
) -> None:
    def build() -> Flask:
        return create_app(
            MemoryStore(),
            data_dir=str(tmp_path / "elsewhere"),
            users_file=str(users_file),
            console_secret_key="configured-key-for-all-workers",
            access_log="off",
        )

    first = console(build())
    first.login(ALICE)
    second = build().test_client()
    second.set_cookie(COOKIE, first.cookie() or "", path=CONSOLE)
    assert second.get(CONSOLE + "/buckets").status_code == 200
    assert not (tmp_path / "elsewhere" / SECRET_FILE).exists()


def test_login_rotates_the_session_so_a_planted_cookie_stays_logged_out(app: Flask) -> None:
    attacker = console(app)
    attacker.get("/login")
    planted = attacker.cookie()
    assert planted
    victim = console(app)
    victim.client.set_cookie(COOKIE, planted, path=CONSOLE)
    victim.get("/login")
    assert victim.token == attacker.token  # the victim's browser carries the planted session
    victim.post("/login", {"access_key": BOB.access_key, "secret_key": BOB.secret_key})
    victim.get("/buckets")
    assert victim.cookie() != planted
    assert victim.token != attacker.token  # new CSRF token: the old one is worthless
    # The attacker's copy of the cookie never became a login.
    assert attacker.get("/buckets").status_code == 302


def test_state_changing_requests_need_the_csrf_token(app: Flask, store: MemoryStore) -> None:
    c = console(app)
    c.login(ALICE)
    missing = c.post("/buckets", {"name": "no-token"}, csrf=False)
    assert missing.status_code == 403
    assert "Set-Cookie" not in missing.headers  # a refused post never replaces the login
    assert c.get("/buckets").status_code == 200
    other = console(app)
    other.login(BOB)
    foreign = c.client.post(
        CONSOLE + "/buckets", data={"name": "foreign-token", "csrf": other.token}
    )
    assert foreign.status_code == 403
    api = c.client.post(CONSOLE + "/api/presign", json={"bucket": "x", "key": "k", "action": "put"})
    assert api.status_code == 403
    logout = c.post("/logout", csrf=False)
    assert logout.status_code == 403
    assert [b.name for b in store.list_buckets()] == []
    assert c.post("/buckets", {"name": "with-token"}).status_code == 302
    assert [b.name for b in store.list_buckets()] == ["with-token"]


def test_logout_ends_the_session(app: Flask) -> None:
    c = console(app)
    c.login(ALICE)
    assert c.post("/logout").status_code == 302
    assert c.get("/buckets").status_code == 302


def test_a_login_cannot_redirect_off_site(app: Flask) -> None:
    c = console(app)
    c.get("/login")
    response = c.post(
        "/login",
        {"access_key": ALICE.access_key, "secret_key": ALICE.secret_key, "next": "//evil.test/x"},
    )
    assert response.headers["Location"] == CONSOLE + "/buckets"
    for target in ("/\\evil.test/x", "https://evil.test/", "javascript:alert(1)"):
        c.get("/buckets")  # the login rotated the CSRF token: read the new one
        c.post("/logout")
        c.get("/login")
        response = c.post(
            "/login",
            {"access_key": ALICE.access_key, "secret_key": ALICE.secret_key, "next": target},
        )
        assert response.headers["Location"] == CONSOLE + "/buckets", target
    c.get("/buckets")
    ok = c.post(
        "/login",
        {
            "access_key": ALICE.access_key,
            "secret_key": ALICE.secret_key,
            "next": "/-/console/admin",
        },
    )
    assert ok.headers["Location"] == "/-/console/admin"


def test_users_see_and_do_only_what_s3_lets_them(app: Flask, store: MemoryStore) -> None:
    alice, bob = console(app), console(app)
    alice.login(ALICE)
    bob.login(BOB)
    assert alice.post("/buckets", {"name": "alices"}).status_code == 302
    store.put_object("alices", "doc.txt", __import__("io").BytesIO(b"hello"), size=5)
    assert "alices" in alice.get("/buckets").text
    assert "alices" not in bob.get("/buckets").text
    assert bob.get("/b/alices").status_code == 403
    assert bob.get("/b/alices/object?key=doc.txt").status_code == 403
    assert bob.get("/b/alices/download?key=doc.txt").status_code == 403
    assert bob.get("/b/alices/share?key=doc.txt").status_code == 403
    assert bob.post("/b/alices/delete", {"key": "doc.txt", "confirmed": "yes"}).status_code == 403
    assert bob.post("/buckets/alices/delete", {"confirm": "alices"}).status_code == 403
    presign = bob.client.post(
        CONSOLE + "/api/presign",
        json={"bucket": "alices", "key": "evil", "action": "put"},
        headers={"X-CSRF-Token": bob.token},
    )
    assert presign.status_code == 403 and presign.json == {
        "error": "AccessDenied",
        "message": "Access Denied",
    }
    assert bob.get("/admin").status_code == 403
    assert bob.get("/admin/users").status_code == 403
    assert store.head_object("alices", "doc.txt").size == 5
    # An S3 ACL that lets everyone read lets bob list and read in the console too, not write.
    set_bucket_policy(store, "alices", canned("public-read", ALICE.identity.id))
    assert "doc.txt" in bob.get("/b/alices").text
    assert bob.post("/b/alices/delete", {"key": "doc.txt", "confirmed": "yes"}).status_code == 403


def test_a_site_authorize_hook_decides_in_the_console_too(tmp_path: Path) -> None:
    store = MemoryStore()
    store.create_bucket("shared", owner=ALICE.identity.id)
    app = Flask("site")
    users = Credentials([ALICE, BOB])
    denied: list[str] = []

    def policy(s3: object) -> bool | None:
        operation = getattr(s3, "operation", "")
        if getattr(s3, "identity").display_name == "bob":  # noqa: B009
            denied.append(operation)
            return operation in {"ListBuckets", "ListObjectsV2"}
        return None

    app.register_blueprint(
        make_blueprint(store, credentials=users, authorize=policy), url_prefix="/s3"
    )
    app.register_blueprint(
        make_console_blueprint(
            store, credentials=users, authorize=policy, s3_prefix="/s3", data_dir=str(tmp_path)
        ),
        url_prefix=CONSOLE,
    )
    bob = console(app)
    bob.login(BOB)
    assert bob.get("/b/shared").status_code == 200
    assert bob.post("/buckets/shared/delete", {"confirm": "shared"}).status_code == 403
    assert "DeleteBucket" in denied and [b.name for b in store.list_buckets()] == ["shared"]


def test_presigned_urls_point_at_the_mounted_s3_blueprint(tmp_path: Path) -> None:
    store = MemoryStore()
    app = Flask("site")
    users = Credentials([ALICE])
    app.register_blueprint(make_blueprint(store, credentials=users), url_prefix="/s3")
    app.register_blueprint(
        make_console_blueprint(store, credentials=users, s3_prefix="/s3", data_dir=str(tmp_path)),
        url_prefix="/admin/console",
    )
    client = app.test_client()
    page = client.get("/admin/console/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    client.post(
        "/admin/console/login",
        data={"csrf": token, "access_key": ALICE.access_key, "secret_key": ALICE.secret_key},
    )
    # The login rotated the CSRF token: the login page's one no longer works.
    assert (
        client.post("/admin/console/buckets", data={"csrf": token, "name": "x"}).status_code == 403
    )
    token = re.search(  # type: ignore[union-attr]
        r'name="csrf-token" content="([^"]+)"', client.get("/admin/console/buckets").text
    ).group(1)
    client.post("/admin/console/buckets", data={"csrf": token, "name": "site-bucket"})
    answer = client.post(
        "/admin/console/api/presign",
        json={"bucket": "site-bucket", "key": "a b/ü.txt", "action": "put"},
        headers={"X-CSRF-Token": token},
    )
    url = urlsplit(answer.json["url"])  # type: ignore[index]
    assert url.path == "/s3/site-bucket/a%20b/%C3%BC.txt"
    put = client.put(f"{url.path}?{url.query}", data=b"through the S3 API")
    assert put.status_code == 200, put.text
    assert store.get_object("site-bucket", "a b/ü.txt").read_all() == b"through the S3 API"


def test_bucket_delete_needs_an_empty_bucket_and_its_name(app: Flask, store: MemoryStore) -> None:
    c = console(app)
    c.login(ALICE)
    c.post("/buckets", {"name": "full"})
    store.put_object("full", "k", __import__("io").BytesIO(b"x"), size=1)
    assert "not empty" in c.get("/buckets/full/delete").text
    c.post("/buckets/full/delete", {"confirm": "full"})
    assert [b.name for b in store.list_buckets()] == ["full"]
    store.delete_object("full", "k")
    c.get("/buckets/full/delete")
    c.post("/buckets/full/delete", {"confirm": "wrong"})
    assert [b.name for b in store.list_buckets()] == ["full"]
    c.post("/buckets/full/delete", {"confirm": "full"})
    assert store.list_buckets() == []


def test_the_browser_pages_a_big_bucket_by_continuation_token(
    app: Flask, store: MemoryStore
) -> None:
    import io

    c = console(app)
    c.login(ALICE)
    c.post("/buckets", {"name": "big"})
    for i in range(230):
        store.put_object("big", f"k{i:04d}", io.BytesIO(b""), size=0)
    store.put_object("big", "dir/inner", io.BytesIO(b"1"), size=1)
    seen: list[str] = []
    path = "/b/big"
    pages = 0
    while path:
        text = c.get(path).text
        seen += re.findall(r'name="key" value="([^"]+)"', text)
        found = re.search(r'href="/-/console(/b/big\?[^"]*token=[^"]+)" id="next-page"', text)
        path = found.group(1).replace("&amp;", "&") if found else ""
        pages += 1
    assert pages == 3
    assert seen == [f"k{i:04d}" for i in range(230)]  # every key once, in order
    assert "dir/" in c.get("/b/big").text
    inside = c.get("/b/big?prefix=dir/").text
    assert re.findall(r'name="key" value="([^"]+)"', inside) == ["dir/inner"]
    assert 'aria-current="page">dir<' in inside  # the breadcrumb
    searched = re.findall(r'name="key" value="([^"]+)"', c.get("/b/big?search=k01").text)
    assert searched == [f"k{i:04d}" for i in range(100, 200)]
    by_name_desc = re.findall(
        r'name="key" value="([^"]+)"', c.get("/b/big?sort=name&order=desc").text
    )
    first_page = re.findall(r'name="key" value="([^"]+)"', c.get("/b/big").text)
    assert len(first_page) == 99  # the folder "dir/" takes the 100th place of the page
    assert by_name_desc == first_page[::-1]  # sorting applies to the page shown


def test_object_details_show_metadata_and_tags(app: Flask, store: MemoryStore) -> None:
    import io

    from boxdrive_wsgi.stores.model import ObjectAttributes

    c = console(app)
    c.login(ALICE)
    c.post("/buckets", {"name": "docs"})
    store.put_object(
        "docs",
        "report.pdf",
        io.BytesIO(b"%PDF"),
        size=4,
        attributes=ObjectAttributes(
            content_type="application/pdf", metadata={"author": "ada"}, tags={"team": "blue"}
        ),
    )
    text = c.get("/b/docs/object?key=report.pdf").text
    etag = store.head_object("docs", "report.pdf").etag
    for expected in (
        "application/pdf",
        "x-amz-meta-author",
        "ada",
        "team",
        "blue",
        etag,
        "4 bytes",
    ):
        assert expected in text


def test_download_and_share_are_presigned_urls_the_s3_api_accepts(
    app: Flask, store: MemoryStore
) -> None:
    import io

    c = console(app)
    c.login(ALICE)
    c.post("/buckets", {"name": "pub"})
    store.put_object("pub", "a/b.txt", io.BytesIO(b"shared bytes"), size=12)
    download = c.get("/b/pub/download?key=a/b.txt")
    assert download.status_code == 303
    target = urlsplit(download.headers["Location"])
    got = c.client.get(f"{target.path}?{target.query}")
    assert got.data == b"shared bytes"
    assert "attachment" in got.headers["Content-Disposition"]
    share = c.get("/b/pub/share?key=a/b.txt&expires=604800")
    link = re.search(r'id="share-url" readonly value="([^"]+)"', share.text).group(1)  # type: ignore[union-attr]
    link = link.replace("&amp;", "&")
    assert "X-Amz-Expires=604800" in link
    anonymous = app.test_client()  # no console cookie: the link alone is enough
    parts = urlsplit(link)
    assert anonymous.get(f"{parts.path}?{parts.query}").data == b"shared bytes"
    assert c.get("/b/pub/share?key=a/b.txt&expires=604801").status_code == 400


def test_delete_selected_objects_after_confirmation(app: Flask, store: MemoryStore) -> None:
    import io

    c = console(app)
    c.login(ALICE)
    c.post("/buckets", {"name": "del"})
    for key in ("a", "b", "c"):
        store.put_object("del", key, io.BytesIO(b"x"), size=1)
    confirm = c.post("/b/del/delete", {"key": ["a", "b"]})
    assert confirm.status_code == 200 and "Delete 2 objects?" in confirm.text
    assert len(store.list_objects("del").objects) == 3
    c.post("/b/del/delete", {"key": ["a", "b"], "confirmed": "yes"})
    assert [o.key for o in store.list_objects("del").objects] == ["c"]


def test_the_operator_adds_rotates_and_removes_users(app: Flask, users_file: Path) -> None:
    admin = console(app)
    admin.login(ALICE)
    added = admin.post("/admin/users", {"action": "add", "name": "carol"})
    assert added.status_code == 200
    carol = next(u for u in read_users_file(users_file) if u.name == "carol")
    assert carol.secret_key in added.text  # shown once, right after it was made
    assert stat.S_IMODE(os.stat(users_file).st_mode) == 0o600
    assert carol.secret_key not in admin.get("/admin/users").text
    user = console(app)
    assert user.login(carol).status_code == 302  # the new user can log in at once
    assert user.post("/buckets", {"name": "carols"}).status_code == 302
    rotated_page = admin.post("/admin/users", {"action": "rotate", "name": "carol"})
    rotated = next(u for u in read_users_file(users_file) if u.name == "carol")
    assert rotated.access_key != carol.access_key and rotated.secret_key in rotated_page.text
    assert console(app).login(carol).status_code == 401  # the old keys are gone
    again = console(app)
    again.login(rotated)
    assert "carols" in again.get("/buckets").text  # the buckets stay the user's
    admin.post("/admin/users", {"action": "remove", "name": "carol"})
    assert [u.name for u in read_users_file(users_file)] == ["alice", "bob"]
    assert again.get("/buckets").status_code == 302  # removed: logged out
    own = admin.post("/admin/users", {"action": "rotate", "name": "alice"})
    alice_now = next(u for u in read_users_file(users_file) if u.name == "alice")
    assert alice_now.access_key != ALICE.access_key and alice_now.secret_key in own.text
    assert admin.get("/admin/users").status_code == 200  # rotating one's own keys: still in
    admin.get("/admin/users")
    refused = admin.post("/admin/users", {"action": "remove", "name": "alice"})
    assert refused.status_code == 400 and "alice" in [u.name for u in read_users_file(users_file)]


def test_admin_overview_and_fsck(tmp_path: Path, users_file: Path) -> None:
    import io

    data = tmp_path / "fs"
    store = FilesystemStore(str(data))
    app = create_app(store, data_dir=str(data), users_file=str(users_file), access_log="off")
    admin = console(app)
    admin.login(ALICE)
    admin.post("/buckets", {"name": "stats"})
    store.put_object("stats", "k", io.BytesIO(b"12345"), size=5)
    overview = admin.get("/admin").text
    assert "ready" in overview and "FilesystemStore" in overview
    assert re.search(
        r"<th scope=\"row\">stats</th><td>alice</td><td class=\"num\">1</td>", overview
    )
    assert admin.post("/admin/fsck").status_code == 200
    assert "No problems found." in admin.post("/admin/fsck").text
    stale = data / "tmp" / "left-over.part"
    stale.parent.mkdir(exist_ok=True)
    stale.write_bytes(b"x")
    os.utime(stale, (1, 1))
    assert "stale temp file" in admin.post("/admin/fsck").text
    assert stale.exists()  # the console reports; it never repairs


def test_the_console_can_be_turned_off(tmp_path: Path, users_file: Path) -> None:
    app = create_app(
        MemoryStore(),
        data_dir=str(tmp_path),
        users_file=str(users_file),
        console=False,
        access_log="off",
    )
    response = app.test_client().get(CONSOLE + "/login")
    assert response.status_code != 200 and b"<form" not in response.data
    assert not (tmp_path / SECRET_FILE).exists()


def test_the_console_path_is_a_setting(tmp_path: Path, users_file: Path) -> None:
    app = create_app(
        MemoryStore(),
        data_dir=str(tmp_path),
        users_file=str(users_file),
        console_path="/-/ui",
        access_log="off",
    )
    assert app.test_client().get("/-/ui/login").status_code == 200


def test_bucket_counts_walk_stores_without_an_index_up_to_a_limit(
    app: Flask, store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from boxdrive_wsgi.console import usage

    c = console(app)
    c.login(ALICE)
    c.post("/buckets", {"name": "counted"})
    for i in range(5):
        store.put_object("counted", f"k{i}", io.BytesIO(b"abc"), size=3)
    row = re.search(r"counted</a></th>(.*?)</tr>", c.get("/buckets").text, re.S)
    assert row and re.findall(r'class="num"[^>]*>([^<]+)<', row.group(1)) == ["5", "15 B"]
    assert usage.bucket_usage(store, ["counted"])["counted"] == usage.Usage(5, 15)
    monkeypatch.setattr(usage, "WALK_LIMIT", 2)
    monkeypatch.setattr(usage, "_PAGE", 2)
    partial = usage.bucket_usage(store, ["counted"])["counted"]
    assert partial == usage.Usage(2, 6, complete=False)
    assert "2+" in c.get("/buckets").text  # shown as a lower bound


def test_the_sites_own_login_can_stand_in_for_the_consoles(tmp_path: Path) -> None:
    """The S3 blueprint's authenticate hook names the site's user; the console uses it."""
    from flask import Request

    from boxdrive_wsgi.auth.identity import Identity

    store = MemoryStore()
    users = Credentials([ALICE, BOB])
    app = Flask("site")

    def site_user(req: Request) -> Identity | None:
        return BOB.identity if req.headers.get("X-Site-User") == "bob" else None

    app.register_blueprint(
        make_console_blueprint(
            store,
            credentials=users,
            authenticate=site_user,
            data_dir=str(tmp_path),
        ),
        url_prefix=CONSOLE,
    )
    client = app.test_client()
    assert client.get(CONSOLE + "/buckets").status_code == 302  # nobody: the login form
    page = client.get(CONSOLE + "/buckets", headers={"X-Site-User": "bob"})
    assert page.status_code == 200 and "Signed in as <strong>bob</strong>" in page.text
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    created = client.post(
        CONSOLE + "/buckets", data={"csrf": token, "name": "bobs"}, headers={"X-Site-User": "bob"}
    )
    assert created.status_code == 302 and store.head_bucket("bobs").owner == BOB.identity.id


def test_user_admin_keeps_the_groups(tmp_path: Path, store: MemoryStore) -> None:
    path = tmp_path / "grouped.json"
    no_buckets = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": "s3:CreateBucket", "Resource": "*"}],
    }
    grouped_bob = replace(BOB, groups=("no-buckets",))
    write_users_file(path, [ALICE, grouped_bob], [Group("no-buckets", (json.dumps(no_buckets),))])
    app = create_app(store, data_dir=str(tmp_path / "data"), users_file=str(path), access_log="off")
    admin = console(app)
    admin.login(ALICE)
    bob = console(app)
    bob.login(BOB)
    assert bob.post("/buckets", {"name": "bobs-before"}).status_code != 302
    assert admin.post("/admin/users", {"action": "add", "name": "carol"}).status_code == 200
    content = read_users_and_groups(path)
    assert [g.name for g in content.groups] == ["no-buckets"]
    assert content.users[:2] == [ALICE, grouped_bob]
    # the reloaded credentials still carry bob's group: still no buckets for bob
    assert bob.post("/buckets", {"name": "bobs-after"}).status_code != 302
    assert store.list_buckets() == []
