"""The conformance kit over every registered op: one test per (op, check, sample), and
one that fails for any op without samples."""

import pytest

from gorgon.testing import conformance_cases, require_samples

CASES = conformance_cases()


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_op_conforms(case):
    result = case.run()
    if result.status == "skipped":
        pytest.skip(result.detail)


def test_every_op_has_samples():
    require_samples()
