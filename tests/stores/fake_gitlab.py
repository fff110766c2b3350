"""An in-process fake of the parts of GitLab's REST API v4 that GitlabStore uses.

Built from GitLab's API documentation (Repository files, Repository tree, Commits,
Branches) and kept faithful to what a real server answers, not to what our store
happens to send:

* auth: ``PRIVATE-TOKEN`` (or ``Authorization: Bearer``) must match, else
  ``401 {"message": "401 Unauthorized"}``; projects by id or URL-encoded path.
* ``GET/HEAD /projects/:id/repository/files/:file_path?ref=`` (JSON with base64
  content, blob_id, commit_id, last_commit_id, content_sha256; HEAD answers the
  ``X-Gitlab-*`` headers only), ``.../files/:file_path/raw`` (streamed, same
  headers), ``/repository/blobs/:sha/raw``; ``404 File Not Found``.
* ``GET /projects/:id/repository/tree`` with path, ref, recursive, per_page (max
  100, default 20), offset pages (``X-Page``/``X-Next-Page``/``X-Total``) or
  ``pagination=keyset`` with an opaque ``page_token`` (base64 JSON of the last
  entry, as GitLab's Gitaly cursor) and a ``Link: <...>; rel="next"`` header; trees
  before blobs (Gitaly's TREES_FIRST); ``404 Tree Not Found`` for a missing path.
* ``GET /projects/:id/repository/branches/:branch``.
* ``GET /projects/:id/repository/commits`` with ref_name (a branch or a commit), path
  (only the commits that changed that file: added, modified or removed it, as
  ``git log -- path``), per_page (max 100, default 20) and offset pages (``X-Page``,
  ``X-Next-Page``, ``Link``; no ``X-Total``, as GitLab for commits), newest first;
  ``GET .../commits/:sha``; ``GET .../merge_base?refs[]=&refs[]=``. History older
  than the snapshots kept (``KEEP_SNAPSHOTS``) is cut off.
* ``POST /projects/:id/repository/commits``: actions create / update / delete /
  move / chmod, ``encoding`` text or base64, ``last_commit_id`` checks, all or
  nothing; ``400`` with GitLab's messages ("A file with this name already exists",
  "A file with this name doesn't exist", "The file has changed since you started
  editing it: ...", "A directory with this name already exists", invalid paths).
* fault injection: ``fake.inject(status, times, retry_after=...)`` answers the
  next requests with an error (429 with ``Retry-After``, 5xx, ...);
  ``fake.inject_drop(times, processed=...)`` cuts the next answers short (the
  connection drops mid-body), after carrying the request out if ``processed``:
  a commit that lands while its answer is lost.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import json
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlencode

from werkzeug.wrappers import Request, Response

from boxdrive_wsgi.stores.gitlab import GitlabStore
from boxdrive_wsgi.stores.gitlab.api import RetryPolicy

#: commits kept readable per project (older snapshots are dropped: bounded memory)
KEEP_SNAPSHOTS = 512
#: the ``inject`` status that drops the connection instead of answering
DROP = 0


def _sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def blob_sha(content: bytes) -> str:
    return _sha1(b"blob %d\0" % len(content) + content)


@dataclass
class Snapshot:
    commit: dict[str, Any]
    #: path -> (blob sha, last commit id)
    files: dict[str, tuple[str, str]]


@dataclass
class Project:
    id: int
    path: str
    branches: dict[str, str] = field(default_factory=dict)
    snapshots: dict[str, Snapshot] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)


class ApiError(Exception):
    def __init__(self, status: int, message: str, key: str = "message") -> None:
        super().__init__(message)
        self.status = status
        self.body = {key: message}


class FakeGitlab:
    """The fake server's state and its WSGI app (``fake.app``)."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.blobs: dict[str, bytes] = {}
        self.projects: dict[int, Project] = {}
        self.lock = threading.RLock()
        self.requests: list[tuple[str, str]] = []
        #: (status, Retry-After, only for this method, carry the request out first)
        self._faults: list[tuple[int, str | None, str | None, bool]] = []
        #: scheme://host:port written into next-page links instead of the request's
        self.link_base: str | None = None
        self._ids = itertools.count(1)
        self._commits = itertools.count(1)

    # ------------------------------------------------------------------ control

    def new_project(self, path: str | None = None, branch: str = "main") -> Project:
        """A project whose branch has one commit with a README (as GitLab creates it)."""
        with self.lock:
            number = next(self._ids)
            project = Project(number, path or f"group/project-{number}")
            self.projects[number] = project
            project.branches[branch] = self._commit(
                project, None, "Initial commit", {"README.md": b"# storage\n"}
            )
            return project

    def inject(
        self,
        status: int,
        times: int = 1,
        *,
        retry_after: str | None = None,
        method: str | None = None,
        processed: bool = False,
    ) -> None:
        """Answer the next ``times`` requests (of ``method``, if given) with ``status``;
        if ``processed``, after carrying them out (a proxy's 502 for a landed commit)."""
        with self.lock:
            self._faults += [(status, retry_after, method, processed)] * times

    def inject_drop(
        self, times: int = 1, *, processed: bool = False, method: str | None = None
    ) -> None:
        """Cut the next ``times`` answers short, after doing the request if ``processed``."""
        self.inject(DROP, times, method=method, processed=processed)

    def _next_fault(self, method: str) -> tuple[int, str | None, bool] | None:
        for n, (status, retry_after, only, processed) in enumerate(self._faults):
            if only is None or only == method:
                del self._faults[n]
                return status, retry_after, processed
        return None

    def files(self, project: Project, branch: str = "main") -> dict[str, bytes]:
        with self.lock:
            snapshot = project.snapshots[project.branches[branch]]
            return {path: self.blobs[blob] for path, (blob, _) in snapshot.files.items()}

    # ------------------------------------------------------------------ model

    def _commit(
        self,
        project: Project,
        parent: str | None,
        message: str,
        changes: dict[str, bytes | None],
    ) -> str:
        files = dict(project.snapshots[parent].files) if parent else {}
        number = next(self._commits)
        sha = _sha1(f"commit {project.id} {number} {message}".encode())
        for path, content in changes.items():
            if content is None:
                files.pop(path, None)
            else:
                blob = blob_sha(content)
                self.blobs[blob] = content
                files[path] = (blob, sha)
        now = datetime.now(UTC).isoformat()
        commit = {
            "id": sha,
            "short_id": sha[:8],
            "title": message.splitlines()[0] if message else "",
            "message": message,
            "parent_ids": [parent] if parent else [],
            "created_at": now,
            "committed_date": now,
            "authored_date": now,
            "author_name": "Storage",
            "committer_name": "Storage",
        }
        project.snapshots[sha] = Snapshot(commit, files)
        project.order.append(sha)
        while len(project.order) > KEEP_SNAPSHOTS:
            project.snapshots.pop(project.order.pop(0), None)
        return sha

    def _snapshot(self, project: Project, ref: str | None) -> Snapshot:
        if not ref:
            raise ApiError(400, "ref is missing", "error")
        sha = project.branches.get(ref, ref)
        snapshot = project.snapshots.get(sha)
        if snapshot is None:
            raise ApiError(404, "404 Commit Not Found")
        return snapshot

    # ------------------------------------------------------------------ WSGI

    def app(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        raw_path = environ.get("REQUEST_URI", request.path).split("?", 1)[0]
        with self.lock:
            self.requests.append((request.method, raw_path))
            fault = self._next_fault(request.method)
        if fault is not None and fault[2]:
            with contextlib.suppress(ApiError):
                self._dispatch(request, raw_path)
        if fault is not None and fault[0] == DROP:
            return _cut_short(start_response)
        if fault is not None:
            status, retry_after, _ = fault
            response = _json({"message": f"{status} Injected"}, status)
            if retry_after is not None:
                response.headers["Retry-After"] = retry_after
            return response(environ, start_response)
        try:
            response = self._dispatch(request, raw_path)
        except ApiError as error:
            response = _json(error.body, error.status)
        return response(environ, start_response)

    def _dispatch(self, request: Request, raw_path: str) -> Response:
        token = request.headers.get("PRIVATE-TOKEN") or request.headers.get(
            "Authorization", ""
        ).removeprefix("Bearer ")
        if token != self.token:
            raise ApiError(401, "401 Unauthorized")
        parts = raw_path.split("/")
        # "", "api", "v4", "projects", :id, "repository", ...
        if parts[:4] != ["", "api", "v4", "projects"] or len(parts) < 7:
            raise ApiError(404, "404 Not Found", "error")
        project = self._project(unquote(parts[4]))
        rest = parts[5:]
        method = request.method
        with self.lock:
            if rest[:2] == ["repository", "files"] and len(rest) in (3, 4):
                path = unquote(rest[2])
                raw = len(rest) == 4 and rest[3] == "raw"
                if method in ("GET", "HEAD"):
                    return self._get_file(project, path, request, raw=raw)
            if rest[:2] == ["repository", "blobs"] and len(rest) == 4 and rest[3] == "raw":
                content = self.blobs.get(rest[2])
                if content is None:
                    raise ApiError(404, "404 Blob Not Found")
                return Response(content, content_type="application/octet-stream")
            if rest == ["repository", "tree"] and method == "GET":
                return self._tree(project, request)
            if rest[:2] == ["repository", "branches"] and len(rest) == 3 and method == "GET":
                name = unquote(rest[2])
                if name not in project.branches:
                    raise ApiError(404, "404 Branch Not Found")
                commit = project.snapshots[project.branches[name]].commit
                return _json({"name": name, "commit": commit, "protected": False}, 200)
            if rest == ["repository", "commits"] and method == "POST":
                return self._create_commit(project, request)
            if rest == ["repository", "commits"] and method == "GET":
                return self._list_commits(project, request)
            if rest[:2] == ["repository", "commits"] and len(rest) == 3 and method == "GET":
                return _json(self._snapshot(project, unquote(rest[2])).commit, 200)
            if rest == ["repository", "merge_base"] and method == "GET":
                return self._merge_base(project, request)
        raise ApiError(404, "404 Not Found", "error")

    def _project(self, ident: str) -> Project:
        with self.lock:
            for project in self.projects.values():
                if ident in (str(project.id), project.path):
                    return project
        raise ApiError(404, "404 Project Not Found")

    def _get_file(self, project: Project, path: str, request: Request, *, raw: bool) -> Response:
        snapshot = self._snapshot(project, request.args.get("ref"))
        entry = snapshot.files.get(path)
        if entry is None:
            raise ApiError(404, "404 File Not Found")
        blob, last_commit = entry
        content = self.blobs[blob]
        headers = {
            "X-Gitlab-Blob-Id": blob,
            "X-Gitlab-Commit-Id": snapshot.commit["id"],
            "X-Gitlab-Content-Sha256": hashlib.sha256(content).hexdigest(),
            "X-Gitlab-Encoding": "base64",
            "X-Gitlab-File-Name": path.rsplit("/", 1)[-1],
            "X-Gitlab-File-Path": path,
            "X-Gitlab-Last-Commit-Id": last_commit,
            "X-Gitlab-Ref": request.args["ref"],
            "X-Gitlab-Size": str(len(content)),
        }
        if raw:
            body = _pieces(content) if request.method == "GET" else []
            response = Response(body, content_type="application/octet-stream", headers=headers)
            response.headers["Content-Length"] = str(len(content))
            return response
        if request.method == "HEAD":
            return Response(b"", 200, headers=headers, content_type="application/json")
        document = {
            "file_name": headers["X-Gitlab-File-Name"],
            "file_path": path,
            "size": len(content),
            "encoding": "base64",
            "content_sha256": headers["X-Gitlab-Content-Sha256"],
            "ref": request.args["ref"],
            "blob_id": blob,
            "commit_id": snapshot.commit["id"],
            "last_commit_id": last_commit,
            "execute_filemode": False,
            "content": base64.b64encode(content).decode(),
        }
        return _json(document, 200, headers)

    def _tree(self, project: Project, request: Request) -> Response:
        args = request.args
        snapshot = self._snapshot(project, args.get("ref") or next(iter(project.branches)))
        base = args.get("path", "").strip("/")
        recursive = args.get("recursive", "false").lower() == "true"
        entries = _tree_entries(snapshot.files, base, recursive)
        if base and not entries:
            raise ApiError(404, "404 Tree Not Found")
        per_page = max(1, min(100, int(args.get("per_page", 20))))
        query = {"path": base, "recursive": str(recursive).lower(), "per_page": per_page}
        if args.get("ref"):
            query["ref"] = args["ref"]
        host = self.link_base or request.host_url.rstrip("/")
        url = host + request.environ["REQUEST_URI"].split("?", 1)[0]
        headers: dict[str, str] = {}
        if args.get("pagination") == "keyset":
            start = 0
            token = args.get("page_token")
            if token:
                last = json.loads(base64.urlsafe_b64decode(token))["file_name"]
                paths = [e["path"] for e in entries]
                if last not in paths:
                    raise ApiError(400, f"could not find starting OID: {last}", "error")
                start = paths.index(last) + 1
            page = entries[start : start + per_page]
            if start + per_page < len(entries):
                cursor = json.dumps({"file_name": page[-1]["path"]}).encode()
                next_query = dict(query, pagination="keyset")
                next_query["page_token"] = base64.urlsafe_b64encode(cursor).decode()
                headers["Link"] = f'<{url}?{urlencode(next_query)}>; rel="next"'
        else:
            number = max(1, int(args.get("page", 1)))
            page = entries[(number - 1) * per_page : number * per_page]
            pages = max(1, -(-len(entries) // per_page))
            headers.update(
                {
                    "X-Page": str(number),
                    "X-Per-Page": str(per_page),
                    "X-Total": str(len(entries)),
                    "X-Total-Pages": str(pages),
                    "X-Next-Page": str(number + 1) if number < pages else "",
                }
            )
            if number < pages:
                next_query = dict(query, page=number + 1)
                headers["Link"] = f'<{url}?{urlencode(next_query)}>; rel="next"'
        return _json(page, 200, headers)

    def _history(self, project: Project, ref: str) -> Iterator[Snapshot]:
        """The commits reachable from ``ref``, newest first (first parents: the fake
        makes no merges), as far as snapshots are kept."""
        snapshot: Snapshot | None = self._snapshot(project, ref)
        while snapshot is not None:
            yield snapshot
            parents = snapshot.commit["parent_ids"]
            snapshot = project.snapshots.get(parents[0]) if parents else None

    def _list_commits(self, project: Project, request: Request) -> Response:
        args = request.args
        ref = args.get("ref_name") or next(iter(project.branches))
        path = args.get("path")
        commits: list[dict[str, Any]] = []
        for snapshot in self._history(project, ref):
            if path:
                parents = snapshot.commit["parent_ids"]
                parent = project.snapshots.get(parents[0]) if parents else None
                before = parent.files.get(path) if parent else None
                now = snapshot.files.get(path)
                if (before and before[0]) == (now and now[0]):
                    continue  # the file did not change in this commit
            commits.append(snapshot.commit)
        per_page = max(1, min(100, int(args.get("per_page", 20))))
        number = max(1, int(args.get("page", 1)))
        page = commits[(number - 1) * per_page : number * per_page]
        more = number * per_page < len(commits)
        headers = {
            "X-Page": str(number),
            "X-Per-Page": str(per_page),
            "X-Next-Page": str(number + 1) if more else "",
        }
        if more:
            host = self.link_base or request.host_url.rstrip("/")
            url = host + request.environ["REQUEST_URI"].split("?", 1)[0]
            query = {k: v for k, v in args.items() if k != "page"}
            headers["Link"] = f'<{url}?{urlencode(dict(query, page=number + 1))}>; rel="next"'
        return _json(page, 200, headers)

    def _merge_base(self, project: Project, request: Request) -> Response:
        refs = request.args.getlist("refs[]")
        if len(refs) < 2:
            raise ApiError(400, "Provide at least 2 refs")
        unknown = [r for r in refs if project.branches.get(r, r) not in project.snapshots]
        if unknown:
            raise ApiError(
                400, f"Could not find ref{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}"
            )
        ancestors = [[s.commit["id"] for s in self._history(project, ref)] for ref in refs]
        common = set.intersection(*(set(a) for a in ancestors))
        for sha in ancestors[0]:
            if sha in common:
                return _json(project.snapshots[sha].commit, 200)
        raise ApiError(404, "404 Merge Base Not Found")

    def _create_commit(self, project: Project, request: Request) -> Response:
        try:
            body = json.loads(request.get_data())
        except ValueError:
            raise ApiError(400, "400 Bad request - invalid JSON", "error") from None
        for required in ("branch", "commit_message", "actions"):
            if required not in body:
                raise ApiError(400, f"{required} is missing", "error")
        branch = body["branch"]
        start = body.get("start_branch") or branch
        parent = project.branches.get(start)
        if parent is None and project.branches:
            raise ApiError(400, "You can only create or edit files when you are on a branch")
        files = dict(project.snapshots[parent].files) if parent else {}
        changes: dict[str, bytes | None] = {}
        for action in body["actions"]:
            self._apply(files, changes, action)
        sha = self._commit(project, parent, body["commit_message"], changes)
        project.branches[branch] = sha
        return _json(project.snapshots[sha].commit, 201)

    def _apply(
        self,
        files: dict[str, tuple[str, str]],
        changes: dict[str, bytes | None],
        action: dict[str, Any],
    ) -> None:
        kind = action.get("action")
        path = _valid_path(action.get("file_path", ""))
        exists = path in files
        last = action.get("last_commit_id")
        changed = exists and last and files[path][1] != last
        if kind in ("update", "delete", "chmod") and changed:
            raise ApiError(400, f"The file has changed since you started editing it: {path}")
        if kind == "create":
            if exists:
                raise ApiError(400, "A file with this name already exists")
            _check_no_clash(files, path)
        elif kind in ("update", "delete", "chmod"):
            if not exists:
                raise ApiError(400, "A file with this name doesn't exist")
        elif kind == "move":
            previous = _valid_path(action.get("previous_path", ""))
            if previous not in files:
                raise ApiError(400, "A file with this name doesn't exist")
            if exists:
                raise ApiError(400, "A file with this name already exists")
            _check_no_clash(files, path)
            if action.get("content") is None:
                content = self.blobs[files[previous][0]]
                action = dict(action, content=base64.b64encode(content).decode(), encoding="base64")
            del files[previous]
            changes[previous] = None
        else:
            raise ApiError(400, "actions[0][action] does not have a valid value", "error")
        if kind == "delete":
            del files[path]
            changes[path] = None
            return
        if kind == "chmod":
            return
        text = action.get("content") or ""
        encoding = action.get("encoding", "text")
        if encoding == "base64":
            content = base64.b64decode(text, validate=True)
        elif encoding == "text":
            content = text.encode()
        else:
            raise ApiError(400, "actions[0][encoding] does not have a valid value", "error")
        files[path] = (blob_sha(content), "")
        changes[path] = content


def _valid_path(path: str) -> str:
    parts = path.split("/")
    if not path or path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ApiError(400, f"Invalid file path: {path!r}")
    if "\0" in path:
        raise ApiError(400, "Invalid file path")
    return path


def _check_no_clash(files: dict[str, tuple[str, str]], path: str) -> None:
    """Git cannot hold a file where a directory is, or below a file."""
    parts = path.split("/")
    for n in range(1, len(parts)):
        if "/".join(parts[:n]) in files:
            raise ApiError(400, "A file with this name already exists")
    prefix = path + "/"
    if any(other.startswith(prefix) for other in files):
        raise ApiError(400, "A directory with this name already exists")


def _tree_entries(
    files: dict[str, tuple[str, str]], base: str, recursive: bool
) -> list[dict[str, Any]]:
    prefix = base + "/" if base else ""
    trees: dict[str, list[str]] = {}
    blobs: list[dict[str, Any]] = []
    for path, (blob, _) in files.items():
        if not path.startswith(prefix):
            continue
        rest = path[len(prefix) :].split("/")
        depth = len(rest) if recursive else 1
        for n in range(1, min(depth, len(rest) - 1) + 1):
            trees.setdefault(prefix + "/".join(rest[:n]), []).append(blob)
        if len(rest) == 1 or recursive:
            blobs.append(_entry(path, blob, "blob", "100644"))
    entries = [
        _entry(path, _sha1("".join(sorted(ids)).encode()), "tree", "040000")
        for path, ids in trees.items()
    ]
    entries.sort(key=lambda e: e["path"].encode())
    blobs.sort(key=lambda e: e["path"].encode())
    return entries + blobs


def _entry(path: str, sha: str, kind: str, mode: str) -> dict[str, Any]:
    return {"id": sha, "name": path.rsplit("/", 1)[-1], "type": kind, "path": path, "mode": mode}


def _pieces(content: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(content), size):
        yield content[start : start + size]


def _cut_short(start_response: Any) -> Iterable[bytes]:
    """An answer that promises more than it sends: the server then drops the connection
    and the client's read fails mid-body (requests: ChunkedEncodingError)."""
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "4096")])
    return [b'{"id": "']


def _json(document: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(document), status=status, headers=headers, content_type="application/json"
    )


class FakeGitlabServer:
    """``FakeGitlab`` served by waitress on a free local port, in a daemon thread."""

    def __init__(self, token: str = "fake-token-do-not-log") -> None:
        import waitress.server

        self.fake = FakeGitlab(token)
        self._server = waitress.server.create_server(
            self.fake.app, host="127.0.0.1", port=0, threads=16, clear_untrusted_proxy_headers=True
        )
        self.url = f"http://127.0.0.1:{self._server.effective_port}"
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.close()
        self._thread.join(timeout=5)


_shared: FakeGitlabServer | None = None
_shared_lock = threading.Lock()


def shared_server() -> FakeGitlabServer:
    """One fake server per test process (each store gets its own project on it)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = FakeGitlabServer()
        return _shared


def make_store(**options: Any) -> GitlabStore:
    """A GitlabStore over a fresh project of the shared fake (quick retries)."""
    server = shared_server()
    project = server.fake.new_project()
    options.setdefault("retry", RetryPolicy(attempts=3, backoff=0.01, max_wait=0.05))
    return GitlabStore(server.url, server.fake.token, project.path, "main", **options)


def main(argv: list[str] | None = None) -> None:
    """Serve one fake in the foreground, for tests whose store runs in other processes
    (gunicorn workers): ``python -m tests.stores.fake_gitlab --port N --project PATH``."""
    import argparse

    import waitress

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--project", default="group/boxdrive")
    parser.add_argument("--token", default="fake-token-do-not-log")
    args = parser.parse_args(argv)
    fake = FakeGitlab(args.token)
    fake.new_project(args.project)
    waitress.serve(fake.app, host="127.0.0.1", port=args.port, threads=16)


if __name__ == "__main__":
    main()
