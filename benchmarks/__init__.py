"""gorgon's benchmark suite (pytest-benchmark), peers measured in the same run."""
