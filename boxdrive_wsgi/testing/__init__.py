"""The store contract as a pytest kit: run every check the built-in stores pass against
your own ``ObjectStore``, from your own repository.

In a test module (its name matching ``Test*`` so pytest collects it)::

    import pytest
    from boxdrive_wsgi.testing import KnownGap, StoreContract
    from boxdrive_wsgi.stores import NotSupported

    class TestMyStore(StoreContract):
        known_gaps = {
            "test_conditional_delete": KnownGap("no atomic delete-if", raises=NotSupported),
        }

        @pytest.fixture
        def store_factory(self, tmp_path):
            return lambda: MyStore(tmp_path / "data")

Every check runs as ``TestMyStore::<check>[<params>]``. A known gap is a strict xfail:
when the store starts passing that check the run fails (XPASS), so a fixed gap is seen.

This package imports pytest (and hypothesis, for the listing checks): install the
``boxdrive-wsgi[testing]`` extra. Nothing else in boxdrive_wsgi imports it, so a server
never needs pytest. It is a plain module, not a pytest plugin: a plugin registered by
entry point would load into every pytest run wherever boxdrive-wsgi is installed.
"""

import pytest

# The checks are plain ``assert`` statements in modules pytest would not rewrite (they are not
# test files): registered before they are imported, a failing check shows the values compared.
pytest.register_assert_rewrite(
    "boxdrive_wsgi.testing.checks",
    "boxdrive_wsgi.testing.contract",
    "boxdrive_wsgi.testing.helpers",
)

from .contract import (  # noqa: E402 - after the registration above
    AREAS,
    KnownGap,
    StoreContract,
    StoreFactory,
    StoreFixtures,
    with_checks,
)

__all__ = ["AREAS", "KnownGap", "StoreContract", "StoreFactory", "StoreFixtures", "with_checks"]
