"""The store contract (boxdrive_wsgi.testing) over each real upstream, in the prefix
layout (every bucket of ours under a prefix of one upstream bucket: the layout for many
nodes). test_contract_1to1.py runs the bucket-facing checks in the 1:1 layout.

The checks are the kit's own; only the store differs. Gaps: the S3 store's own
(``S3_STORE_GAPS``, every lane) and each upstream's (conftest's ``GAPS``).
"""

from collections.abc import Iterator

import pytest

from boxdrive_wsgi.stores import ObjectStore
from boxdrive_wsgi.testing import StoreContract
from tests.stores.test_contract import S3_STORE_GAPS

from .conftest import listing_property, open_lane


class LaneContract(StoreContract):
    """Every check over one lane (``<upstream>-<layout>``); collected by its subclasses."""

    lane = ""
    known_gaps = S3_STORE_GAPS

    test_listing_matches_model = listing_property()

    @pytest.fixture
    def store(self) -> Iterator[ObjectStore]:
        with open_lane(self.lane) as instance:
            yield instance


class TestMotoPrefix(LaneContract):
    lane = "moto-prefix"


class TestRgwPrefix(LaneContract):
    lane = "rgw-prefix"
