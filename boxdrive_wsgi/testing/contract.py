"""``StoreContract``: every contract check as methods of one class a store's tests subclass.

The checks are written as plain functions in ``checks/<area>.py`` (one module per part of
the contract); ``with_checks`` installs them on a class as static methods, which pytest
collects like any test method. The class brings the fixtures the checks ask for
(``store``, ``bucket``, ``mp_store``) and turns ``known_gaps`` into strict xfails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import ClassVar, TypeVar

import pytest

from ..stores import ObjectStore
from .checks import (
    acl,
    buckets,
    copy_tags,
    encryption,
    etags,
    history,
    listing,
    multipart,
    objects,
    parts,
    reads,
    versioning,
    writes,
)
from .helpers import MIN_PART_SIZE

#: Every part of the contract, in the order its checks run.
AREAS: tuple[ModuleType, ...] = (
    buckets,
    objects,
    reads,
    writes,
    listing,
    multipart,
    parts,
    etags,
    copy_tags,
    acl,
    versioning,
    history,
    encryption,
)

StoreFactory = Callable[[], ObjectStore]


@dataclass(frozen=True)
class KnownGap:
    """A check a store is known to fail, and why.

    ``raises``: the failure must be this exception (e.g. ``NotSupported``); any other
    failure is a real one. The xfail is strict: once the store passes the check, the run
    fails (XPASS) until the gap is removed.
    """

    reason: str
    raises: type[BaseException] | tuple[type[BaseException], ...] | None = None


def check_names(cls: type) -> set[str]:
    """The checks ``cls`` collects (its ``test_*`` attributes, inherited ones included)."""
    return {name for name in dir(cls) if name.startswith("test_")}


def gap_for(gaps: Mapping[str, str | KnownGap], test_name: str) -> KnownGap | None:
    """The known gap for one collected test: by its full name (``check[param-id]``) or,
    for every parameter at once, by the check's name."""
    gap = gaps.get(test_name, gaps.get(test_name.partition("[")[0]))
    if gap is None or isinstance(gap, KnownGap):
        return gap
    return KnownGap(gap)


class StoreFixtures:
    """The fixtures the checks use, built on a ``store_factory`` fixture the subclass (or a
    conftest.py) provides: a zero-argument callable returning a fresh, empty store.

    ``known_gaps`` maps a check name (``"test_conditional_delete"``) or one parameter of it
    (``"test_odd_key_round_trip[1024-ascii]"``) to a reason string or a ``KnownGap``.
    """

    known_gaps: ClassVar[Mapping[str, str | KnownGap]] = {}

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        # A gap naming no check would never be run, so it could never be seen fixed.
        unknown = {name.partition("[")[0] for name in cls.known_gaps} - check_names(cls)
        if unknown:
            raise TypeError(f"{cls.__name__}.known_gaps names no check: {sorted(unknown)}")

    @pytest.fixture(autouse=True)
    def _known_gap(self, request: pytest.FixtureRequest) -> None:
        gap = gap_for(self.known_gaps, request.node.name)
        if gap is not None:
            mark = pytest.mark.xfail(strict=True, reason=gap.reason, raises=gap.raises)
            request.applymarker(mark)

    @pytest.fixture
    def store(self, store_factory: StoreFactory) -> Iterator[ObjectStore]:
        """A fresh, empty store; closed after the check."""
        instance = store_factory()
        try:
            yield instance
        finally:
            instance.close()

    @pytest.fixture
    def bucket(self, store: ObjectStore) -> str:
        """An empty bucket in ``store``."""
        name = "contract-bucket"
        store.create_bucket(name, owner="owner-1")
        return name

    @pytest.fixture
    def mp_store(self, store: ObjectStore) -> ObjectStore:
        """``store`` with a small minimum part size, so multipart checks stay fast."""
        store.multipart_min_part_size = MIN_PART_SIZE
        return store


C = TypeVar("C", bound=type)


def with_checks(*areas: ModuleType) -> Callable[[C], C]:
    """A class decorator installing the checks (``test_*`` functions) of ``areas``."""

    def install(cls: C) -> C:
        for area in areas:
            for name, check in vars(area).items():
                if not (name.startswith("test_") and callable(check)):
                    continue
                if name in vars(cls):
                    raise TypeError(f"two checks named {name} ({area.__name__})")
                setattr(cls, name, staticmethod(check))
        return cls

    return install


@with_checks(*AREAS)
class StoreContract(StoreFixtures):
    """Every check of the store contract. Subclass it as ``Test<YourStore>``, give it a
    ``store_factory`` fixture, and declare ``known_gaps``; see ``boxdrive_wsgi.testing``."""
