"""hello-Flask: the ceiling a Flask app reaches under a given WSGI server (bench/perf.py).

GET and HEAD of any path answer 4 KiB; PUT reads the body and answers 200 with an ETag,
like the smallest S3 PUT could.
"""

from __future__ import annotations

from flask import Flask, Response, request

BODY = b"x" * 4096

app = Flask(__name__)


@app.route("/", defaults={"path": ""}, methods=["GET", "HEAD", "PUT"])
@app.route("/<path:path>", methods=["GET", "HEAD", "PUT"])
def hello(path: str) -> Response:
    if request.method == "PUT":
        request.get_data()
        return Response(b"", headers={"ETag": '"0"'})
    return Response(BODY, content_type="application/octet-stream")
