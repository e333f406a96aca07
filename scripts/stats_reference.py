#!/usr/bin/env python3
"""Reference numbers for ctrad's reproducibility, selection and decision-curve
statistics (tests/stats_reference.rs).

Usage: stats_reference.py OUTDIR          (the committed copy is testdata/stats_reference/)

Needs, in a virtual environment:  pip install pingouin dcurves mrmr-selection scikit-learn
(pingouin brings scipy, pandas and statsmodels). The outputs are small and committed, so the
test suite needs no Python: rerun this script and commit its outputs when a reference
changes. The versions used are written into reference.json.

Writes into OUTDIR:
  icc_long.csv     40 subjects x 3 readers, long format (subject, reader, features):
                   f_reliable (small reader noise), f_noisy (large reader noise), f_bias
                   (reader 3 offset), f_missing (NaN values and a subject without reader 3),
                   f_const (every value 5)
  icc_wine.csv     pingouin's bundled "icc" data set (8 wines x 4 judges), shipped in the package
  dca.csv          300 patients: outcome y, probabilities p_model, p_coarse (rounded to 0.1, with
                   exact 0 and 1 values), p_weak
  select.csv       150 patients: outcome y, 12 features (x1 and x2 informative, x3 = x1 + noise,
                   ties in x7 and x8)
  reference.json   pingouin.intraclass_corr (ICC, F, df, p, CI95 unrounded) per feature and
                   rater set; dcurves.dca net benefits; scipy.stats.mannwhitneyu (asymptotic,
                   continuity-corrected, two-sided) and scipy.stats.false_discovery_control (BH)
                   p-values; mrmr.mrmr_classif ranking (F-statistic relevance, Pearson
                   redundancy, mean denominator); scikit-learn L1 LogisticRegression (saga)
                   coefficients along a lambda path on the z-scored features.
"""
import json
import os
import sys
from importlib.metadata import version

import numpy as np
import pandas as pd
import pingouin as pg
from dcurves import dca
from mrmr import mrmr_classif
from scipy.stats import false_discovery_control, mannwhitneyu
from sklearn.linear_model import LogisticRegression


def icc_reference(long, features, raters):
    out = {}
    sub = long[long["reader"].isin(raters)]
    for f in features:
        with np.errstate(all="ignore"):
            r = pg.intraclass_corr(
                data=sub, targets="subject", raters="reader", ratings=f, nan_policy="omit"
            )
        kept = sub.pivot_table(index="subject", columns="reader", values=f).dropna().shape[0]
        out[f] = {
            "n_subjects": int(kept),
            "rows": [
                {
                    "type": t,
                    "icc": float(i),
                    "f": float(F),
                    "df1": float(d1),
                    "df2": float(d2),
                    "p": float(p),
                    "ci": [float(c[0]), float(c[1])],
                }
                for t, i, F, d1, d2, p, c in zip(
                    r["Type"], r["ICC"], r["F"], r["df1"], r["df2"], r["pval"], r["CI95"]
                )
            ],
        }
    return out


def main(outdir):
    os.makedirs(outdir, exist_ok=True)
    pg.options["round"] = None
    for k in [k for k in pg.options if k.startswith("round.")]:
        del pg.options[k]
    rng = np.random.default_rng(20240611)
    ref = {
        "versions": {
            p: version(p)
            for p in ["pingouin", "dcurves", "mrmr-selection", "scikit-learn", "scipy", "numpy"]
        }
    }

    # --- ICC -------------------------------------------------------------------------
    n, k = 40, 3
    truth = rng.normal(100.0, 15.0, n)
    rows = []
    for i in range(n):
        for j in range(k):
            rows.append(
                {
                    "subject": f"S{i:03d}",
                    "reader": f"r{j + 1}",
                    "f_reliable": truth[i] + rng.normal(0.0, 3.0),
                    "f_noisy": 0.05 * truth[i] + rng.normal(0.0, 1.0),
                    "f_bias": 2.0 * truth[i] + (8.0 if j == 2 else 0.0) + rng.normal(0.0, 6.0),
                    "f_missing": truth[i] + rng.normal(0.0, 10.0),
                    "f_const": 5.0,
                }
            )
    long = pd.DataFrame(rows)
    long.loc[[5, 17, 60], "f_missing"] = np.nan
    long = long.drop(index=[3 * 33 + 2]).reset_index(drop=True)  # S033 lacks reader r3
    long.to_csv(os.path.join(outdir, "icc_long.csv"), index=False, float_format="%.17g")
    feats = ["f_reliable", "f_noisy", "f_bias", "f_missing"]
    ref["icc"] = {
        "r1,r2,r3": icc_reference(long, feats, ["r1", "r2", "r3"]),
        "r1,r2": icc_reference(long, feats, ["r1", "r2"]),
    }
    wine = pg.read_dataset("icc")
    wine.to_csv(os.path.join(outdir, "icc_wine.csv"), index=False)
    with np.errstate(all="ignore"):
        r = pg.intraclass_corr(data=wine, targets="Wine", raters="Judge", ratings="Scores")
    ref["icc_wine"] = [
        {"type": t, "icc": float(i), "ci": [float(c[0]), float(c[1])]}
        for t, i, c in zip(r["Type"], r["ICC"], r["CI95"])
    ]

    # --- DCA -------------------------------------------------------------------------
    m = 300
    x = rng.normal(0.0, 1.0, m)
    p_true = 1.0 / (1.0 + np.exp(-(-1.0 + 1.5 * x)))
    y = (rng.uniform(size=m) < p_true).astype(int)
    d = pd.DataFrame(
        {
            "y": y,
            "p_model": p_true,
            "p_coarse": np.clip(np.round(p_true + rng.normal(0, 0.15, m), 1), 0.0, 1.0),
            "p_weak": 1.0 / (1.0 + np.exp(-(-1.0 + 0.4 * x + rng.normal(0, 1.0, m)))),
        }
    )
    d.to_csv(os.path.join(outdir, "dca.csv"), index=False, float_format="%.17g")
    thresholds = [i / 100 for i in range(0, 100)]
    res = dca(data=d, outcome="y", modelnames=["p_model", "p_coarse", "p_weak"], thresholds=thresholds)
    res_prev = dca(
        data=d, outcome="y", modelnames=["p_model"], thresholds=thresholds, prevalence=0.2
    )

    def curves(r):
        out = {}
        for name, g in r.groupby("model"):
            g = g.sort_values("threshold")
            out[str(name)] = {
                "threshold": [float(v) for v in g["threshold"]],
                "net_benefit": [float(v) for v in g["net_benefit"]],
            }
        return out

    ref["dca"] = {"thresholds": thresholds, "curves": curves(res)}
    ref["dca_prevalence_0.2"] = curves(res_prev)

    # --- selection -------------------------------------------------------------------
    s = 150
    X = rng.normal(0.0, 1.0, (s, 12))
    X[:, 2] = X[:, 0] + rng.normal(0.0, 0.3, s)  # redundant copy of x1
    X[:, 6] = np.round(X[:, 6])  # ties
    X[:, 7] = np.round(2 * X[:, 7]) / 2
    X[:, 5] = X[:, 5] * 10 + 50
    lin = -0.3 + 1.2 * X[:, 0] - 0.8 * X[:, 1]
    ys = (rng.uniform(size=s) < 1.0 / (1.0 + np.exp(-lin))).astype(int)
    names = [f"x{j + 1}" for j in range(12)]
    sel = pd.DataFrame(X, columns=names)
    sel.insert(0, "y", ys)
    sel.insert(0, "study_id", [f"P{i:03d}" for i in range(s)])
    sel.to_csv(os.path.join(outdir, "select.csv"), index=False, float_format="%.17g")

    p_mw = []
    for c in names:
        a, b = sel.loc[sel.y == 1, c], sel.loc[sel.y == 0, c]
        p_mw.append(float(mannwhitneyu(a, b, alternative="two-sided", use_continuity=True, method="asymptotic").pvalue))
    ref["mann_whitney"] = {
        "features": names,
        "p": p_mw,
        "q_bh": [float(v) for v in false_discovery_control(p_mw, method="bh")],
    }
    ref["mrmr"] = {
        "K": 8,
        "selected": mrmr_classif(X=sel[names], y=sel["y"], K=8, show_progress=False, n_jobs=1),
    }

    # LASSO path on z-scored features (sample SD), objective loglik/n - lam*sum|b|,
    # which is scikit-learn's with C = 1/(n*lam).
    Z = (X - X.mean(0)) / X.std(0, ddof=1)
    lam_max = np.max(np.abs(Z.T @ (ys - ys.mean()))) / s
    path = []
    for frac in [0.8, 0.5, 0.3, 0.15, 0.08, 0.04, 0.02]:
        lam = lam_max * frac
        fit = LogisticRegression(
            C=1.0 / (s * lam), l1_ratio=1.0, solver="saga", tol=1e-14, max_iter=1_000_000
        ).fit(Z, ys)
        path.append(
            {
                "lambda": float(lam),
                "intercept": float(fit.intercept_[0]),
                "coef_z": [float(v) for v in fit.coef_[0]],
            }
        )
    ref["lasso_path"] = {"features": names, "lambda_max": float(lam_max), "path": path}

    with open(os.path.join(outdir, "reference.json"), "w") as fh:
        json.dump(ref, fh, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
