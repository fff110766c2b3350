"""``StoreProxy``: an ObjectStore in front of another, forwarding every call.

Every public method of the interface, present and future, goes through ``_call``, which
a subclass overrides to observe calls (tracing spans, counting in tests); attributes
a store has beyond the interface (``root``, ``find_orphans``, ...) come from the inner
store, and ``capabilities`` / ``multipart_min_part_size`` read and write the inner's.
The methods are set on the class after it is defined, so type checkers still think
it abstract: instantiate a subclass with ``# type: ignore[abstract]``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .base import Capabilities, ObjectStore


class StoreProxy(ObjectStore):
    def __init__(self, inner: ObjectStore) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _call(self, name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
        """Run the inner store's ``name``; overridden to observe calls."""
        return getattr(self.inner, name)(*args, **kwargs)

    @property
    def capabilities(self) -> Capabilities:
        return self.inner.capabilities

    @capabilities.setter
    def capabilities(self, value: Capabilities) -> None:
        self.inner.capabilities = value

    @property
    def multipart_min_part_size(self) -> int:
        return self.inner.multipart_min_part_size

    @multipart_min_part_size.setter
    def multipart_min_part_size(self, value: int) -> None:
        self.inner.multipart_min_part_size = value


def _forward(name: str) -> Callable[..., Any]:
    def method(self: StoreProxy, *args: Any, **kwargs: Any) -> Any:
        return self._call(name, args, kwargs)

    method.__name__ = name
    return method


for _name, _value in list(vars(ObjectStore).items()):
    if callable(_value) and not _name.startswith("_"):
        setattr(StoreProxy, _name, _forward(_name))
StoreProxy.__abstractmethods__ = frozenset()
