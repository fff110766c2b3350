"""The Flask-facing layer under the operations: the request context, request bodies,
access control, store errors as S3 errors, and the ways a GetObject body leaves the
app (the server's file wrapper, nginx X-Accel-Redirect); the trusted-proxy middleware.

What is pure S3 (no request object) lives in ``protocol/`` and ``auth/``; the handlers
that use these helpers live in ``operations/``; the blueprint above them all.
"""
