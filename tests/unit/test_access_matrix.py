"""The access matrix, in-process: every S3 operation of the dispatch table x who asks
(unsigned, another user, the owner, the admin) x anonymous mode off/on x bucket kind
(private, public ACLs, ANONYMOUS's, no owner) x store (memory, filesystem, a store that
records no owners). The rules and the requests are tests/access_rules.py."""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from boxdrive_wsgi.stores.base import ObjectStore
from boxdrive_wsgi.stores.filesystem import FilesystemStore
from boxdrive_wsgi.stores.memory import MemoryStore

from ..access_rules import (
    DESTRUCTIVE,
    KINDS,
    ON_UPLOAD,
    PRINCIPALS,
    OwnerlessStore,
    call_for,
    expected_allowed,
    flask_client,
    operation_names,
    prepare,
    send,
    verdict,
)

OPERATIONS = sorted(operation_names())
STORES = {
    "memory": lambda _: MemoryStore(),
    "filesystem": lambda path: FilesystemStore(path),
    "ownerless": lambda _: OwnerlessStore(),
}
#: An ownerless store holds only unowned buckets (the memory store's unowned buckets
#: would repeat it: the ownerless store is a memory store).
COMBINATIONS = [
    (store, kind)
    for store, kind in itertools.product(STORES, KINDS)
    if (store == "ownerless") == (kind == "unowned") or store == "filesystem"
]


@pytest.fixture(scope="module")
def stores() -> Iterator[dict[str, ObjectStore]]:
    # On tmpfs where there is one: the matrix is about access, and fsyncs on a shared
    # disk would make its thousands of writes slow. Multipart staging goes there too.
    fast = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(dir=fast) as root, pytest.MonkeyPatch.context() as mp:
        mp.setattr(tempfile, "tempdir", root)
        made = {name: make(Path(root) / name) for name, make in STORES.items()}
        yield made
        for store in made.values():
            store.close()


def test_the_matrix_covers_every_operation() -> None:
    assert len(OPERATIONS) == len(set(OPERATIONS)) >= 38
    assert {"ListBuckets", "PostObject", "CopyObject", "PreflightCors"} <= set(OPERATIONS)


@pytest.mark.parametrize("anonymous", [False, True], ids=["anonymous-off", "anonymous-on"])
@pytest.mark.parametrize(("store_name", "kind"), COMBINATIONS)
@pytest.mark.parametrize("principal", list(PRINCIPALS))
def test_access_matrix(
    stores: dict[str, ObjectStore], store_name: str, kind: str, anonymous: bool, principal: str
) -> None:
    store = stores[store_name]
    client = flask_client(store, anonymous=anonymous)
    user = PRINCIPALS[principal]
    wrong = []
    name = f"m-{kind[:3]}-{principal[:3]}-{int(anonymous)}"
    shared = prepare(store, name, kind)
    # Harmless operations share one bucket; the destructive ones come last, and where
    # the rules let them run, each runs on a bucket of its own.
    ordered = sorted(OPERATIONS, key=lambda op: op in DESTRUCTIVE)
    for number, operation in enumerate(ordered):
        allowed = expected_allowed(operation, principal, kind, anonymous)
        prepared = shared
        if allowed and operation in DESTRUCTIVE:
            prepared = prepare(store, f"{name}-{number}", kind, upload=operation in ON_UPLOAD)
        call = call_for(operation, prepared, user, host="localhost")
        response = send(client, call)
        got = verdict(call, response.status_code, response.get_data(), call.method)
        want = "allowed" if allowed else "denied"
        if got != want:
            wrong.append(f"{operation}: want {want}, got {got}")
    assert not wrong, "\n".join(wrong)
