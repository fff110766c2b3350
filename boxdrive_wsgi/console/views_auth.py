"""Log in with an access key and secret (checked against the same users as SigV4), log out."""

from __future__ import annotations

import hmac

from flask import Blueprint, redirect, request, url_for
from werkzeug.wrappers import Response

from .state import ConsoleState, identity, local_path, page, session


def register(blueprint: Blueprint, state: ConsoleState) -> None:
    @blueprint.get("/", endpoint="index")
    def index() -> Response:
        return redirect(url_for(".buckets"))

    @blueprint.route("/login", methods=["GET", "POST"], endpoint="login")
    def login() -> Response | tuple[str, int]:
        target = local_path(request.values.get("next"))
        if request.method == "GET":
            if identity() is not None:
                return redirect(target or url_for(".buckets"))
            return page("login.html", next=target)
        access_key = request.form.get("access_key", "").strip()
        secret = request.form.get("secret_key", "")
        user = state.credentials.lookup(access_key) if access_key else None
        # Compare even for unknown keys, so that the answer's timing tells nothing.
        expected = user.secret_key if user is not None else "\0" * 40
        if user is None or not hmac.compare_digest(secret.encode(), expected.encode()):
            return page(
                "login.html",
                401,
                next=target,
                access_key=access_key,
                error="The access key or the secret key is wrong.",
            )
        session().log_in(user.access_key)  # a new session id and CSRF token
        return redirect(target or url_for(".buckets"))

    @blueprint.post("/logout", endpoint="logout")
    def logout() -> Response:
        session().log_out()
        session().flash("You are logged out.")
        return redirect(url_for(".login"))
