"""Put/Get/DeleteBucketEncryption: the bucket's default encryption (a bucket
configuration slot), applied to writes that ask for none."""

from __future__ import annotations

import json

from flask import Response

from ..encryption.sse import AES256, CONFIG, KMS
from ..protocol import xml
from ..protocol.documents import SERVER_SIDE_ENCRYPTION_CONFIGURATION
from ..protocol.errors import S3Error
from ..web.body import read_small_body
from ..web.context import S3Request, empty_response, xml_response

NOT_FOUND = "ServerSideEncryptionConfigurationNotFoundError"


def parse_configuration(body: bytes) -> dict[str, str]:
    root = xml.parse(body, SERVER_SIDE_ENCRYPTION_CONFIGURATION)
    rules = root.findall("Rule")
    if root.tag != "ServerSideEncryptionConfiguration" or len(rules) != 1:
        raise S3Error("MalformedXML")
    default = rules[0].find("ApplyServerSideEncryptionByDefault")
    if default is None:
        raise S3Error("MalformedXML")
    algorithm = xml.child_text(default, "SSEAlgorithm")
    if algorithm not in (AES256, KMS):
        raise S3Error("MalformedXML", "The SSEAlgorithm is not valid")
    config = {"algorithm": algorithm}
    key_id = xml.child_text(default, "KMSMasterKeyID")
    if key_id:
        if algorithm != KMS:
            raise S3Error("InvalidArgument", "a KMSMasterKeyID needs SSEAlgorithm aws:kms")
        config["key_id"] = key_id
    if (xml.child_text(rules[0], "BucketKeyEnabled") or "").strip().lower() == "true":
        config["bucket_key"] = "true"
    return config


def put_bucket_encryption(s3: S3Request) -> Response:
    body = read_small_body(s3.request, SERVER_SIDE_ENCRYPTION_CONFIGURATION, signer=s3.chunk_signer)
    config = parse_configuration(body)
    s3.store.put_bucket_config(s3.bucket_name, CONFIG, json.dumps(config).encode())
    return empty_response(200)


def get_bucket_encryption(s3: S3Request) -> Response:
    stored = s3.store.get_bucket_config(s3.bucket_name, CONFIG)
    if stored is None:
        raise S3Error(
            NOT_FOUND,
            "The server side encryption configuration was not found",
            extra={"BucketName": s3.bucket_name},
        )
    config = json.loads(stored)
    default: list[tuple[str, xml.Value]] = [("SSEAlgorithm", config["algorithm"])]
    if "key_id" in config:
        default.append(("KMSMasterKeyID", config["key_id"]))
    rule: list[tuple[str, xml.Value]] = [("ApplyServerSideEncryptionByDefault", default)]
    rule.append(("BucketKeyEnabled", "true" if config.get("bucket_key") else "false"))
    return xml_response("ServerSideEncryptionConfiguration", [("Rule", rule)])


def delete_bucket_encryption(s3: S3Request) -> Response:
    s3.store.put_bucket_config(s3.bucket_name, CONFIG, None)
    return empty_response(204)
