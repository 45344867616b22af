"""benchmarks/report.py prints the profile a benchmark kept beside the ratios; the
LeNet profile benchmark keeps one that the report can print."""

import json

import numpy as np

import gorgon as G
from benchmarks import report
from benchmarks.test_lenet_profile import profile_summary


def small_profile():
    g = G.Graph()
    x = G.matrix(g, G.Float32, (8, 4), name="x", value=np.ones((8, 4), np.float32))
    w = G.matrix(g, G.Float32, (4, 3), name="w", value=np.ones((4, 3), np.float32))
    G.sum(G.tanh(x @ w), name="total")
    m = G.TapeMachine(g, profile=True)
    m.run_all()
    m.run_all()
    return m.profile()


def test_the_report_prints_per_op_and_slowest_rows_beside_the_ratios():
    profile = small_profile()
    summary = json.loads(json.dumps(profile_summary(profile)))
    data = {"benchmarks": [
        {"stats": {"median": 0.02}, "extra_info": {"workload": "LeNet training step",
                                                   "implementation": "torch eager"}},
        {"stats": {"median": 0.03}, "extra_info": {"workload": "LeNet training step",
                                                   "implementation": "gorgon TapeMachine, profile=True",
                                                   "profile": summary}}]}
    text = report.markdown(data)
    assert "| LeNet training step | gorgon TapeMachine, profile=True | 30 ms | call |  | 1.50x |  |" in text
    assert "Profile of LeNet training step (gorgon TapeMachine, profile=True, 2 profiled runs" in text
    per_op = text.split("| op | instructions |")[1].split("| slowest instruction |")[0]
    assert [line.split("|")[1].strip() for line in per_op.strip().splitlines()[2:]] == \
        [r.op for r in profile.by_op()]
    matmul = next(r for r in profile.rows if r.op == "matmul")
    assert f"| {matmul.node} | matmul | " in text and f"| {matmul.gflops:.1f} |" in text
    assert summary["runs"] == 2 and len(summary["top"]) == len(profile.rows)
