"""Presigned URLs for the browser's uploads: single PUTs and multipart uploads go
straight to the S3 API, signed with the user's keys (the S3 API authorizes them)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from werkzeug.wrappers import Response

from ..protocol.errors import S3Error
from ..protocol.numbers import parse_bounded
from .state import ConsoleState, require_identity

#: action -> (HTTP method, S3 operation checked before signing)
ACTIONS = {
    "put": ("PUT", "PutObject"),
    "create": ("POST", "CreateMultipartUpload"),
    "part": ("PUT", "UploadPart"),
    "complete": ("POST", "CompleteMultipartUpload"),
    "abort": ("DELETE", "AbortMultipartUpload"),
}
#: Upload URLs are used at once; a slow part still has an hour.
UPLOAD_URL_LIFETIME = 3600
MAX_PART_NUMBER = 10000


def register(blueprint: Blueprint, state: ConsoleState) -> None:
    gateway = state.gateway

    @blueprint.post("/api/presign", endpoint="presign")
    def presign() -> Response | tuple[Response, int]:
        me = require_identity()
        body: Any = request.get_json(silent=True)
        if not isinstance(body, dict):
            return jsonify(error="InvalidRequest", message="expected a JSON object"), 400
        bucket, key, action = (str(body.get(name) or "") for name in ("bucket", "key", "action"))
        if action not in ACTIONS or not bucket or not key:
            return jsonify(error="InvalidRequest", message="bucket, key and action"), 400
        method, operation = ACTIONS[action]
        query: list[tuple[str, str]] = []
        if action == "create":
            query.append(("uploads", ""))
        elif action != "put":
            upload_id = str(body.get("uploadId") or "")
            if not upload_id:
                return jsonify(error="InvalidRequest", message="uploadId is required"), 400
            if action == "part":
                number = parse_bounded(str(body.get("partNumber", "")), 1, MAX_PART_NUMBER)
                if number is None:
                    return jsonify(error="InvalidArgument", message="partNumber"), 400
                query.append(("partNumber", str(number)))
            query.append(("uploadId", upload_id))
        try:
            gateway.check(me, operation, bucket, key)
            url = gateway.presigned(
                me, method, bucket, key, expires=UPLOAD_URL_LIFETIME, query=query
            )
        except S3Error as error:
            return jsonify(error=error.code, message=error.message), error.status
        return jsonify(url=url, method=method)
