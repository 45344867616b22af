"""benchmarks/report.py explains the workloads of the run and every column, and pairs the
readable="all" and readable="lean" benchmarks into the readability cost table."""

import json

from benchmarks import report


def bench(workload, implementation, median, **info):
    return {"stats": {"median": median},
            "extra_info": {"workload": workload, "implementation": implementation, **info}}


DATA = {
    "machine_info": {"cpu": {"brand_raw": "Test CPU"}, "python_version": "3.11"},
    "benchmarks": [
        bench("W2 MLP step", "gorgon TapeMachine", 0.010),
        bench("W2 MLP step", "numpy floor", 0.020),
        bench("readable cost: W2 MLP step", "gorgon TapeMachine readable=all", 0.012,
              readable="all", cost_of="W2 MLP step", buffer_bytes=3 * 2**20),
        bench("readable cost: W2 MLP step", "gorgon TapeMachine readable=lean", 0.010,
              readable="lean", cost_of="W2 MLP step", buffer_bytes=2 * 2**20),
        bench("readable cost: W4 LSTM step", "gorgon TapeMachine readable=all", 0.5,
              readable="all", cost_of="W4 LSTM step", buffer_bytes=2**20),
    ],
}


def test_the_header_defines_the_workloads_present_and_every_column():
    text = report.markdown(DATA)
    assert "- W2: one training step of an MLP 784-512-256-10" in text
    assert "- W4:" in text and "- W1:" not in text and "- LeNet:" not in text
    for column in ("median:", "per:", "vs numpy floor:", "vs torch:", "GFLOP/s:"):
        assert f"- {column}" in text
    assert "| W2 MLP step | gorgon TapeMachine | 10 ms | call | 0.50x |  |  |" in text


def test_the_readable_cost_table_pairs_all_with_lean_and_leaves_the_main_table():
    text = report.markdown(DATA)
    assert "| W2 MLP step | 3.00 MiB | 2.00 MiB | 1.50x | 12 ms | 10 ms | 1.20x |" in text
    assert "readable=all |" not in text.split("| readable cost |")[0]
    assert "| W4 LSTM step | 1.00 MiB" not in text  # no lean partner measured


def test_main_prints_the_report_of_a_json_file(tmp_path, capsys):
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(DATA))
    assert report.main([str(path)]) == 0
    assert capsys.readouterr().out == report.markdown(DATA)
