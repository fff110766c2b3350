"""Buckets: the list with objects and bytes, create, delete (empty only, confirmed)."""

from __future__ import annotations

from flask import Blueprint, redirect, request, url_for
from werkzeug.wrappers import Response

from ..protocol.errors import S3Error
from ..stores.base import BucketAlreadyExists, BucketNotEmpty
from .state import ConsoleState, page, require_identity, session
from .usage import bucket_usage


def register(blueprint: Blueprint, state: ConsoleState) -> None:
    gateway = state.gateway

    @blueprint.get("/buckets", endpoint="buckets")
    def buckets() -> tuple[str, int]:
        me = require_identity()
        listed = gateway.buckets(me)
        usage = bucket_usage(gateway.store, [b.name for b in listed])
        return page("buckets.html", buckets=listed, usage=usage)

    @blueprint.post("/buckets", endpoint="create_bucket")
    def create_bucket() -> Response:
        me = require_identity()
        name = request.form.get("name", "").strip()
        try:
            gateway.create_bucket(me, name)
        except BucketAlreadyExists as exists:
            mine = exists.owner == me.id
            session().flash(
                f"You already have a bucket named {name}."
                if mine
                else f"The name {name} is taken. Bucket names are shared by all users.",
                "error",
            )
            return redirect(url_for(".buckets"))
        except S3Error as error:
            if error.code != "InvalidBucketName":
                raise
            session().flash(
                f"{name!r} is not a valid bucket name: 3 to 63 lower-case letters, digits, "
                "dots and hyphens, starting and ending with a letter or digit.",
                "error",
            )
            return redirect(url_for(".buckets"))
        session().flash(f"Bucket {name} created.", "success")
        return redirect(url_for(".objects", bucket=name))

    @blueprint.get("/buckets/<bucket>/delete", endpoint="confirm_delete_bucket")
    def confirm_delete_bucket(bucket: str) -> tuple[str, int]:
        me = require_identity()
        gateway.check(me, "DeleteBucket", bucket)
        first = gateway.page(me, bucket, "", "", size=1)
        empty = not first.objects and not first.common_prefixes
        return page("bucket_delete.html", bucket=bucket, empty=empty)

    @blueprint.post("/buckets/<bucket>/delete", endpoint="delete_bucket")
    def delete_bucket(bucket: str) -> Response:
        me = require_identity()
        if request.form.get("confirm") != bucket:
            session().flash("Type the bucket's name to confirm.", "error")
            return redirect(url_for(".confirm_delete_bucket", bucket=bucket))
        try:
            gateway.delete_bucket(me, bucket)
        except BucketNotEmpty:
            session().flash(f"Bucket {bucket} is not empty: delete its objects first.", "error")
            return redirect(url_for(".objects", bucket=bucket))
        session().flash(f"Bucket {bucket} deleted.", "success")
        return redirect(url_for(".buckets"))
