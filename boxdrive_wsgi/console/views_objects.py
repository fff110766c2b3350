"""The object browser: folders with breadcrumbs, pages by continuation token, search by
prefix, sort; details, download, delete (one or selected), share links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from flask import Blueprint, redirect, request, url_for
from werkzeug.wrappers import Response

from ..auth.presign import MAX_EXPIRES
from ..protocol.errors import S3Error
from ..protocol.tokens import decode_token, encode_token
from .state import ConsoleState, local_path, page, require_identity, session

#: Share link lifetimes offered (seconds -> label); S3 allows at most 7 days.
EXPIRIES = {3600: "1 hour", 86400: "1 day", 3 * 86400: "3 days", MAX_EXPIRES: "7 days"}
SORTS = ("name", "size", "modified")


@dataclass(frozen=True)
class Crumb:
    label: str
    prefix: str


def breadcrumbs(bucket: str, prefix: str) -> list[Crumb]:
    crumbs = [Crumb(bucket, "")]
    parts = prefix.split("/")[:-1] if prefix.endswith("/") else prefix.split("/")
    walked = ""
    for part in parts:
        if part or walked:  # keys may hold "//": an empty folder name is still a level
            walked += part + "/"
            crumbs.append(Crumb(part or "(empty)", walked))
    return crumbs


def register(blueprint: Blueprint, state: ConsoleState) -> None:
    gateway = state.gateway

    @blueprint.get("/b/<bucket>", endpoint="objects")
    def objects(bucket: str) -> tuple[str, int]:
        me = require_identity()
        prefix = request.args.get("prefix", "")
        search = request.args.get("search", "")
        token = request.args.get("token")
        sort = request.args.get("sort", "name")
        descending = request.args.get("order") == "desc"
        listing_prefix = prefix + search
        listed = gateway.page(me, bucket, listing_prefix, decode_token(token) if token else "")
        entries = list(listed.objects)
        if sort == "size":
            entries.sort(key=lambda o: o.size, reverse=descending)
        elif sort == "modified":
            entries.sort(key=lambda o: o.last_modified, reverse=descending)
        elif descending:
            entries.reverse()
        folders = sorted(listed.common_prefixes, reverse=descending and sort == "name")
        next_token = (
            encode_token(listed.last) if listed.is_truncated and listed.last is not None else None
        )
        return page(
            "objects.html",
            bucket=bucket,
            prefix=prefix,
            search=search,
            sort=sort if sort in SORTS else "name",
            descending=descending,
            folders=folders,
            entries=entries,
            next_token=next_token,
            paged=token is not None,
            crumbs=breadcrumbs(bucket, prefix),
            can_write=gateway.allowed(me, "PutObject", bucket),
            can_delete_bucket=gateway.allowed(me, "DeleteBucket", bucket),
        )

    @blueprint.get("/b/<bucket>/object", endpoint="object")
    def object_details(bucket: str) -> tuple[str, int]:
        me = require_identity()
        key = _key()
        info = gateway.head(me, bucket, key)
        folder = key.rpartition("/")[0] + "/" if "/" in key else ""
        return page(
            "object.html",
            bucket=bucket,
            info=info,
            tags=gateway.tags(me, info),
            folder=folder,
            crumbs=breadcrumbs(bucket, folder),
            expiries=EXPIRIES,
            can_delete=gateway.allowed(me, "DeleteObject", bucket, key),
        )

    @blueprint.get("/b/<bucket>/download", endpoint="download")
    def download(bucket: str) -> Response:
        me = require_identity()
        key = _key()
        gateway.check(me, "GetObject", bucket, key)  # fail here, not after the redirect
        name = key.rpartition("/")[2] or "download"
        disposition = f"attachment; filename*=UTF-8''{_rfc5987(name)}"
        url = gateway.presigned(
            me,
            "GET",
            bucket,
            key,
            expires=300,
            query=[("response-content-disposition", disposition)],
        )
        return redirect(url, code=303)

    @blueprint.get("/b/<bucket>/share", endpoint="share")
    def share(bucket: str) -> tuple[str, int]:
        me = require_identity()
        key = _key()
        try:
            expires = int(request.args.get("expires", "3600"))
        except ValueError:
            expires = 0
        if not 1 <= expires <= MAX_EXPIRES:
            raise S3Error("InvalidArgument", "A share link lasts from 1 second to 7 days.")
        gateway.check(me, "GetObject", bucket, key)
        url = gateway.presigned(me, "GET", bucket, key, expires=expires)
        return page(
            "share.html",
            bucket=bucket,
            key=key,
            url=url,
            lifetime=EXPIRIES.get(expires, f"{expires} seconds"),
            until=datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=expires),
            crumbs=breadcrumbs(bucket, key.rpartition("/")[0] + "/" if "/" in key else ""),
        )

    @blueprint.post("/b/<bucket>/delete", endpoint="delete_objects")
    def delete_objects(bucket: str) -> Response | tuple[str, int]:
        me = require_identity()
        keys = [k for k in request.form.getlist("key") if k]
        back = local_path(request.form.get("back")) or url_for(".objects", bucket=bucket)
        if not keys:
            session().flash("Select the objects to delete first.", "error")
            return redirect(back)
        if request.form.get("confirmed") != "yes":
            return page("delete_confirm.html", bucket=bucket, keys=keys, back=back)
        count = gateway.delete(me, bucket, keys)
        session().flash(f"Deleted {count} object{'s' if count != 1 else ''}.", "success")
        return redirect(back)


def _key() -> str:
    key = request.args.get("key", "")
    if not key:
        raise S3Error("InvalidArgument", "Which object? The key is missing.")
    return key


def _rfc5987(value: str) -> str:
    return quote(value, safe="")
