"""A store over an upstream S3 service (boto3): ``store`` (``S3Store``), its native
multipart, the owner records, conditional writes and the boto3 plumbing."""

from .store import S3Store

__all__ = ["S3Store"]
