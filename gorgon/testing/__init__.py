"""The conformance kit: checks an op against its own samples (see `check_op`)."""

from gorgon.testing.samples import ErrorSample, Sample

__all__ = ["ErrorSample", "Sample"]
