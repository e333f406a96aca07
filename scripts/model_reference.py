#!/usr/bin/env python3
"""Reference numbers for ctrad's logistic models (tests/model_reference.rs).

Usage: model_reference.py OUTDIR

Writes into OUTDIR:
  spector.csv, synthetic.csv         the data sets (ctrad fits the same files)
  reference.json                     statsmodels Logit coefficients and SEs,
                                     sklearn roc_auc_score, DeLong 95 % CI

Data sets:
  1. statsmodels.datasets.spector (Spector & Mazzeo 1980; 32 students; GRADE ~ GPA + TUCE + PSI),
     shipped inside the statsmodels package (no download).
  2. A synthetic cohort with known coefficients, generated deterministically here
     (numpy PCG64, seed 20240611): n = 400, x1 ~ N(0,1), x2 ~ U(0,10), x3 ~ Bernoulli(0.4),
     logit p = -1 + 0.8 x1 - 0.15 x2 + 1.2 x3. Scores are rounded to create ties for the AUC test.

DeLong: implemented here independently with numpy following Sun & Xu (2014), "Fast
implementation of DeLong's algorithm" (midranks; V10, V01; Var = S10/m + S01/n),
95 % CI = AUC +/- 1.959964 * SE on the AUC scale (no logit transform), clipped to [0, 1].
"""
import json
import os
import sys

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.stats import norm
from sklearn.metrics import roc_auc_score


def midrank(x):
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    n = len(x)
    ranks = np.zeros(n)
    i = 0
    while i < n:
        j = i
        while j < n and xs[j] == xs[i]:
            j += 1
        ranks[i:j] = 0.5 * (i + j - 1) + 1
        i = j
    out = np.empty(n)
    out[order] = ranks
    return out


def fast_delong(scores, y):
    pos = scores[y == 1]
    neg = scores[y == 0]
    m, n = len(pos), len(neg)
    tx = midrank(pos)
    ty = midrank(neg)
    tz = midrank(np.concatenate([pos, neg]))
    auc = (tz[:m].sum() - m * (m + 1) / 2) / (m * n)
    v10 = (tz[:m] - tx) / n
    v01 = 1.0 - (tz[m:] - ty) / m
    var = np.var(v10, ddof=1) / m + np.var(v01, ddof=1) / n
    z = norm.ppf(0.975)
    lo, hi = auc - z * np.sqrt(var), auc + z * np.sqrt(var)
    return auc, var, [max(lo, 0.0), min(hi, 1.0)]


def logit_ref(df, outcome, predictors):
    X = sm.add_constant(df[predictors].astype(float), has_constant="add")
    res = sm.Logit(df[outcome].astype(float), X).fit(method="newton", tol=1e-14, maxiter=200, disp=0)
    lp = X.values @ res.params.values
    y = df[outcome].values.astype(int)
    auc_sk = roc_auc_score(y, lp)
    auc, var, ci = fast_delong(lp, y)
    return {
        "outcome": outcome,
        "predictors": predictors,
        "intercept": float(res.params["const"]),
        "intercept_se": float(res.bse["const"]),
        "coefficients": {p: float(res.params[p]) for p in predictors},
        "std_errors": {p: float(res.bse[p]) for p in predictors},
        "log_likelihood": float(res.llf),
        "aic": float(res.aic),
        "auc_sklearn": float(auc_sk),
        "auc_delong": float(auc),
        "delong_var": float(var),
        "auc_ci_delong": [float(ci[0]), float(ci[1])],
    }


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    spector = sm.datasets.spector.load_pandas().data
    spector.insert(0, "study_id", [f"S{i:02d}" for i in range(len(spector))])
    spector.to_csv(os.path.join(out, "spector.csv"), index=False)

    rng = np.random.Generator(np.random.PCG64(20240611))
    n = 400
    x1 = np.round(rng.normal(size=n), 2)
    x2 = np.round(rng.uniform(0, 10, size=n), 1)
    x3 = (rng.uniform(size=n) < 0.4).astype(int)
    eta = -1.0 + 0.8 * x1 - 0.15 * x2 + 1.2 * x3
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(int)
    syn = pd.DataFrame({"study_id": [f"P{i:03d}" for i in range(n)], "x1": x1, "x2": x2, "x3": x3, "y": y})
    syn.to_csv(os.path.join(out, "synthetic.csv"), index=False, float_format="%.17g")

    ref = {
        "spector": logit_ref(spector, "GRADE", ["GPA", "TUCE", "PSI"]),
        "synthetic": logit_ref(syn, "y", ["x1", "x2", "x3"]),
    }
    # Ties: AUC/DeLong of a coarse score (x2 alone, rounded to integers) on the synthetic outcome.
    coarse = np.round(syn["x2"].values)
    a, v, ci = fast_delong(-coarse, syn["y"].values)
    ref["ties"] = {
        "auc_sklearn": float(roc_auc_score(syn["y"].values, -coarse)),
        "auc_delong": float(a),
        "auc_ci_delong": [float(ci[0]), float(ci[1])],
    }
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(ref, f, indent=2)


if __name__ == "__main__":
    main()
