"""The bucket-facing modules of the store contract suite over each real upstream in the
1:1 layout (our buckets are upstream buckets, owners in a record object in each): where
the two layouts differ. Objects, multipart and reads go through the same code in both and
run in test_contract.py (prefix layout) only, which keeps the lanes' CI time down."""

from collections.abc import Iterator

import pytest

from boxdrive_wsgi.stores.s3 import S3Store
from tests.stores.test_contract_acl import *  # noqa: F403
from tests.stores.test_contract_buckets import *  # noqa: F403
from tests.stores.test_contract_listing import *  # noqa: F403
from tests.stores.test_contract_objects import *  # noqa: F403

from .conftest import LANES, open_lane

ONE_TO_ONE_LANES = [lane for lane in LANES if lane.endswith("-1to1")]


@pytest.fixture(params=ONE_TO_ONE_LANES, ids=ONE_TO_ONE_LANES)
def store(request: pytest.FixtureRequest) -> Iterator[S3Store]:
    with open_lane(str(request.param)) as instance:
        yield instance
