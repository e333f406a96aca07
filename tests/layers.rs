//! The crate's layers import one way only.
//!
//! Data flows io → volume → preprocess → filters → features → pipeline → table
//! → batch → cli; a module may use only the modules listed before it in
//! [`ORDER`] (the shared vocabulary — errors, hashes, threads, volumes — comes
//! first). The models are an island that reads tables, and the test-data
//! writers (`synth`, `io::dicom::write`) serve tests, examples and benches,
//! never a product module. `#[cfg(test)]` modules and comments are not counted.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Top-level modules of `src/`, lowest layer first.
const ORDER: &[&str] = &[
    "error",
    "hash",
    "parallel",
    "volume",
    "io",
    "inputs",
    "roi",
    "preprocess",
    "cross_phase",
    "filters",
    "features",
    "params",
    "compat",
    "naming",
    "pipeline",
    "study",
    "table",
    "batch",
    "merge",
    "model",
    "enhancement",
    "report",
    "synth",
];

/// The model island may use only these (and itself).
const MODEL_MAY_USE: &[&str] = &["error", "hash", "io", "table", "model"];

/// Product modules that may use the test-data writers (they are the writers).
const WRITERS: &[&str] = &["synth"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without comments and without `#[cfg(test)]` items.
fn product_code(text: &str) -> String {
    let mut out = String::new();
    let mut skip_depth: Option<i32> = None;
    let mut depth = 0i32;
    let mut pending_test = false;
    for line in text.lines() {
        let code = match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        };
        let trimmed = code.trim();
        if trimmed.starts_with("#[cfg(test)]") {
            pending_test = true;
            continue;
        }
        let opens = code.matches('{').count() as i32;
        let closes = code.matches('}').count() as i32;
        if pending_test && skip_depth.is_none() {
            if trimmed.ends_with(';') && opens == 0 {
                pending_test = false; // `#[cfg(test)] mod x;` or a `use`
                continue;
            }
            skip_depth = Some(depth);
        }
        depth += opens - closes;
        if let Some(d) = skip_depth {
            if depth <= d && (opens > 0 || closes > 0) {
                skip_depth = None;
                pending_test = false;
            }
            continue;
        }
        out.push_str(code);
        out.push('\n');
    }
    out
}

/// Every `crate::module` the code names, also inside `use crate::{a, b::c}`.
fn used_modules(code: &str) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + 7..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for part in group[..end].split(',') {
                let name: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    used.insert(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                used.insert(name);
            }
        }
    }
    used
}

#[test]
fn no_module_imports_a_layer_above_it() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let top = rel
            .iter()
            .next()
            .unwrap()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if ["lib", "main", "alloc", "cli"].contains(&top.as_str()) {
            continue;
        }
        let rank = ORDER.iter().position(|m| *m == top).unwrap_or_else(|| {
            panic!(
                "src/{} is not in the layer ORDER of tests/layers.rs",
                rel.display()
            )
        });
        seen.insert(top.clone());
        let code = product_code(&std::fs::read_to_string(f).unwrap());
        for used in used_modules(&code) {
            if used == top || used == "VERSION" || used == "Result" || used == "Error" {
                continue;
            }
            let Some(r) = ORDER.iter().position(|m| *m == used) else {
                continue;
            };
            if r > rank {
                problems.push(format!(
                    "src/{} ({top}) uses crate::{used}, a layer above it",
                    rel.display()
                ));
            }
            if (top == "model" || top == "enhancement")
                && !MODEL_MAY_USE.contains(&used.as_str())
                && used != "model"
            {
                problems.push(format!(
                    "src/{} ({top}, the model island) uses crate::{used}",
                    rel.display()
                ));
            }
        }
        let writes_test_data = code.contains("dicom::write") || code.contains("crate::synth");
        let is_writer = WRITERS.contains(&top.as_str()) || rel.ends_with("dicom/write.rs");
        if writes_test_data && !is_writer {
            problems.push(format!("src/{} uses a test-data writer", rel.display()));
        }
    }
    assert!(problems.is_empty(), "layering:\n{}", problems.join("\n"));
    // The check reads what it claims to read.
    for m in ["io", "features", "pipeline", "batch", "filters"] {
        assert!(seen.contains(m), "module {m} not found");
    }
}

#[test]
fn the_checker_sees_what_it_must() {
    let code = product_code(
        "use crate::{io::x, features};\n// crate::batch in a comment\nfn f() { crate::table::g(); }\n#[cfg(test)]\nmod tests {\n    use crate::batch;\n}\n",
    );
    let used = used_modules(&code);
    assert_eq!(
        used.into_iter().collect::<Vec<_>>(),
        ["features", "io", "table"]
    );
}
