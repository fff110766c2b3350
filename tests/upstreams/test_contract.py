"""The store contract suite (tests/stores/test_contract_*) over each real upstream, in the
prefix layout (every bucket of ours under a prefix of one upstream bucket: the layout for
many nodes). test_contract_1to1.py runs the bucket-facing modules in the 1:1 layout.

The tests are the contract suite's own, imported as they are; only ``store`` differs.
"""

from collections.abc import Iterator

import pytest

from boxdrive_wsgi.stores.s3 import S3Store
from tests.stores.test_contract_acl import *  # noqa: F403
from tests.stores.test_contract_buckets import *  # noqa: F403
from tests.stores.test_contract_copy_tags import *  # noqa: F403
from tests.stores.test_contract_etags import *  # noqa: F403
from tests.stores.test_contract_listing import *  # noqa: F403
from tests.stores.test_contract_multipart import *  # noqa: F403
from tests.stores.test_contract_objects import *  # noqa: F403
from tests.stores.test_contract_parts import *  # noqa: F403
from tests.stores.test_contract_reads import *  # noqa: F403
from tests.stores.test_contract_writes import *  # noqa: F403

from .conftest import LANES, open_lane

# Replaces the ``store`` that test_contract_copy_tags brings (every local store).
PREFIX_LANES = [lane for lane in LANES if lane.endswith("-prefix")]


@pytest.fixture(params=PREFIX_LANES, ids=PREFIX_LANES)  # type: ignore[no-redef]
def store(request: pytest.FixtureRequest) -> Iterator[S3Store]:
    with open_lane(str(request.param)) as instance:
        yield instance
