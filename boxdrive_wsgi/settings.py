"""Settings: one dataclass, read from ``BOXDRIVE_*`` environment variables.

Every field is also a keyword argument of ``create_app``; the environment
variable is the field name upper-cased with the ``BOXDRIVE_`` prefix.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

PREFIX = "BOXDRIVE_"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Settings:
    #: ``filesystem``, ``memory`` or ``module:callable`` returning a store.
    store: str = "filesystem"
    #: filesystem store root.
    data_dir: str = "./data"
    #: filesystem store: bytes that must stay free (writes get 507 and readiness 503
    #: below it), and bytes preallocated in ``<data_dir>/reserve`` so that deletes
    #: work on a full disk (see stores/filesystem_space.py for both defaults).
    min_free_space: int = 64 * 1024 * 1024
    space_reserve: int = 16 * 1024 * 1024
    #: stores without native multipart: where the staged default keeps parts and upload
    #: records, shared by every worker process (default ``<data_dir>/multipart``).
    multipart_dir: str | None = None
    #: the first user's key pair.
    access_key: str | None = None
    secret_key: str | None = dataclasses.field(default=None, repr=False)
    #: JSON list of users (name, access_key, secret_key, optional id/display_name/email).
    users_file: str | None = None
    #: serve requests without credentials.
    anonymous: bool = False
    #: region reported by GetBucketLocation and used in SigV4 scopes.
    region: str = "us-east-1"
    #: base domain for virtual-host-style addressing (``bucket.<domain>``).
    domain: str | None = None
    #: one line per request on stderr (``text`` or ``json``); ``off`` disables it.
    access_log: str = "text"
    #: server access logging (PutBucketLogging): each process writes the records it
    #: gathered into the target bucket this many seconds after the first one (and at
    #: exit); S3 delivers within hours, RGW rolls every 300 s; tests use 1-5.
    logging_flush_seconds: int = 60
    #: Prometheus text at ``/-/metrics`` (see observability/metrics.py).
    metrics: bool = False
    #: put object keys into trace span attributes (off: keys may be personal data).
    otel_record_keys: bool = False
    #: proxies whose X-Forwarded-Host/-Proto/-Prefix/-For are honoured: comma-separated IPs
    #: or CIDRs (``*``: any peer, e.g. behind a unix socket); unset: none (see web/proxy.py).
    trusted_proxies: str | None = None
    #: nginx internal location prefix mapped to the filesystem store's root: GETs answer
    #: with X-Accel-Redirect and nginx sends the file (see web/x_accel.py); unset: off.
    x_accel_redirect: str | None = None
    #: GitLab store: instance URL, access token (scope ``api``), project id or path,
    #: branch, and the largest object it accepts (GitLab holds a commit in memory).
    gitlab_url: str | None = None
    gitlab_token: str | None = dataclasses.field(default=None, repr=False)
    gitlab_project: str | None = None
    gitlab_branch: str = "main"
    gitlab_max_object_size: int = 64 * 1024 * 1024
    #: S3 store (an upstream S3-compatible service): endpoint URL (unset: AWS), key pair,
    #: region (unset: ``region``), and optionally one upstream bucket holding every bucket
    #: under ``s3_prefix`` (unset: buckets map 1:1 onto upstream buckets).
    s3_endpoint_url: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: str | None = dataclasses.field(default=None, repr=False)
    s3_region: str | None = None
    s3_bucket: str | None = None
    s3_prefix: str = ""
    #: the web console (boxdrive_wsgi/console): on by default, at ``console_path``; its
    #: session cookies are signed with ``console_secret_key`` (unset: a random key kept
    #: in ``<data_dir>/console-secret``, mode 0600).
    console: bool = True
    console_path: str = "/-/console"
    console_secret_key: str | None = dataclasses.field(default=None, repr=False)
    #: S3 store: attempts per upstream call (1: no retry; each retry backs off, so a
    #: down upstream costs seconds per request), timeouts in seconds to connect and to
    #: wait for upstream's next bytes, and connections kept open to upstream per process.
    s3_max_attempts: int = 2
    s3_connect_timeout: int = 3
    s3_read_timeout: int = 30
    s3_max_connections: int = 64
    #: lifecycle rules: every this many seconds each server process tries to sweep (one
    #: sweeper at a time per data_dir, see boxdrive_wsgi/lifecycle); 0: never (run
    #: ``boxdrive-wsgi lifecycle run`` from cron or a systemd timer instead).
    lifecycle_interval: int = 0
    #: the length of a lifecycle "day" in seconds; shorter only for tests (as RGW's
    #: rgw_lc_debug_interval): then Days count plain seconds, not up to midnight UTC.
    lifecycle_day_seconds: int = 86400
    #: server-side encryption: SSE-S3 master keys as ``id:base64`` pairs (comma-separated,
    #: the last current) in the variable or a file; unset: ``<data_dir>/sse/master-keys.json``
    #: (0600, made on first use; ``boxdrive-wsgi sse-master rotate`` adds one).
    sse_master_key: str | None = dataclasses.field(default=None, repr=False)
    sse_master_key_file: str | None = None
    #: SSE-KMS without a key id: this key of the local KMS (``boxdrive-wsgi kms create``).
    sse_kms_default_key: str | None = None
    #: accept SSE-C keys over plain HTTP (S3 refuses them without TLS; a trusted TLS
    #: proxy counts as TLS). For tests and TLS-terminating setups not listed as proxies.
    sse_c_allow_http: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in fields(cls):
            raw = environ.get(PREFIX + field.name.upper())
            if raw is not None:
                values[field.name] = _convert(field, raw)
        unknown = set(overrides) - {f.name for f in fields(cls)}
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
        values.update(overrides)
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def _convert(field: dataclasses.Field[Any], raw: str) -> Any:
    if field.type in ("int", int):
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{PREFIX}{field.name.upper()}: expected an integer") from None
    if field.type in ("bool", bool):
        lowered = raw.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(f"{PREFIX}{field.name.upper()}: expected a boolean, got {raw!r}")
    return raw or None if field.default is None else raw
