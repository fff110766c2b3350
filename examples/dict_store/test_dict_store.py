"""DictStore against the boxdrive-wsgi store contract: every check, one known gap.

Run it as a store author would, from this directory (its own pytest.ini, its own rootdir)::

    pip install 'boxdrive-wsgi[testing]'
    python3 -m pytest
"""

from __future__ import annotations

import pytest
from dict_store import DictStore

from boxdrive_wsgi.stores import NotSupported
from boxdrive_wsgi.testing import KnownGap, StoreContract, StoreFactory

NO_DELETE_IF = KnownGap("DictStore keeps the default delete_object_if", raises=NotSupported)


class TestDictStore(StoreContract):
    known_gaps = {
        "test_conditional_delete": NO_DELETE_IF,
        "test_conditional_delete_star_and_absent_keys": NO_DELETE_IF,
        "test_conditional_delete_never_removes_a_newer_version": NO_DELETE_IF,
    }

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        return DictStore
