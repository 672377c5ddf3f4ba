"""examples/train_adult.py trains: one epoch reaches the test AUC a linear model would."""

import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def test_adult_example_trains():
    adult = os.environ.get("EMBER_ADULT")
    if not adult:
        pytest.fail("EMBER_ADULT (the shared Adult data) is not set; ctest sets it")
    out = subprocess.run(
        [sys.executable, os.path.join(ROOT, "examples", "train_adult.py"), "--epochs", "2",
         "--data", adult], check=True, capture_output=True, text=True, timeout=120).stdout
    aucs = [float(x) for x in re.findall(r"test auc ([0-9.]+)", out)]
    losses = [float(x) for x in re.findall(r"train loss ([0-9.]+)", out)]
    assert len(aucs) == 2, out
    assert aucs[-1] > 0.88 and losses[1] < losses[0], out
