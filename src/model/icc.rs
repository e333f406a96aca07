//! Intraclass correlation (Shrout & Fleiss 1979; McGraw & Wong 1996) of every
//! feature of a long table in which each subject was measured by several raters
//! (two readers' contours, or perturbed repeats of one contour).
//!
//! For one feature the complete subjects form an n × k matrix x (subjects ×
//! raters). With the grand mean g, subject means mᵢ and rater means cⱼ:
//!
//! * MSB = k·Σᵢ(mᵢ − g)²/(n − 1) (between subjects),
//! * MSJ = n·Σⱼ(cⱼ − g)²/(k − 1) (between raters),
//! * MSE = Σᵢⱼ(xᵢⱼ − mᵢ − cⱼ + g)²/((n − 1)(k − 1)) (residual),
//! * MSW = Σᵢⱼ(xᵢⱼ − mᵢ)²/(n(k − 1)) (within subjects).
//!
//! | type  | McGraw & Wong | ICC |
//! |-------|---------------|-----|
//! | ICC1  | ICC(1,1)  | (MSB − MSW)/(MSB + (k−1)MSW) |
//! | ICC2  | ICC(A,1)  | (MSB − MSE)/(MSB + (k−1)MSE + k(MSJ − MSE)/n) |
//! | ICC3  | ICC(C,1)  | (MSB − MSE)/(MSB + (k−1)MSE) |
//! | ICC1k | ICC(1,k)  | (MSB − MSW)/MSB |
//! | ICC2k | ICC(A,k)  | (MSB − MSE)/(MSB + (MSJ − MSE)/n) |
//! | ICC3k | ICC(C,k)  | (MSB − MSE)/MSB |
//!
//! ICC2 (two-way random effects, absolute agreement, single rater) is the form
//! radiomics reproducibility studies usually report.
//!
//! 95 % confidence intervals from the F distribution (McGraw & Wong 1996, table 7):
//! with F₁ = MSB/MSW on (n−1, n(k−1)) df and F₃ = MSB/MSE on (n−1, (n−1)(k−1)) df,
//! F_L = F/F₀.₉₇₅(df₁, df₂), F_U = F·F₀.₉₇₅(df₂, df₁); ICC1 and ICC3 bounds are
//! (F_L − 1)/(F_L + k − 1) and (F_U − 1)/(F_U + k − 1), ICC1k and ICC3k bounds
//! 1 − 1/F_L and 1 − 1/F_U. ICC2 uses Satterthwaite's degrees of freedom
//! v = (n−1)(k−1)(kρF_J + n(1 + (k−1)ρ) − kρ)² / ((n−1)k²ρ²F_J² + (n(1 + (k−1)ρ) − kρ)²)
//! with ρ = ICC2 and F_J = MSJ/MSE, then
//! L = n(MSB − F*MSE)/(F*(kMSJ + (kn − k − n)MSE) + nMSB) with F* = F₀.₉₇₅(n−1, v),
//! U = n(F**MSB − MSE)/(kMSJ + (kn − k − n)MSE + nF**MSB) with F** = F₀.₉₇₅(v, n−1);
//! ICC2k bounds are L·k/(1 + (k−1)L) and U·k/(1 + (k−1)U). These are the
//! formulas of pingouin's `intraclass_corr` and R psych's `ICC`, and the values
//! equal pingouin's (tests/stats_reference.rs).
//!
//! Subjects lacking a rater, or with a missing value, are dropped per feature.
//! A feature whose values are all equal keeps its six rows with NaN and the
//! reason in `note`, as do other degenerate cases (fewer than two subjects).

use super::data::{ColumnData, Table};
use super::stats::{f_ppf, f_sf};
use crate::error::{Error, Result};
use std::collections::BTreeMap;

/// The six Shrout–Fleiss forms, in output order.
pub const ICC_TYPES: [&str; 6] = ["ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k"];

/// One ICC form of one feature (non-finite values, e.g. F when the residual
/// variance is zero, are NaN and the result's note says why).
#[derive(Debug, Clone, PartialEq)]
pub struct IccValue {
    /// One of [`ICC_TYPES`].
    pub kind: &'static str,
    pub icc: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// F statistic of the test ICC = 0, its degrees of freedom and p-value.
    pub f: f64,
    pub df1: f64,
    pub df2: f64,
    pub p_value: f64,
}

/// The six ICCs of one n × k matrix, and a note when something is degenerate.
#[derive(Debug, Clone)]
pub struct IccResult {
    pub values: Vec<IccValue>,
    pub note: Option<String>,
}

fn nan_result(note: String) -> IccResult {
    IccResult {
        values: ICC_TYPES
            .iter()
            .map(|&kind| IccValue {
                kind,
                icc: f64::NAN,
                ci_low: f64::NAN,
                ci_high: f64::NAN,
                f: f64::NAN,
                df1: f64::NAN,
                df2: f64::NAN,
                p_value: f64::NAN,
            })
            .collect(),
        note: Some(note),
    }
}

/// ICCs of complete ratings: `x[i][j]` is subject i rated by rater j (every row has k values).
pub fn icc(x: &[Vec<f64>]) -> IccResult {
    let n = x.len();
    let k = x.first().map_or(0, Vec::len);
    if n < 2 || k < 2 {
        return nan_result(format!(
            "needs at least 2 complete subjects and 2 raters (has {n} and {k})"
        ));
    }
    let (nf, kf) = (n as f64, k as f64);
    let g = x.iter().flatten().sum::<f64>() / (nf * kf);
    let m: Vec<f64> = x.iter().map(|r| r.iter().sum::<f64>() / kf).collect();
    let c: Vec<f64> = (0..k)
        .map(|j| x.iter().map(|r| r[j]).sum::<f64>() / nf)
        .collect();
    let ssb = kf * m.iter().map(|v| (v - g) * (v - g)).sum::<f64>();
    let ssj = nf * c.iter().map(|v| (v - g) * (v - g)).sum::<f64>();
    let mut sse = 0.0;
    let mut ssw = 0.0;
    for (i, r) in x.iter().enumerate() {
        for (j, v) in r.iter().enumerate() {
            let e = v - m[i] - c[j] + g;
            sse += e * e;
            ssw += (v - m[i]) * (v - m[i]);
        }
    }
    if ssb == 0.0 && ssw == 0.0 {
        return nan_result("constant: every value is the same".into());
    }
    let msb = ssb / (nf - 1.0);
    let msj = ssj / (kf - 1.0);
    let mse = sse / ((nf - 1.0) * (kf - 1.0));
    let msw = ssw / (nf * (kf - 1.0));

    let icc1 = (msb - msw) / (msb + (kf - 1.0) * msw);
    let icc2 = (msb - mse) / (msb + (kf - 1.0) * mse + kf * (msj - mse) / nf);
    let icc3 = (msb - mse) / (msb + (kf - 1.0) * mse);
    let icc1k = (msb - msw) / msb;
    let icc2k = (msb - mse) / (msb + (msj - mse) / nf);
    let icc3k = (msb - mse) / msb;

    let q = 0.975;
    let df1 = nf - 1.0;
    let df1kd = nf * (kf - 1.0);
    let df2kd = (nf - 1.0) * (kf - 1.0);
    let f1 = msb / msw;
    let f3 = msb / mse;
    let p1 = f_sf(f1, df1, df1kd);
    let p3 = f_sf(f3, df1, df2kd);
    let f1l = f1 / f_ppf(q, df1, df1kd);
    let f1u = f1 * f_ppf(q, df1kd, df1);
    let f3l = f3 / f_ppf(q, df1, df2kd);
    let f3u = f3 * f_ppf(q, df2kd, df1);
    let (l1, u1) = (
        (f1l - 1.0) / (f1l + kf - 1.0),
        (f1u - 1.0) / (f1u + kf - 1.0),
    );
    let (l3, u3) = (
        (f3l - 1.0) / (f3l + kf - 1.0),
        (f3u - 1.0) / (f3u + kf - 1.0),
    );
    let fj = msj / mse;
    let a = nf * (1.0 + (kf - 1.0) * icc2) - kf * icc2;
    let vn = df2kd * (kf * icc2 * fj + a).powi(2);
    let vd = df1 * kf * kf * icc2 * icc2 * fj * fj + a * a;
    let v = vn / vd;
    let f2u = f_ppf(q, nf - 1.0, v);
    let f2l = f_ppf(q, v, nf - 1.0);
    let denom = kf * msj + (kf * nf - kf - nf) * mse;
    let l2 = nf * (msb - f2u * mse) / (f2u * denom + nf * msb);
    let u2 = nf * (f2l * msb - mse) / (denom + nf * f2l * msb);
    let avg = |r: f64| r * kf / (1.0 + (kf - 1.0) * r);

    let raw = [
        ("ICC1", icc1, l1, u1, f1, df1kd, p1),
        ("ICC2", icc2, l2, u2, f3, df2kd, p3),
        ("ICC3", icc3, l3, u3, f3, df2kd, p3),
        (
            "ICC1k",
            icc1k,
            1.0 - 1.0 / f1l,
            1.0 - 1.0 / f1u,
            f1,
            df1kd,
            p1,
        ),
        ("ICC2k", icc2k, avg(l2), avg(u2), f3, df2kd, p3),
        (
            "ICC3k",
            icc3k,
            1.0 - 1.0 / f3l,
            1.0 - 1.0 / f3u,
            f3,
            df2kd,
            p3,
        ),
    ];
    let fin = |v: f64| if v.is_finite() { v } else { f64::NAN };
    let values: Vec<IccValue> = raw
        .iter()
        .map(|&(kind, icc, lo, hi, f, df2, p)| IccValue {
            kind,
            icc: fin(icc),
            ci_low: fin(lo),
            ci_high: fin(hi),
            f: fin(f),
            df1,
            df2,
            p_value: if f.is_finite() { p } else { f64::NAN },
        })
        .collect();
    let note = if ssw == 0.0 {
        Some("identical ratings: every rater gave each subject the same value (ICC = 1, no F-test interval)".to_string())
    } else if sse == 0.0 {
        Some("zero residual variance: raters differ by a constant offset only".to_string())
    } else if ssb == 0.0 {
        Some("zero between-subject variance: every subject has the same mean".to_string())
    } else {
        None
    };
    IccResult { values, note }
}

/// What `ctrad stats icc` computes: the columns that identify a subject, the
/// column that names the rater, optionally which raters to use and which features.
#[derive(Debug, Clone, Default)]
pub struct IccSpec {
    pub subject: Vec<String>,
    pub rater: String,
    /// Rater values to use (default: every value of the rater column).
    pub raters: Vec<String>,
    /// Globs (`*`, `?`) on column names; default: every numeric column
    /// other than the subject and rater columns.
    pub features: Vec<String>,
}

/// One feature's six ICCs with its counts.
#[derive(Debug, Clone)]
pub struct FeatureIcc {
    pub feature: String,
    pub result: IccResult,
    pub n_subjects: usize,
    pub n_raters: usize,
}

/// Whether `name` matches a glob with `*` (any run) and `?` (one character), case-sensitively.
pub fn glob_regex(pattern: &str) -> Result<regex::Regex> {
    let mut re = String::from("^");
    for ch in pattern.chars() {
        match ch {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    regex::Regex::new(&re).map_err(|e| Error::Invalid(format!("feature glob '{pattern}': {e}")))
}

/// Numeric columns of `table` selected by `globs` (all numeric columns when
/// empty), leaving out `exclude`. A glob that matches no numeric column is an error.
pub fn numeric_columns(table: &Table, globs: &[String], exclude: &[String]) -> Result<Vec<String>> {
    let numeric = |i: usize| matches!(table.columns[i], ColumnData::Numeric(_));
    let candidates: Vec<usize> = (0..table.names.len())
        .filter(|&i| numeric(i) && !exclude.contains(&table.names[i]))
        .collect();
    if globs.is_empty() {
        return Ok(candidates.iter().map(|&i| table.names[i].clone()).collect());
    }
    let res: Vec<regex::Regex> = globs.iter().map(|g| glob_regex(g)).collect::<Result<_>>()?;
    for (g, re) in globs.iter().zip(&res) {
        if !candidates.iter().any(|&i| re.is_match(&table.names[i])) {
            return Err(Error::Invalid(format!(
                "--features '{g}' matches no numeric feature column"
            )));
        }
    }
    Ok(candidates
        .iter()
        .filter(|&&i| res.iter().any(|r| r.is_match(&table.names[i])))
        .map(|&i| table.names[i].clone())
        .collect())
}

/// ICCs of every selected feature of a long table. Rows whose subject or rater
/// is missing, or whose rater is not among `spec.raters`, are ignored; two rows
/// with the same subject and rater are an error (a silently averaged value
/// would be a wrong number).
pub fn icc_table(table: &Table, spec: &IccSpec) -> Result<Vec<FeatureIcc>> {
    if spec.subject.is_empty() {
        return Err(Error::Invalid("--subject names no column".into()));
    }
    if spec.subject.contains(&spec.rater) {
        return Err(Error::Invalid(format!(
            "'{}' is both a subject and the rater column",
            spec.rater
        )));
    }
    let subj: Vec<&ColumnData> = spec
        .subject
        .iter()
        .map(|s| table.column(s))
        .collect::<Result<_>>()?;
    let rater_col = table.column(&spec.rater)?;
    let mut rater_levels: Vec<String> = if spec.raters.is_empty() {
        let mut v: Vec<String> = (0..table.nrows)
            .filter_map(|i| rater_col.label(i))
            .collect();
        v.sort();
        v.dedup();
        v
    } else {
        spec.raters.clone()
    };
    rater_levels.dedup();
    for r in &spec.raters {
        if !(0..table.nrows).any(|i| rater_col.label(i).as_deref() == Some(r)) {
            return Err(Error::Invalid(format!(
                "rater '{r}' does not occur in column '{}'",
                spec.rater
            )));
        }
    }
    if rater_levels.len() < 2 {
        return Err(Error::Invalid(format!(
            "column '{}' has {} rater value(s) ({}); an ICC needs at least two",
            spec.rater,
            rater_levels.len(),
            rater_levels.join(", ")
        )));
    }
    // subject key → row per rater.
    let mut cells: BTreeMap<Vec<String>, Vec<Option<usize>>> = BTreeMap::new();
    for i in 0..table.nrows {
        let Some(r) = rater_col.label(i) else {
            continue;
        };
        let Some(j) = rater_levels.iter().position(|l| *l == r) else {
            continue;
        };
        let key: Option<Vec<String>> = subj.iter().map(|c| c.label(i)).collect();
        let Some(key) = key else { continue };
        let slot = cells
            .entry(key.clone())
            .or_insert_with(|| vec![None; rater_levels.len()]);
        if let Some(prev) = slot[j] {
            return Err(Error::Invalid(format!(
                "rows {} and {} both hold subject ({}) = ({}) rated by {} = '{r}'; \
                 add the column that tells them apart to --subject",
                prev + 2,
                i + 2,
                spec.subject.join(", "),
                key.join(", "),
                spec.rater
            )));
        }
        slot[j] = Some(i);
    }
    let mut exclude = spec.subject.clone();
    exclude.push(spec.rater.clone());
    let features = numeric_columns(table, &spec.features, &exclude)?;
    if features.is_empty() {
        return Err(Error::Invalid(
            "the table has no numeric feature column".into(),
        ));
    }
    let mut out = Vec::with_capacity(features.len());
    for name in features {
        let ColumnData::Numeric(col) = table.column(&name)? else {
            unreachable!("numeric_columns returns numeric columns")
        };
        let value = |r: Option<usize>| r.and_then(|i| col[i]).filter(|v| v.is_finite());
        let x: Vec<Vec<f64>> = cells
            .values()
            .filter_map(|rows| rows.iter().map(|&r| value(r)).collect::<Option<Vec<f64>>>())
            .collect();
        let result = icc(&x);
        out.push(FeatureIcc {
            feature: name,
            n_subjects: x.len(),
            n_raters: rater_levels.len(),
            result,
        });
    }
    Ok(out)
}

/// The long result table: feature, type, icc, ci_low, ci_high, f, df1, df2,
/// p_value, n_subjects, n_raters, note (six rows per feature).
pub fn icc_output(rows: &[FeatureIcc]) -> Table {
    let len = rows.len() * ICC_TYPES.len();
    let mut feature = Vec::with_capacity(len);
    let mut kind = Vec::with_capacity(len);
    let mut num: [Vec<Option<f64>>; 9] = Default::default();
    let mut note = Vec::with_capacity(len);
    let opt = |v: f64| if v.is_nan() { None } else { Some(v) };
    for r in rows {
        for v in &r.result.values {
            feature.push(Some(r.feature.clone()));
            kind.push(Some(v.kind.to_string()));
            for (col, x) in num.iter_mut().zip([
                v.icc,
                v.ci_low,
                v.ci_high,
                v.f,
                v.df1,
                v.df2,
                v.p_value,
                r.n_subjects as f64,
                r.n_raters as f64,
            ]) {
                col.push(opt(x));
            }
            note.push(r.result.note.clone());
        }
    }
    let names = [
        "icc",
        "ci_low",
        "ci_high",
        "f",
        "df1",
        "df2",
        "p_value",
        "n_subjects",
        "n_raters",
    ];
    let mut t = Table {
        nrows: len,
        ..Default::default()
    };
    t.names.push("feature".into());
    t.columns.push(ColumnData::Text(feature));
    t.names.push("type".into());
    t.columns.push(ColumnData::Text(kind));
    for (n, c) in names.iter().zip(num) {
        t.names.push(n.to_string());
        t.columns.push(ColumnData::Numeric(c));
    }
    t.names.push("note".into());
    t.columns.push(ColumnData::Text(note));
    t
}

/// Read an ICC table written by [`icc_output`]: (feature → ICC) for one type.
pub fn read_icc_values(table: &Table, kind: &str) -> Result<BTreeMap<String, f64>> {
    if !ICC_TYPES.contains(&kind) {
        return Err(Error::Invalid(format!(
            "ICC type '{kind}' is not one of {}",
            ICC_TYPES.join(", ")
        )));
    }
    let f = table.column("feature")?;
    let t = table.column("type")?;
    let ColumnData::Numeric(v) = table.column("icc")? else {
        return Err(Error::Invalid(
            "column 'icc' of the ICC table is not numeric".into(),
        ));
    };
    let mut out = BTreeMap::new();
    for (i, value) in v.iter().enumerate() {
        if t.label(i).as_deref() == Some(kind) {
            if let Some(name) = f.label(i) {
                out.insert(name, value.unwrap_or(f64::NAN));
            }
        }
    }
    if out.is_empty() {
        return Err(Error::Invalid(format!("the ICC table has no {kind} rows")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrout_fleiss_example() {
        // Shrout & Fleiss (1979), table 2: 6 targets × 4 judges; their table 4
        // gives ICC(1,1) .17, ICC(2,1) .29, ICC(3,1) .71, ICC(1,4) .44, ICC(2,4) .62, ICC(3,4) .91.
        let x = vec![
            vec![9.0, 2.0, 5.0, 8.0],
            vec![6.0, 1.0, 3.0, 2.0],
            vec![8.0, 4.0, 6.0, 8.0],
            vec![7.0, 1.0, 2.0, 6.0],
            vec![10.0, 5.0, 6.0, 9.0],
            vec![6.0, 2.0, 4.0, 7.0],
        ];
        let r = icc(&x);
        let want = [0.17, 0.29, 0.71, 0.44, 0.62, 0.91];
        for (v, w) in r.values.iter().zip(want) {
            assert!((v.icc - w).abs() < 0.005, "{} {} vs {w}", v.kind, v.icc);
            assert!(v.ci_low < v.icc && v.icc < v.ci_high, "{v:?}");
        }
        assert!(r.note.is_none());
    }

    #[test]
    fn degenerate_inputs_give_nan_with_a_reason() {
        let r = icc(&[vec![3.0, 3.0], vec![3.0, 3.0], vec![3.0, 3.0]]);
        assert!(r.values.iter().all(|v| v.icc.is_nan()));
        assert!(r.note.unwrap().contains("constant"));
        let r = icc(&[vec![1.0, 2.0]]);
        assert!(r.values.iter().all(|v| v.icc.is_nan()));
        let r = icc(&[vec![1.0, 1.0], vec![2.0, 2.0], vec![5.0, 5.0]]);
        assert_eq!(r.values[1].icc, 1.0);
        assert!(r.note.unwrap().contains("identical"));
    }

    #[test]
    fn long_table_drops_incomplete_subjects_and_refuses_duplicates() {
        let t = Table {
            names: vec!["id".into(), "reader".into(), "f".into(), "c".into()],
            columns: vec![
                ColumnData::Text(
                    ["a", "a", "b", "b", "c", "d", "d"]
                        .iter()
                        .map(|s| Some(s.to_string()))
                        .collect(),
                ),
                ColumnData::Text(
                    ["r1", "r2", "r1", "r2", "r1", "r1", "r2"]
                        .iter()
                        .map(|s| Some(s.to_string()))
                        .collect(),
                ),
                ColumnData::Numeric(vec![
                    Some(1.0),
                    Some(1.2),
                    Some(3.0),
                    Some(2.9),
                    Some(9.0),
                    Some(5.0),
                    None,
                ]),
                ColumnData::Numeric(vec![Some(7.0); 7]),
            ],
            nrows: 7,
        };
        let spec = IccSpec {
            subject: vec!["id".into()],
            rater: "reader".into(),
            ..Default::default()
        };
        let out = icc_table(&t, &spec).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].feature, "f");
        assert_eq!(out[0].n_subjects, 2); // c lacks r2, d has a missing value
        assert!(out[1].result.note.as_deref().unwrap().contains("constant"));
        let tab = icc_output(&out);
        assert_eq!(tab.nrows, 12);
        let dup = t.take(&[0, 1, 1]);
        let e = icc_table(&dup, &spec).unwrap_err().to_string();
        assert!(e.contains("both hold subject"), "{e}");
        let spec2 = IccSpec {
            features: vec!["nope*".into()],
            ..spec
        };
        assert!(icc_table(&t, &spec2).is_err());
    }
}
