"""The conformance kit: checks an op against its own samples.

`check_op(op)` runs every check on the samples the op's plugin registered;
`conformance_cases()` gives one case per (op, check, sample) for pytest to parametrize
over; `require_samples()` fails for ops without samples. A failed check raises
ConformanceError, whose message names the check, the op and the sample and ends with a
snippet that reproduces it. The checks (see CHECKS): inference, out_kernel, gradient,
lisp_agrees, float32, second_order for each Sample, errors for each ErrorSample.
"""

from gorgon.testing.kit import (CHECKS, CheckCase, check_op, conformance_cases, iter_checks,
                                load_samples, require_samples)
from gorgon.testing.report import CheckResult, ConformanceError
from gorgon.testing.samples import ErrorSample, Sample

__all__ = [
    "CHECKS", "CheckCase", "CheckResult", "ConformanceError", "ErrorSample", "Sample", "check_op",
    "conformance_cases", "iter_checks", "load_samples", "require_samples",
]
