"""Metric values against numbers worked out by hand."""

import math

import numpy as np
import pytest

from ptune_exp.tasks.metrics import compute


def test_binary_metrics_by_hand():
    p, y = np.array([1, 0, 1, 1]), np.array([1, 0, 0, 1])
    # tp=2 fp=1 fn=0 tn=1: accuracy 3/4; F1 = 2*(2/3)*1/(2/3+1) = 0.8; MCC = (2*1-1*0)/sqrt(3*2*1*2)
    out = compute(("accuracy", "f1", "mcc"), p, y)
    assert out["accuracy"] == pytest.approx(75.0)
    assert out["f1"] == pytest.approx(80.0)
    assert out["mcc"] == pytest.approx(100 * 2 / math.sqrt(12), abs=1e-3)


def test_macro_f1_by_hand():
    p, y = np.array([0, 1, 2, 2]), np.array([0, 1, 1, 2])
    # class 0: F1 1; class 1: P 1 R 1/2 -> 2/3; class 2: P 1/2 R 1 -> 2/3
    assert compute(("macro_f1",), p, y)["macro_f1"] == pytest.approx(100 * (1 + 2 / 3 + 2 / 3) / 3, abs=1e-3)


def test_correlations_by_hand():
    p, y = np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0])
    # pearson = cov/(sd sd): deviations (-1,0,1) and (-4/3,-1/3,5/3): 3/sqrt(2*(42/9))
    out = compute(("pearson", "spearman"), p, y)
    assert out["pearson"] == pytest.approx(100 * 3 / math.sqrt(2 * 42 / 9), abs=1e-3)
    assert out["spearman"] == pytest.approx(100.0)
