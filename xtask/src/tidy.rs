//! Repository hygiene, checked by reading the text of the files (no compiler involved):
//!
//! - every Rust file starts with a `//!` module doc (or an inner attribute);
//! - every `unsafe` block and `unsafe impl` has a `// SAFETY:` comment;
//! - no `dbg!`, `todo!` or `unimplemented!` left in;
//! - every top-level file of `tests/` and `benches/` is listed in its `Cargo.toml`;
//! - every crate under `crates/` has a `CHANGELOG.md` ([`check_changelogs`]);
//! - every `allow`/`expect` lint attribute says why ([`check_allows`]);
//! - every public function of a crate's `src/` that returns a future documents its
//!   `# Cancel safety` ([`check_cancel_safety`]).

use std::collections::BTreeSet;
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
        let code = code_part(line);
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

/// The part of a line before a `//` comment (string literals containing `//` are rare enough
/// in this repository to ignore).
fn code_part(line: &str) -> &str {
    line.split("//").next().unwrap_or("")
}

/// Every crate directory under `crates/` has a `CHANGELOG.md`.
pub(crate) fn check_changelogs(crates_dir: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let Ok(entries) = fs::read_dir(crates_dir) else {
        return vec![format!("{}: cannot be read", crates_dir.display())];
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect();
    dirs.sort();
    for dir in dirs {
        if !dir.join("CHANGELOG.md").is_file() {
            let name = dir.file_name().map(|n| n.to_string_lossy().into_owned());
            problems.push(format!(
                "crates/{}: no CHANGELOG.md",
                name.unwrap_or_default()
            ));
        }
    }
    problems
}

/// Every `#[allow(...)]`/`#![allow(...)]` (and `expect`) says why it hides a lint: a
/// `reason = "..."` inside the attribute, or a `//` comment on the attribute's last line or
/// on the line right above it (a doc comment there documents the item, not the attribute).
pub(crate) fn check_allows(path: &str, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let code = code_part(lines[i]).trim_start();
        let is_lint_attr = ["#[allow(", "#![allow(", "#[expect(", "#![expect("]
            .iter()
            .any(|a| code.starts_with(a));
        if !is_lint_attr {
            i += 1;
            continue;
        }
        // The attribute may span lines: read until its brackets balance.
        let start = i;
        let mut depth = 0i32;
        let mut attr = String::new();
        loop {
            let c = code_part(lines[i]);
            attr.push_str(c);
            attr.push('\n');
            depth += c.matches('[').count() as i32 - c.matches(']').count() as i32;
            if depth <= 0 || i + 1 == lines.len() {
                break;
            }
            i += 1;
        }
        let comment_after = lines[i].contains("//");
        let comment_above = start > 0 && {
            let above = lines[start - 1].trim_start();
            above.starts_with("//") && !above.starts_with("///") && !above.starts_with("//!")
        };
        if !(attr.contains("reason") || comment_after || comment_above) {
            problems.push(format!(
                "{path}:{}: `{}` without a reason (add `reason = \"...\"`, or a `//` comment)",
                start + 1,
                code.split('(').next().unwrap_or(code)
            ));
        }
        i += 1;
    }
    problems
}

/// The names of the types that implement `Future` in `text` (`impl ... Future for Name`).
pub(crate) fn future_types(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let code = code_part(line).trim_start();
        if !code.starts_with("impl") {
            continue;
        }
        let Some(pos) = code.find("Future for ") else {
            continue;
        };
        let before = &code[..pos];
        // `Future` itself, not `FusedFuture`, `IntoFuture` or `TryFuture`.
        if !(before.ends_with(' ') || before.ends_with("::")) {
            continue;
        }
        let rest = code[pos + "Future for ".len()..].trim_start_matches('&');
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.insert(name);
        }
    }
    out
}

/// The names of the types that `text` defines (`struct Name`, `enum Name`).
pub(crate) fn defined_types(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let mut code = code_part(line).trim_start();
        if let Some(rest) = code.strip_prefix("pub") {
            // `pub`, `pub(crate)`, `pub(super)`.
            code = rest.split_once(' ').map_or("", |(_, r)| r).trim_start();
        }
        let Some(rest) = code
            .strip_prefix("struct ")
            .or_else(|| code.strip_prefix("enum "))
        else {
            continue;
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.insert(name);
        }
    }
    out
}

/// Which types are futures, by name, and where: text alone cannot follow imports, so a name
/// that several files define (`oneshot::Receiver` is a future, `broadcast::Receiver` is not)
/// is looked up in the file that uses it when that file defines it, and counts as a future
/// otherwise if any of its definitions is one.
#[derive(Debug, Default)]
pub(crate) struct FutureTypes {
    /// Name → the files that implement `Future` for a type of that name.
    futures: std::collections::BTreeMap<String, BTreeSet<String>>,
    /// Name → the files that define a type of that name.
    defined: std::collections::BTreeMap<String, BTreeSet<String>>,
}

impl FutureTypes {
    /// Learns the types `text` (the file `path`) defines and makes futures.
    pub(crate) fn add_file(&mut self, path: &str, text: &str) {
        for name in future_types(text) {
            self.futures
                .entry(name)
                .or_default()
                .insert(path.to_string());
        }
        for name in defined_types(text) {
            self.defined
                .entry(name)
                .or_default()
                .insert(path.to_string());
        }
    }

    /// Whether the type `name`, named in `path`, is a future.
    fn is_future(&self, name: &str, path: &str) -> bool {
        let Some(fut_files) = self.futures.get(name) else {
            return false;
        };
        let defined_here = self.defined.get(name).is_some_and(|d| d.contains(path));
        if defined_here {
            fut_files.contains(path)
        } else {
            true
        }
    }
}

/// Every public function that returns a future has a `# Cancel safety` section in its docs.
///
/// A function returns a future when it is `pub async fn`, when its return type is
/// `impl Future`/`impl IntoFuture`/`Pin<Box<dyn Future ...>>`, or when the return type (or
/// `Self`, inside an `impl` of such a type) is a type the repository implements `Future` for
/// (see [`FutureTypes`]). `Result<Future, _>` and the like are not futures. Functions marked
/// `#[doc(hidden)]` are not public API and are skipped.
pub(crate) fn check_cancel_safety(path: &str, text: &str, futures: &FutureTypes) -> Vec<String> {
    let mut problems = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    // The type of the innermost `impl` block seen so far, for `-> Self`.
    let mut impl_type: Option<String> = None;
    for (i, line) in lines.iter().enumerate() {
        let code = code_part(line);
        let trimmed = code.trim_start();
        if let Some(t) = impl_block_type(trimmed) {
            impl_type = Some(t);
        }
        let Some(after_pub) = trimmed.strip_prefix("pub ") else {
            continue;
        };
        let is_async = after_pub.starts_with("async fn ")
            || after_pub.starts_with("const async fn ")
            || after_pub.starts_with("async unsafe fn ");
        let is_fn = is_async
            || after_pub.starts_with("fn ")
            || after_pub.starts_with("const fn ")
            || after_pub.starts_with("unsafe fn ");
        if !is_fn {
            continue;
        }
        let sig = signature(&lines[i..]);
        let returns_future = is_async
            || return_type(&sig).is_some_and(|ret| {
                is_future_type(ret, impl_type.as_deref(), |name| {
                    futures.is_future(name, path)
                })
            });
        if !returns_future {
            continue;
        }
        let docs = docs_above(&lines, i);
        if docs.contains("#[doc(hidden)]") || docs.contains("# Cancel safety") {
            continue;
        }
        let name: String = sig
            .split("fn ")
            .nth(1)
            .unwrap_or("")
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        problems.push(format!(
            "{path}:{}: `{name}` returns a future but its docs have no `# Cancel safety` section",
            i + 1
        ));
    }
    problems
}

/// `Name` for a line opening an `impl` block (`impl<T> Name<T> {`, `impl Trait for Name`).
fn impl_block_type(code: &str) -> Option<String> {
    let rest = code.strip_prefix("impl")?;
    if !(rest.starts_with(' ') || rest.starts_with('<')) {
        return None;
    }
    // Skip the impl's own generics.
    let mut rest = rest.trim_start();
    if rest.starts_with('<') {
        let mut depth = 0;
        let mut end = rest.len();
        for (k, c) in rest.char_indices() {
            match c {
                '<' => depth += 1,
                '>' => {
                    depth -= 1;
                    if depth == 0 {
                        end = k + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = rest[end..].trim_start();
    }
    let target = match rest.find(" for ") {
        Some(pos) => &rest[pos + " for ".len()..],
        None => rest,
    };
    let name: String = target
        .trim_start_matches('&')
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// The signature starting at `lines[0]`, up to its body, `;` or `where` clause.
fn signature(lines: &[&str]) -> String {
    let mut sig = String::new();
    for line in lines.iter().take(20) {
        let code = code_part(line).trim();
        if code.starts_with("where") {
            break;
        }
        sig.push_str(code);
        sig.push(' ');
        if code.ends_with('{') || code.ends_with(';') || code.contains(" where") {
            break;
        }
    }
    sig
}

/// The return type of a signature, if it has one.
fn return_type(sig: &str) -> Option<&str> {
    // The parameter list: from the first `(` to its matching `)`.
    let open = sig.find('(')?;
    let mut depth = 0;
    let mut close = None;
    for (k, c) in sig[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(open + k);
                    break;
                }
            }
            _ => {}
        }
    }
    let after = &sig[close? + 1..];
    let ret = after.trim_start().strip_prefix("->")?;
    let end = [" where", "{", ";"]
        .iter()
        .filter_map(|e| ret.find(e))
        .min()
        .unwrap_or(ret.len());
    Some(ret[..end].trim())
}

/// Whether a return type is a future (see [`check_cancel_safety`]).
fn is_future_type(ret: &str, impl_type: Option<&str>, is_future: impl Fn(&str) -> bool) -> bool {
    let ret = ret.trim();
    if ret.starts_with("impl Future")
        || ret.starts_with("impl IntoFuture")
        || ret.starts_with("impl std::future::Future")
        || ret.starts_with("impl core::future::Future")
        || ret.starts_with("Pin<Box<dyn Future")
    {
        return true;
    }
    // The last path segment before any generics: `&'a crate::x::Name<T>` → `Name`.
    let no_generics = ret.split('<').next().unwrap_or(ret);
    let last_word = no_generics.split_whitespace().last().unwrap_or("");
    let head = last_word
        .rsplit("::")
        .next()
        .unwrap_or(last_word)
        .trim_start_matches('&');
    match head {
        "Self" => impl_type.is_some_and(is_future),
        name => is_future(name),
    }
}

/// The doc comments and attributes right above line `i` (joined), where a function's
/// `# Cancel safety` section and `#[doc(hidden)]` live.
fn docs_above(lines: &[&str], i: usize) -> String {
    let mut out = Vec::new();
    let mut j = i;
    while j > 0 {
        j -= 1;
        let t = lines[j].trim_start();
        if t.starts_with("//") || t.starts_with("#[") {
            out.push(t);
        } else if t.ends_with(")]") || t == "]" {
            // The last line of an attribute that spans lines: take it whole.
            out.push(t);
            while j > 0 && !lines[j].trim_start().starts_with("#[") {
                j -= 1;
                out.push(lines[j].trim_start());
            }
        } else {
            break;
        }
    }
    out.reverse();
    out.join("\n")
}

/// Runs the issue-12 checks over `files` (paths relative to the root, with their text).
fn new_checks(root: &Path, files: &[(String, String)]) -> Vec<String> {
    let mut findings = check_changelogs(&root.join("crates"));
    let mut futures = FutureTypes::default();
    for (rel, text) in files {
        futures.add_file(rel, text);
    }
    for (rel, text) in files {
        findings.extend(check_allows(rel, text));
        // Public API only: the crates' own sources (not their tests or examples).
        let is_crate_src = rel.starts_with("crates/") && rel.split('/').nth(2) == Some("src");
        if is_crate_src {
            findings.extend(check_cancel_safety(rel, text, &futures));
        }
    }
    findings
}

pub(crate) fn run() -> Result<(), String> {
    let root = root();
    let mut paths = Vec::new();
    for dir in ["crates", "tests", "benches", "xtask"] {
        rust_files(&root.join(dir), &mut paths);
    }
    let mut files = Vec::new();
    for f in &paths {
        let rel = f.strip_prefix(&root).unwrap_or(f).display().to_string();
        if rel == "xtask/src/tidy.rs" {
            continue;
        }
        let text = fs::read_to_string(f).map_err(|e| format!("{rel}: {e}"))?;
        files.push((rel, text));
    }
    let mut problems = Vec::new();
    for (rel, text) in &files {
        problems.extend(check_file(rel, text));
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
    problems.extend(new_checks(&root, &files));
    if problems.is_empty() {
        println!("tidy: {} files ok", files.len());
        Ok(())
    } else {
        Err(format!("tidy found problems:\n  {}", problems.join("\n  ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn an_allow_needs_a_reason() {
        let bare = "//! doc\n#![allow(dead_code)]\n";
        assert_eq!(check_allows("x.rs", bare).len(), 1);
        let doc_above = "/// Docs of the item, not of the allow.\n#[allow(dead_code)]\nfn f() {}\n";
        assert_eq!(check_allows("x.rs", doc_above).len(), 1);
        let expect = "#[expect(unused)]\nfn f() {}\n";
        assert_eq!(check_allows("x.rs", expect).len(), 1);

        let with_reason = "#![allow(dead_code, reason = \"a table checked at compile time\")]\n";
        assert!(check_allows("x.rs", with_reason).is_empty());
        let multi_line = "#![allow(\n    dead_code,\n    reason = \"each test uses a part\"\n)]\n";
        assert!(check_allows("x.rs", multi_line).is_empty());
        let same_line = "#[allow(clippy::mut_from_ref)] // Only write guards call this.\n";
        assert!(check_allows("x.rs", same_line).is_empty());
        let above =
            "// Tests hand task handles out on purpose.\n#![allow(clippy::async_yields_async)]\n";
        assert!(check_allows("x.rs", above).is_empty());
        let mentioned = "// `#[allow(x)]` in a comment is not an attribute.\nlet s = 1;\n";
        assert!(check_allows("x.rs", mentioned).is_empty());
    }

    #[test]
    fn finds_the_types_that_implement_future() {
        let text = "impl<T> Future for Sleep<T> {}\n\
                    impl Future for &Shot {}\n\
                    impl<F: Future> std::future::Future for Wrapped<F> {}\n\
                    impl<F> FusedFuture for NotThis<F> {}\n\
                    impl IntoFuture for NorThis {}\n\
                    impl Stream for Ticks {}\n";
        let found: Vec<String> = future_types(text).into_iter().collect();
        assert_eq!(found, ["Shot", "Sleep", "Wrapped"]);
    }

    fn futures() -> FutureTypes {
        let mut f = FutureTypes::default();
        f.add_file(
            "lib.rs",
            "pub struct Sleep;\nimpl Future for Sleep {}\n\
             pub struct Acquire<'a>;\nimpl<'a> Future for Acquire<'a> {}\n",
        );
        f
    }

    #[test]
    fn a_function_returning_a_future_needs_a_cancel_safety_section() {
        let cases = [
            "pub async fn read(&self) -> usize {}",
            "pub fn sleep(d: Duration) -> Sleep {",
            "pub fn acquire(&self) -> Acquire<'_> {",
            "pub fn acquire(&self) -> crate::semaphore::Acquire<'_> {",
            "pub fn ready(&self) -> impl Future<Output = ()> + '_ {",
            "pub fn boxed(self) -> Pin<Box<dyn Future<Output = ()> + Send>> {",
        ];
        for case in cases {
            let text = format!("/// Does a thing.\n{case}\n    todo()\n}}\n");
            assert_eq!(
                check_cancel_safety("x.rs", &text, &futures()).len(),
                1,
                "{case}"
            );
            let documented = format!(
                "/// Does a thing.\n///\n/// # Cancel safety\n///\n/// Safe.\n#[must_use]\n{case}\n}}\n"
            );
            assert!(
                check_cancel_safety("x.rs", &documented, &futures()).is_empty(),
                "{case}"
            );
        }
    }

    #[test]
    fn other_functions_need_no_cancel_safety_section() {
        let cases = [
            "pub fn try_acquire(&self) -> Option<Acquire<'_>> {",
            "pub fn spawn(&self) -> Result<Sleep, Error> {",
            "pub(crate) fn sleep(d: Duration) -> Sleep {",
            "fn sleep(d: Duration) -> Sleep {",
            "pub fn deadline(&self) -> Instant {",
            "pub fn call(&self, f: impl FnOnce() -> Sleep) -> usize {",
        ];
        for case in cases {
            let text = format!("/// Does a thing.\n{case}\n}}\n");
            assert!(
                check_cancel_safety("x.rs", &text, &futures()).is_empty(),
                "{case}"
            );
        }
        let hidden = "#[doc(hidden)]\npub async fn internal() {}\n";
        assert!(check_cancel_safety("x.rs", hidden, &futures()).is_empty());
    }

    #[test]
    fn self_in_an_impl_of_a_future_type_is_a_future() {
        let text = "impl Sleep {\n    /// A new one.\n    pub fn new() -> Self {\n    }\n}\n\
                    impl Clock {\n    /// A clock.\n    pub fn new() -> Self {\n    }\n}\n";
        let found = check_cancel_safety("x.rs", text, &futures());
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("x.rs:3:"));
    }

    #[test]
    fn a_name_is_looked_up_where_it_is_defined() {
        let mut f = FutureTypes::default();
        f.add_file(
            "oneshot.rs",
            "pub struct Receiver<T>;\nimpl<T> Future for Receiver<T> {}\n",
        );
        f.add_file(
            "broadcast.rs",
            "pub struct Receiver<T>;\nimpl<T> Stream for Receiver<T> {}\n",
        );
        let subscribe = "/// Another receiver.\npub fn subscribe(&self) -> Receiver<T> {\n}\n";
        assert!(check_cancel_safety("broadcast.rs", subscribe, &f).is_empty());
        assert_eq!(check_cancel_safety("oneshot.rs", subscribe, &f).len(), 1);
        // Named elsewhere, an ambiguous name counts as a future.
        assert_eq!(check_cancel_safety("lib.rs", subscribe, &f).len(), 1);
    }

    #[test]
    fn multi_line_signatures_are_read_whole() {
        let text = "/// Waits.\npub fn wait_for<P>(\n    &self,\n    pred: P,\n) -> Acquire<'_>\nwhere\n    P: Fn() -> bool,\n{\n}\n";
        assert_eq!(check_cancel_safety("x.rs", text, &futures()).len(), 1);
    }

    #[test]
    fn every_crate_needs_a_changelog() {
        let dir = std::env::temp_dir().join(format!("tidy-changelog-{}", std::process::id()));
        let (a, b) = (dir.join("with"), dir.join("without"));
        for d in [&a, &b] {
            fs::create_dir_all(d).unwrap();
            fs::write(d.join("Cargo.toml"), "[package]\n").unwrap();
        }
        fs::write(a.join("CHANGELOG.md"), "# Changelog\n").unwrap();
        let problems = check_changelogs(&dir);
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(problems, ["crates/without: no CHANGELOG.md"]);
    }

    #[test]
    fn the_repository_is_tidy() {
        super::run().unwrap();
    }
}
