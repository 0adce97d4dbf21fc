//! Repository hygiene: module docs, SAFETY comments, no debugging leftovers, listed tests.

use std::fs;
use std::path::{Path, PathBuf};

use crate::util::root;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name();
        let name = name.to_string_lossy();
        if p.is_dir() {
            if name == "target" || name.starts_with("target-") || name.starts_with('.') {
                continue;
            }
            rust_files(&p, out);
        } else if name.ends_with(".rs") {
            out.push(p);
        }
    }
}

/// Checks one file's text; returns problems.
pub(crate) fn check_file(path: &str, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if !text.starts_with("//!") && !text.starts_with("#![") {
        problems.push(format!("{path}: does not start with a `//!` module doc"));
    }
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let is_block = code.contains("unsafe {") && !code.trim_start().starts_with("pub unsafe fn");
        let is_impl = code.trim_start().starts_with("unsafe impl");
        if is_block || is_impl {
            // The comment block right above (attributes allowed in between), or the line itself.
            let mut ok = line.contains("SAFETY:");
            let mut j = i;
            while !ok && j > 0 {
                j -= 1;
                let t = lines[j].trim_start();
                if t.starts_with("//") || t.starts_with("#[") {
                    ok = t.contains("SAFETY:");
                } else {
                    break;
                }
            }
            if !ok {
                problems.push(format!(
                    "{path}:{}: `unsafe` without a `// SAFETY:` comment",
                    i + 1
                ));
            }
        }
        for bad in ["dbg!(", "todo!(", "unimplemented!("] {
            if code.contains(bad) {
                problems.push(format!("{path}:{}: `{bad}` left in", i + 1));
            }
        }
    }
    problems
}

pub(crate) fn run() -> Result<(), String> {
    let root = root();
    let mut files = Vec::new();
    for dir in ["crates", "tests", "benches", "xtask"] {
        rust_files(&root.join(dir), &mut files);
    }
    let mut problems = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&root).unwrap_or(f).display().to_string();
        if rel == "xtask/src/tidy.rs" {
            continue;
        }
        let text = fs::read_to_string(f).map_err(|e| format!("{rel}: {e}"))?;
        problems.extend(check_file(&rel, &text));
    }
    // Every top-level file in tests/ and benches/ is listed in its Cargo.toml.
    for dir in ["tests", "benches"] {
        let manifest = fs::read_to_string(root.join(dir).join("Cargo.toml")).unwrap_or_default();
        if let Ok(entries) = fs::read_dir(root.join(dir)) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.ends_with(".rs") && !manifest.contains(&format!("\"{name}\"")) {
                    problems.push(format!("{dir}/{name}: not listed in {dir}/Cargo.toml"));
                }
            }
        }
    }
    if problems.is_empty() {
        println!("tidy: {} files ok", files.len());
        Ok(())
    } else {
        Err(format!("tidy found problems:\n  {}", problems.join("\n  ")))
    }
}

#[cfg(test)]
mod tests {
    use super::check_file;

    #[test]
    fn flags_unsafe_without_safety_comment() {
        let bad = "//! doc\nfn f() { unsafe { g() } }\n";
        assert_eq!(check_file("x.rs", bad).len(), 1);
        let good = "//! doc\n// SAFETY: g has no preconditions.\nfn f() { unsafe { g() } }\n";
        assert!(check_file("x.rs", good).is_empty());
    }

    #[test]
    fn flags_missing_module_doc_and_leftovers() {
        let p = check_file("x.rs", "fn main() { dbg!(1); }\n");
        assert_eq!(p.len(), 2);
    }

    #[test]
    fn the_repository_is_tidy() {
        super::run().unwrap();
    }
}
