"""The few GitLab REST API v4 calls GitlabStore makes, over python-gitlab.

Every call goes through one bounded retry loop: 429 and 5xx answers (and broken
connections) are retried with exponential back-off, honouring ``Retry-After``
up to ``RetryPolicy.max_wait``; python-gitlab's own retrying is switched off so
that a commit body (streamed from a file) is rebuilt for each attempt. What is
left is mapped to store errors: 404 -> ``NotFound`` (callers decide what is
missing), a commit that lost a race (400 "already exists" / "has changed" /
"doesn't exist", 409) -> ``Conflict``, 401/403 -> ``GitlabError`` (the server's
token is wrong: not the S3 client's fault), 429/5xx or a dropped connection after the
last attempt -> ``StoreUnavailable``. The token is only ever in the ``PRIVATE-TOKEN``
header: never in a URL, a log line, a repr or an error; and it goes to the configured
GitLab only (a next-page link to another scheme, host or port is refused).

A commit whose answer was lost (5xx from a proxy, dropped connection) may have landed:
before sending it again the caller's ``landed`` check reads the repository, and a
commit found in place counts as done (else a retried create would answer "already
exists" for a write that succeeded).
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO, cast
from urllib.parse import quote, urlsplit, urlunsplit

import gitlab
import requests
import urllib3

from ..errors import BackendError, StoreUnavailable
from ..streams import IterReader

log = logging.getLogger(__name__)

_TRANSIENT = frozenset({429, 500, 502, 503, 504})
_CONFLICT_MESSAGES = (
    "already exists",
    "has changed",
    "doesn't exist",
    "does not exist",
    "not exist",
)
#: raw bytes per base64 piece of a streamed commit body (a multiple of 3)
_B64_PIECE = 3 * 256 * 1024
#: What a dropped or broken connection raises: requests wraps most socket errors in
#: ConnectionError, but a body cut short is ChunkedEncodingError (or a bare
#: http.client / urllib3 error where requests does not wrap it).
DROPPED = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
    http.client.HTTPException,
    urllib3.exceptions.ProtocolError,
    ConnectionError,
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


class GitlabError(BackendError):
    """GitLab refused a request for a reason the S3 client cannot fix (answered 502)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class NotFound(Exception):
    """404: the file, tree, branch or project is not there."""


class Conflict(Exception):
    """A commit was rejected because the files changed meanwhile; read again and retry."""


@dataclass(frozen=True)
class RetryPolicy:
    #: tries per request, the first included
    attempts: int = 5
    #: first back-off in seconds, doubled on each retry (with jitter)
    backoff: float = 0.25
    #: longest single wait, also the cap on Retry-After
    max_wait: float = 10.0

    def wait(self, attempt: int, retry_after: str | None) -> float:
        if retry_after is not None:
            try:
                return min(self.max_wait, max(0.0, float(retry_after)))
            except ValueError:
                pass
        delay = self.backoff * (2**attempt)
        return float(min(self.max_wait, delay * (0.5 + random.random() / 2)))


@dataclass(frozen=True)
class RepoFile:
    content: bytes
    blob_id: str
    #: the commit the ref pointed at when read
    commit_id: str
    #: the last commit that changed this file
    last_commit_id: str


@dataclass(frozen=True)
class Action:
    """One action of a commit. ``content`` is bytes, or ``(file, size)`` to stream."""

    action: str  # create / update / delete
    file_path: str
    content: bytes | tuple[BinaryIO, int] | None = None
    last_commit_id: str | None = None


class _CommitBody:
    """The JSON body of a commit, produced piece by piece: file contents are read
    from their files and base64-encoded ``_B64_PIECE`` bytes at a time, so a commit
    of any size costs this process O(piece) memory. Has a length (Content-Length)."""

    def __init__(self, parts: list[bytes | tuple[BinaryIO, int]]) -> None:
        self._parts = parts
        self._length = sum(len(p) if isinstance(p, bytes) else 4 * ((p[1] + 2) // 3) for p in parts)
        self._reader = IterReader(self._generate())

    def __len__(self) -> int:
        return self._length

    def _generate(self) -> Iterator[bytes]:
        for part in self._parts:
            if isinstance(part, bytes):
                yield part
                continue
            file, size = part
            file.seek(0)
            remaining = size
            while remaining > 0:
                chunk = file.read(min(_B64_PIECE, remaining))
                if not chunk:
                    raise OSError("spooled body ended early")
                remaining -= len(chunk)
                yield base64.b64encode(chunk)

    def read(self, size: int = -1, /) -> bytes:
        return self._reader.read(size)


def _commit_parts(
    branch: str, message: str, actions: list[Action]
) -> list[bytes | tuple[BinaryIO, int]]:
    dump = json.dumps
    parts: list[bytes | tuple[BinaryIO, int]] = [
        f'{{"branch": {dump(branch)}, "commit_message": {dump(message)}, "actions": ['.encode()
    ]
    for n, action in enumerate(actions):
        head: dict[str, Any] = {"action": action.action, "file_path": action.file_path}
        if action.last_commit_id:
            head["last_commit_id"] = action.last_commit_id
        text = ("" if n == 0 else ", ") + dump(head)[:-1]
        if action.content is None:
            parts.append((text + "}").encode())
            continue
        parts.append((text + ', "encoding": "base64", "content": "').encode())
        if isinstance(action.content, bytes):
            parts.append(base64.b64encode(action.content))
        else:
            parts.append(action.content)
        parts.append(b'"}')
    parts.append(b"]}")
    return parts


def _seconds(retry_after: str | None) -> int | None:
    try:
        return max(1, int(float(retry_after))) if retry_after else None
    except ValueError:
        return None


def _path(file_path: str) -> str:
    return quote(file_path, safe="")


class GitlabApi:
    """A project branch of one GitLab instance, with retries and error mapping."""

    def __init__(
        self,
        url: str,
        token: str,
        project: str,
        branch: str,
        *,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
    ) -> None:
        self._gl = gitlab.Gitlab(url, private_token=token, timeout=timeout)
        self._gl.session.hooks["response"].append(self._remember)
        self._local = threading.local()
        self.url = url
        self.project = project
        self.branch = branch
        self.retry = retry or RetryPolicy()
        self._base = f"/projects/{_path(project)}/repository"

    def __repr__(self) -> str:
        return f"GitlabApi(url={self.url!r}, project={self.project!r}, branch={self.branch!r})"

    def close(self) -> None:
        self._gl.session.close()

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._local.retry_after = response.headers.get("Retry-After")

    # ------------------------------------------------------------------ the loop

    def request(
        self,
        verb: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        parts: list[bytes | tuple[BinaryIO, int]] | None = None,
        streamed: bool = False,
        landed: Callable[[], bool] | None = None,
    ) -> requests.Response | None:
        """One API call, retried; None if it was not sent again because ``landed()``
        said an earlier try had taken effect."""
        attempts = max(1, self.retry.attempts)
        for attempt in range(attempts):
            self._local.retry_after = None
            if attempt and landed is not None and landed():
                log.warning("GitLab %s %s: the earlier try had landed", verb, path)
                return None
            try:
                return self._gl.http_request(
                    verb,
                    path,
                    query_data=dict(query or {}),
                    # a file-like body with a length: requests streams it
                    post_data=cast(BinaryIO, _CommitBody(parts)) if parts is not None else None,
                    raw=parts is not None,
                    streamed=streamed,
                    obey_rate_limit=False,
                    retry_transient_errors=False,
                    max_retries=0,
                    extra_headers={"Content-type": "application/json"} if parts else None,
                )
            except gitlab.exceptions.GitlabError as error:
                status = error.response_code
                if status in _TRANSIENT and attempt + 1 < attempts:
                    wait = self.retry.wait(attempt, self._local.retry_after)
                    log.warning("GitLab %s %s: %s, retrying in %.2fs", verb, path, status, wait)
                    time.sleep(wait)
                    continue
                raise self._mapped(verb, path, error, self._local.retry_after) from None
            except DROPPED as error:
                if attempt + 1 < attempts:
                    wait = self.retry.wait(attempt, None)
                    log.warning("GitLab %s %s: %s, retrying", verb, path, type(error).__name__)
                    time.sleep(wait)
                    continue
                raise StoreUnavailable(f"GitLab unreachable: {type(error).__name__}") from None
        raise AssertionError("unreachable")

    @staticmethod
    def _mapped(
        verb: str, path: str, error: gitlab.exceptions.GitlabError, retry_after: str | None
    ) -> Exception:
        status = error.response_code
        message = str(error.error_message)
        if status == 404:
            return NotFound(path)
        if status == 409 or (
            status == 400 and any(m in message.lower() for m in _CONFLICT_MESSAGES)
        ):
            return Conflict(message)
        if status in _TRANSIENT:
            log.error("GitLab %s %s: %s after retries", verb, path, status)
            return StoreUnavailable(
                f"GitLab answered {status}",
                throttled=status == 429,
                retry_after=_seconds(retry_after),
            )
        if status in (401, 403):
            log.error(
                "GitLab %s %s: %s, check the store's token and its scopes", verb, path, status
            )
            return GitlabError(f"GitLab refused the store's credentials ({status})", status)
        log.error("GitLab %s %s: %s %s", verb, path, status, message)
        return GitlabError(f"GitLab answered {status}: {message}", status)

    # ------------------------------------------------------------------ calls

    def _get(self, path: str, query: Mapping[str, Any] | None = None) -> requests.Response:
        response = self.request("get", path, query=query)
        assert response is not None  # only a commit may be skipped
        return response

    def branch_head(self) -> str | None:
        """The commit the branch points at, or None if there is no such branch."""
        try:
            response = self._get(f"{self._base}/branches/{_path(self.branch)}")
        except NotFound:
            return None
        return str(response.json()["commit"]["id"])

    def _next_page(self, link: str | None) -> str | None:
        """The next-page link, spelled with our base URL, if it leads to our GitLab's
        API (same scheme, host and port, under its API path, as python-gitlab checks);
        a link elsewhere is refused: following it would carry the token there."""
        if link is None:
            return None
        ours, theirs = urlsplit(self._gl.api_url), urlsplit(link)

        def origin(url: Any) -> tuple[str, str, int | None]:
            scheme = url.scheme.lower()
            return scheme, (url.hostname or "").lower(), url.port or _DEFAULT_PORTS.get(scheme)

        if origin(theirs) != origin(ours) or not theirs.path.startswith(
            ours.path.rstrip("/") + "/"
        ):
            log.error(
                "GitLab's next-page link leaves %s (for %s://%s): not followed; set the"
                " store's URL to GitLab's external_url",
                self.url,
                theirs.scheme,
                theirs.netloc.rpartition("@")[2],
            )
            raise GitlabError("GitLab's next-page link points to another server")
        return urlunsplit((ours.scheme, ours.netloc, theirs.path, theirs.query, ""))

    def get_file(self, file_path: str, ref: str | None = None) -> RepoFile | None:
        try:
            response = self._get(
                f"{self._base}/files/{_path(file_path)}", query={"ref": ref or self.branch}
            )
        except NotFound:
            return None
        body = response.json()
        return RepoFile(
            content=base64.b64decode(body["content"]),
            blob_id=body["blob_id"],
            commit_id=body["commit_id"],
            last_commit_id=body["last_commit_id"],
        )

    def file_exists(self, file_path: str, ref: str | None = None) -> bool:
        try:
            self.request(
                "head", f"{self._base}/files/{_path(file_path)}", query={"ref": ref or self.branch}
            )
        except NotFound:
            return False
        return True

    def last_commit_of(self, file_path: str, ref: str | None = None) -> str | None:
        """The last commit that changed the file as of ``ref`` (a HEAD: no content),
        None if the file is not there."""
        try:
            response = self.request(
                "head", f"{self._base}/files/{_path(file_path)}", query={"ref": ref or self.branch}
            )
        except NotFound:
            return None
        assert response is not None
        return response.headers.get("X-Gitlab-Last-Commit-Id")

    def commits(self, file_path: str, ref: str, *, per_page: int = 100) -> Iterator[dict[str, Any]]:
        """The commits reachable from ``ref`` that changed ``file_path``, newest first,
        fetched a page at a time as the caller walks on (offset pages, announced in
        ``Link``). An unknown ref has none."""
        url: str | None = f"{self._base}/commits"
        query: dict[str, Any] | None = {"ref_name": ref, "path": file_path, "per_page": per_page}
        while url is not None:
            try:
                response = self._get(url, query=query)
            except NotFound:
                if query is None:
                    raise GitlabError(f"GitLab lost the history of {ref!r} while paging") from None
                return
            yield from response.json()
            url = self._next_page(response.links.get("next", {}).get("url"))
            query = None

    def commit_info(self, sha: str) -> dict[str, Any] | None:
        """One commit (id, parent_ids, committed_date, ...), None if there is none such."""
        try:
            return dict(self._get(f"{self._base}/commits/{_path(sha)}").json())
        except NotFound:
            return None

    def is_ancestor(self, sha: str, ref: str | None = None) -> bool:
        """True if commit ``sha`` is in the history of ``ref`` (the branch)."""
        query = {"refs[]": [sha, ref or self.branch]}
        try:
            base = self._get(f"{self._base}/merge_base", query=query).json()
        except NotFound:  # no common ancestor
            return False
        except GitlabError as error:
            if error.status == 400:  # "Could not find ref": no such commit
                return False
            raise
        return bool(base.get("id") == sha)

    def open_raw(self, file_path: str, ref: str) -> requests.Response:
        """A streamed response with the file's bytes; raises NotFound."""
        response = self.request(
            "get", f"{self._base}/files/{_path(file_path)}/raw", query={"ref": ref}, streamed=True
        )
        assert response is not None
        return response

    def blob(self, sha: str) -> bytes:
        return self._get(f"{self._base}/blobs/{sha}/raw").content

    def tree(
        self, path: str, ref: str, *, recursive: bool, per_page: int = 100
    ) -> Iterator[dict[str, Any]]:
        """Entries under ``path`` (all pages, keyset pagination where the server has
        it, else offset pages: both announce the next page in ``Link``). A missing
        path is empty."""
        url: str | None = f"{self._base}/tree"
        query: dict[str, Any] | None = {
            "path": path,
            "ref": ref,
            "recursive": recursive,
            "per_page": per_page,
            "pagination": "keyset",
        }
        while url is not None:
            try:
                response = self._get(url, query=query)
            except NotFound:
                if query is None:  # a later page vanished: never truncate silently
                    raise GitlabError(f"GitLab lost the tree of {path!r} while paging") from None
                return
            yield from response.json()
            url = self._next_page(response.links.get("next", {}).get("url"))
            query = None  # the next link carries every parameter

    def commit(
        self, message: str, actions: list[Action], *, landed: Callable[[], bool] | None = None
    ) -> None:
        """Commit ``actions`` atomically on the branch. Raises Conflict if GitLab rejects
        an action because the files changed. ``landed`` tells, from the repository's
        state, whether this very commit is in place: it is asked before a retry."""
        parts = _commit_parts(self.branch, message, actions)
        self.request("post", f"{self._base}/commits", parts=parts, landed=landed)
