"""The bucket-facing checks of the store contract over each real upstream in the 1:1
layout (our buckets are upstream buckets, owners in a record object in each): where the
two layouts differ. Objects, multipart and reads go through the same code in both and
run in test_contract.py (prefix layout) only, which keeps the lanes' CI time down.
Versioning runs here only: it is upstream's own, per upstream bucket (the prefix layout
declares none, which test_contract.py checks)."""

from collections.abc import Iterator

import pytest

from boxdrive_wsgi.stores import ObjectStore
from boxdrive_wsgi.testing import StoreFixtures, with_checks
from boxdrive_wsgi.testing.checks import acl, buckets, listing, objects, versioning

from .conftest import listing_property, open_lane


@with_checks(acl, buckets, listing, objects, versioning)
class OneToOneContract(StoreFixtures):
    """The bucket-facing checks over one 1:1 lane; collected by its subclasses."""

    lane = ""

    @pytest.fixture
    def store(self) -> Iterator[ObjectStore]:
        with open_lane(self.lane) as instance:
            yield instance


# after with_checks, which installs the kit's own
OneToOneContract.test_listing_matches_model = listing_property()  # type: ignore[attr-defined]


class TestMoto1to1(OneToOneContract):
    lane = "moto-1to1"


class TestRgw1to1(OneToOneContract):
    lane = "rgw-1to1"
