"""Keys: keyrings (0600 file, rotation, operator-given), data-key wrapping bound to its
context, the SSE-C fingerprint, and the ``kms`` / ``sse-master`` commands."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from boxdrive_wsgi.cli import main
from boxdrive_wsgi.encryption.keys import (
    KeyNotFound,
    key_fingerprint,
    master_keyring,
    matches_fingerprint,
    parse_key_list,
    unwrap_key,
    wrap_key,
)
from boxdrive_wsgi.encryption.kms import local_kms
from boxdrive_wsgi.encryption.segments import DecryptionError


def test_keyring_file_is_0600_and_rotation_keeps_old_keys(tmp_path: Path) -> None:
    ring = master_keyring(str(tmp_path), None, None)
    first_id, first = ring.current(create=True)
    path = tmp_path / "sse" / "master-keys.json"
    assert path.stat().st_mode & 0o777 == 0o600
    assert base64.b64encode(first).decode() in path.read_text()
    second_id = ring.add()
    assert second_id != first_id
    assert ring.current()[0] == second_id
    assert ring.get(first_id) == first  # old objects still unwrap
    with pytest.raises(KeyNotFound):
        ring.get("nope")


def test_operator_given_keys(tmp_path: Path) -> None:
    a, b = os.urandom(32), os.urandom(32)
    text = f"old:{base64.b64encode(a).decode()},new:{base64.b64encode(b).decode()}"
    ring = master_keyring(str(tmp_path), text, None)
    assert ring.current() == ("new", b) and ring.get("old") == a
    assert not (tmp_path / "sse").exists()  # nothing written
    with pytest.raises(ValueError):
        ring.add()
    keyfile = tmp_path / "keys"
    keyfile.write_text(text)
    assert master_keyring(str(tmp_path), None, str(keyfile)).current() == ("new", b)
    for bad in ("", "nocolon", f"k:{base64.b64encode(b'short').decode()}"):
        with pytest.raises(ValueError):
            parse_key_list(bad)


def test_in_memory_keyring_writes_nothing(tmp_path: Path) -> None:
    ring = master_keyring(str(tmp_path), None, None, in_memory=True)
    key_id, key = ring.current(create=True)
    assert ring.get(key_id) == key
    assert list(tmp_path.iterdir()) == []


def test_wrapped_key_is_bound_to_its_context() -> None:
    kek, data_key = os.urandom(32), os.urandom(32)
    wrapped = wrap_key(kek, data_key, b"bucket/key")
    assert unwrap_key(kek, wrapped, b"bucket/key") == data_key
    with pytest.raises(DecryptionError):
        unwrap_key(kek, wrapped, b"bucket/other")
    with pytest.raises(DecryptionError):
        unwrap_key(os.urandom(32), wrapped, b"bucket/key")
    with pytest.raises(DecryptionError):
        unwrap_key(kek, "not base64!", b"bucket/key")


def test_customer_key_fingerprint_is_salted() -> None:
    key = os.urandom(32)
    one, two = key_fingerprint(key), key_fingerprint(key)
    assert one != two  # salted: equal keys do not show
    assert matches_fingerprint(key, one) and matches_fingerprint(key, two)
    assert not matches_fingerprint(os.urandom(32), one)
    assert not matches_fingerprint(key, "garbage")
    assert base64.b64encode(key).decode() not in one


def test_kms_and_master_commands(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["--data-dir", str(tmp_path)]
    assert runner.invoke(main, ["kms", "create", "app-key", *args]).output == "app-key\n"
    again = runner.invoke(main, ["kms", "create", "app-key", *args])
    assert again.exit_code != 0 and "exists" in again.output
    assert runner.invoke(main, ["kms", "list", *args]).output == "app-key\n"
    kms = local_kms(str(tmp_path))
    assert kms.exists("app-key") and not kms.exists("other")
    wrapped = kms.wrap("app-key", b"k" * 32, b"ctx")
    assert kms.unwrap("app-key", wrapped, b"ctx") == b"k" * 32
    rotated = runner.invoke(main, ["sse-master", "rotate", *args]).output.strip()
    rotated_again = runner.invoke(main, ["sse-master", "rotate", *args]).output.strip()
    listed = runner.invoke(main, ["sse-master", "list", *args]).output.split()
    assert listed == [rotated, rotated_again]
