"""The web console in a real headless Chromium (Debian's chromium and chromium-driver,
driven by selenium) against a live waitress server: log in, create a bucket, upload a
20 MB file in parts with progress shown, upload a folder, navigate prefixes, share a link
and fetch it with requests, delete, log out; a second user does not see the first one's
buckets; cross-site form posts and a planted session cookie get nowhere.

Screenshots of every page at 1280x800 and 390x844 go to ``$BOXDRIVE_SCREENSHOTS`` (or a
temporary directory, printed). Outside CI a missing chromium skips these tests; in CI
(``CI`` set) it fails them: ``.ci/run`` installs chromium with apt.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from boxdrive_wsgi.auth.credentials import User, write_users_file

from .servers import RunningServer, free_port, server_env, start_server, waitress_argv

ALICE = User("alice", "AKCONSOLEALICE000001", "alice-console-secret-1234567890", admin=True)
BOB = User("bob", "AKCONSOLEBOB00000002", "bob-console-secret-0987654321")
CONSOLE = "/-/console"
#: Generous: two cores shared with other test runs.
WAIT = 60
SIZES = ((1280, 800), (390, 844))
BIG = 20 * 1024 * 1024


def chromium_paths() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or (
        "/usr/bin/chromedriver" if os.access("/usr/bin/chromedriver", os.X_OK) else None
    )
    if browser is None or driver is None:
        message = (
            "chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
        )
        if os.environ.get("CI"):
            pytest.fail(message + "; CI must run the console browser tests")
        pytest.skip(message)
    return browser, driver


@dataclass
class Site:
    server: RunningServer
    shots: Path

    def url(self, path: str = "") -> str:
        return self.server.endpoint + CONSOLE + path

    def s3(self, user: User) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.server.endpoint,
            aws_access_key_id=user.access_key,
            aws_secret_access_key=user.secret_key,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}),
        )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("console")
    users = root / "users.json"
    write_users_file(users, [ALICE, BOB])
    env = server_env(root / "data", extra={"BOXDRIVE_USERS_FILE": str(users)})
    port = free_port()
    server = start_server(waitress_argv(port, threads=8), env, port=port, log_dir=root)
    shots = Path(os.environ.get("BOXDRIVE_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    print(f"console screenshots: {shots}")
    try:
        yield Site(server, shots)
    finally:
        server.stop()
        log = server.log()
        for user in (ALICE, BOB):  # nothing logs a secret, whatever was done
            assert user.secret_key not in log


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[WebDriver]:
    binary, driver_path = chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,800",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(driver_path))
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


def shoot(browser: WebDriver, site: Site, name: str) -> None:
    """The page as a desktop and as a phone shows it, at exact viewport sizes."""
    for width, height in SIZES:
        browser.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
        )
        path = site.shots / f"{name}-{width}x{height}.png"
        assert browser.save_screenshot(str(path)), path
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False},
    )


def wait_for(browser: WebDriver, condition: Callable[[Any], Any], timeout: float = WAIT) -> Any:
    return WebDriverWait(browser, timeout, poll_frequency=0.1).until(condition)


def find(browser: WebDriver, css: str) -> Any:
    return wait_for(browser, ec.presence_of_element_located((By.CSS_SELECTOR, css)))


def click(browser: WebDriver, css: str) -> None:
    wait_for(browser, ec.element_to_be_clickable((By.CSS_SELECTOR, css))).click()


def log_in(browser: WebDriver, site: Site, user: User) -> None:
    browser.get(site.url("/login"))
    find(browser, "#access_key").send_keys(user.access_key)
    find(browser, "#secret_key").send_keys(user.secret_key)
    click(browser, "#login")
    wait_for(browser, ec.presence_of_element_located((By.ID, "logout")))


def log_out(browser: WebDriver) -> None:
    click(browser, "#logout")
    find(browser, "#access_key")


def object_names(browser: WebDriver) -> list[str]:
    return [a.text for a in browser.find_elements(By.CSS_SELECTOR, "#objects tbody th a")]


def test_a_user_works_through_the_console(browser: WebDriver, site: Site, tmp_path: Path) -> None:
    browser.get(site.url("/"))
    find(browser, "#access_key")
    shoot(browser, site, "01-login")
    find(browser, "#access_key").send_keys(ALICE.access_key)
    find(browser, "#secret_key").send_keys("not the secret")
    click(browser, "#login")
    assert "wrong" in find(browser, "#login-error").text
    shoot(browser, site, "02-login-error")
    find(browser, "#secret_key").send_keys(ALICE.secret_key)
    click(browser, "#login")
    find(browser, "#bucket-name")
    shoot(browser, site, "03-buckets-empty")
    assert ALICE.secret_key not in browser.page_source

    find(browser, "#bucket-name").send_keys("photos")
    click(browser, "#create-bucket")
    find(browser, "#dropzone")
    assert "Bucket photos created." in browser.page_source

    # A 20 MB file goes up in three presigned parts, with its progress bar moving.
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(BIG))
    find(browser, "#file-input").send_keys(str(big))
    item = find(browser, '#uploads li[data-key="big.bin"]')
    seen: set[int] = set()
    shot_taken = False
    deadline = time.monotonic() + 120
    while item.get_attribute("data-state") != "done" and time.monotonic() < deadline:
        assert item.get_attribute("data-state") != "failed", item.text
        value = int(float(item.find_element(By.TAG_NAME, "progress").get_attribute("value") or 0))
        seen.add(value)
        if 0 < value < BIG and not shot_taken:
            shoot(browser, site, "05-upload-progress")
            shot_taken = True
        time.sleep(0.05)
    assert item.get_attribute("data-state") == "done", item.text
    assert "Done" in item.text
    assert any(0 < v < BIG for v in seen), sorted(seen)  # progress was shown on the way
    s3 = site.s3(ALICE)
    head = s3.head_object(Bucket="photos", Key="big.bin")
    assert head["ContentLength"] == BIG and head["ETag"].endswith('-3"')  # three parts

    # A folder, with a folder inside it.
    album = tmp_path / "album"
    (album / "2024").mkdir(parents=True)
    (album / "2024" / "cat.txt").write_text("meow")
    (album / "dog.txt").write_text("woof")
    find(browser, "#folder-input").send_keys(str(album))

    def upload_states(b: WebDriver) -> list[str | None]:
        return [
            li.get_attribute("data-state") for li in b.find_elements(By.CSS_SELECTOR, "#uploads li")
        ]

    wait_for(browser, lambda b: upload_states(b).count("done") == 3 or "failed" in upload_states(b))
    states = upload_states(browser)
    assert find(browser, "#uploads-done").is_displayed()
    assert states == ["done"] * 3, states
    # Drag and drop: a file dropped on the drop zone (a DataTransfer made in the page, as
    # a desktop drop hands it over) goes up like a chosen one.
    browser.execute_script(
        """
        const data = new DataTransfer();
        data.items.add(new File(["dropped bytes"], "dropped.txt", {type: "text/plain"}));
        const zone = document.getElementById("dropzone");
        zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: data, bubbles: true}));
        zone.dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true}));
        """
    )
    dropped = find(browser, '#uploads li[data-key="dropped.txt"]')
    wait_for(browser, lambda b: dropped.get_attribute("data-state") in ("done", "failed"))
    assert dropped.get_attribute("data-state") == "done", dropped.text
    got = s3.get_object(Bucket="photos", Key="dropped.txt")
    assert got["Body"].read() == b"dropped bytes" and got["ContentType"] == "text/plain"
    s3.delete_object(Bucket="photos", Key="dropped.txt")
    browser.refresh()
    wait_for(browser, lambda b: "album/" in " ".join(object_names(b)))
    assert "big.bin" in object_names(browser)
    shoot(browser, site, "04-objects")
    browser.get(site.url("/buckets"))
    row = find(browser, "#buckets tbody tr").text
    assert "photos" in row and " 3 " in f" {row} " and "20.0 MiB" in row  # objects and size
    shoot(browser, site, "03-buckets")

    # Cancel an upload midway (the network slowed down so that there is a midway), retry it.
    browser.get(site.url("/b/photos"))
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 2**20},
    )
    again = tmp_path / "again.bin"
    again.write_bytes(big.read_bytes()[: 12 * 1024 * 1024])
    find(browser, "#file-input").send_keys(str(again))
    item = find(browser, '#uploads li[data-key="again.bin"]')
    wait_for(browser, lambda b: item.get_attribute("data-state") == "running")
    item.find_element(By.XPATH, ".//button[text()='Cancel']").click()
    wait_for(browser, lambda b: item.get_attribute("data-state") == "failed")
    assert "Cancelled" in item.text
    browser.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    with pytest.raises(ClientError):
        s3.head_object(Bucket="photos", Key="again.bin")
    wait_for(browser, lambda b: not s3.list_multipart_uploads(Bucket="photos").get("Uploads"))
    item.find_element(By.XPATH, ".//button[text()='Retry']").click()
    wait_for(browser, lambda b: item.get_attribute("data-state") in ("done", "failed"))
    assert item.get_attribute("data-state") == "done", item.text
    assert s3.head_object(Bucket="photos", Key="again.bin")["ContentLength"] == 12 * 1024 * 1024
    s3.delete_object(Bucket="photos", Key="again.bin")
    browser.get(site.url("/b/photos"))
    wait_for(browser, lambda b: "big.bin" in object_names(b))

    # Prefixes: into album/, into 2024/, back by the breadcrumbs.
    click(browser, '#objects a[href*="prefix=album/"]')
    wait_for(browser, lambda b: "dog.txt" in object_names(b))
    click(browser, '#objects a[href*="prefix=album/2024/"]')
    wait_for(browser, lambda b: object_names(b) == ["cat.txt"])
    crumbs = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".crumbs li")]
    assert crumbs == ["Buckets", "photos", "album", "2024"]
    shoot(browser, site, "06-objects-folder")
    click(browser, '.crumbs a[href$="prefix=album/"]')
    wait_for(browser, lambda b: "dog.txt" in object_names(b))
    click(browser, '.crumbs a[href$="/b/photos"]')
    wait_for(browser, lambda b: "big.bin" in object_names(b))

    # Details and a share link for a week, fetched by someone without any login.
    click(browser, '#objects a[href*="key=big.bin"]')
    details = find(browser, "#details").text
    assert str(BIG) in details and head["ETag"].strip('"') in details
    shoot(browser, site, "07-object")
    Select(find(browser, "#expires")).select_by_visible_text("7 days")
    click(browser, "#make-share")
    link = find(browser, "#share-url").get_attribute("value")
    click(browser, "#copy-link")
    wait_for(browser, lambda b: b.find_element(By.ID, "copy-status").text != "")
    shoot(browser, site, "08-share")
    assert "X-Amz-Expires=604800" in link
    fetched = requests.get(link, timeout=60)
    assert fetched.status_code == 200
    assert hashlib.sha256(fetched.content).digest() == hashlib.sha256(big.read_bytes()).digest()

    # Delete the big file from its page, then everything in album/2024/ by selection.
    browser.back()
    click(browser, "#delete-object")
    find(browser, "#keys-to-delete")
    shoot(browser, site, "09-delete-confirm")
    click(browser, "#confirm-delete")
    wait_for(browser, lambda b: "Deleted 1 object." in b.page_source)
    assert "big.bin" not in object_names(browser)
    with pytest.raises(ClientError):
        s3.head_object(Bucket="photos", Key="big.bin")
    browser.get(site.url("/b/photos?prefix=album/"))
    click(browser, "#select-all")
    click(browser, "#delete-selected")
    click(browser, "#confirm-delete")
    wait_for(browser, lambda b: "Deleted 1 object." in b.page_source)
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="photos")["Contents"]] == [
        "album/2024/cat.txt"
    ]

    # The bucket is not empty yet: deleting it is refused until it is.
    browser.get(site.url("/buckets/photos/delete"))
    find(browser, "#not-empty")
    s3.delete_object(Bucket="photos", Key="album/2024/cat.txt")
    browser.refresh()
    find(browser, "#confirm").send_keys("photos")
    shoot(browser, site, "10-bucket-delete")
    click(browser, "#confirm-delete-bucket")
    wait_for(browser, lambda b: "Bucket photos deleted." in b.page_source)
    assert "photos" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    shoot(browser, site, "11-buckets")

    # The operator's pages.
    browser.get(site.url("/admin"))
    assert "ready" in find(browser, "#health").text
    shoot(browser, site, "12-admin")
    browser.get(site.url("/admin/users"))
    assert BOB.access_key in find(browser, "#users").text
    assert BOB.secret_key not in browser.page_source
    shoot(browser, site, "13-admin-users")
    browser.get(site.url("/admin/fsck"))
    click(browser, "#run-fsck")
    assert "problem" in find(browser, "#fsck-report").text.lower()
    shoot(browser, site, "14-admin-fsck")

    log_out(browser)
    browser.get(site.url("/buckets"))
    find(browser, "#access_key")  # back at the login form
    assert "/login" in browser.current_url


def test_a_second_user_does_not_see_the_first_users_buckets(browser: WebDriver, site: Site) -> None:
    site.s3(ALICE).create_bucket(Bucket="alices-private")
    site.s3(ALICE).put_object(Bucket="alices-private", Key="secret.txt", Body=b"mine")
    browser.delete_all_cookies()
    log_in(browser, site, BOB)
    assert "alices-private" not in find(browser, "main").text
    assert "Admin" not in find(browser, "header").text
    browser.get(site.url("/b/alices-private"))
    assert find(browser, "h1").text == "AccessDenied"
    shoot(browser, site, "15-access-denied")
    browser.get(site.url("/b/alices-private/download?key=secret.txt"))
    assert find(browser, "h1").text == "AccessDenied"
    browser.get(site.url("/admin"))
    assert find(browser, "h1").text == "AccessDenied"
    log_out(browser)


def test_a_cross_site_form_post_does_nothing(browser: WebDriver, site: Site) -> None:
    browser.delete_all_cookies()
    log_in(browser, site, ALICE)
    # Another site's page posting to the console: the browser holds a console login,
    # but the post carries no CSRF token (and SameSite keeps the cookie home).
    attack = (
        "data:text/html,<form method=post action='" + site.url("/buckets") + "'>"
        "<input name=name value=csrf-victim></form><script>document.forms[0].submit()</script>"
    )
    browser.get(attack)
    wait_for(browser, lambda b: b.current_url.startswith(site.server.endpoint))
    assert find(browser, "h1").text == "Forbidden"
    assert "csrf-victim" not in [b["Name"] for b in site.s3(ALICE).list_buckets()["Buckets"]]
    browser.get(site.url("/buckets"))  # the login itself is untouched
    log_out(browser)


def test_a_planted_session_cookie_never_becomes_a_login(browser: WebDriver, site: Site) -> None:
    attacker = requests.Session()
    attacker.get(site.url("/login"), timeout=30)
    planted = attacker.cookies.get("boxdrive_console")
    assert planted
    browser.delete_all_cookies()
    browser.get(site.url("/login"))
    browser.delete_all_cookies()
    browser.add_cookie({"name": "boxdrive_console", "value": planted, "path": CONSOLE})
    log_in(browser, site, ALICE)
    now = browser.get_cookie("boxdrive_console")
    assert now is not None and now["value"] != planted and now["httpOnly"]
    assert now["sameSite"] == "Lax"
    # The attacker's copy of the cookie is still nobody's login.
    answer = attacker.get(site.url("/buckets"), allow_redirects=False, timeout=30)
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]
    # And the attacker's pre-login CSRF token does not work with the victim's session.
    token = re.search(
        r'name="csrf-token" content="([^"]+)"', attacker.get(site.url("/login"), timeout=30).text
    )
    assert token
    forged = requests.post(
        site.url("/buckets"),
        data={"csrf": token.group(1), "name": "fixated"},
        cookies={"boxdrive_console": now["value"]},
        allow_redirects=False,
        timeout=30,
    )
    assert forged.status_code == 403
    log_out(browser)
