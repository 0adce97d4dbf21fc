//! `#[tulip::main]` and `#[tulip::test]`: run an `async fn` on a tulip event loop.
//!
//! Both turn `async fn name() -> R { body }` into a plain `fn name() -> R` that builds a
//! `tulip::Runner` and runs `body` on it. Options, as `key = value` pairs:
//!
//! - `start_paused = true`: virtual time (the clock jumps to the next timer when every task
//!   is idle; `tulip::time::advance` moves it by hand);
//! - `workers = N`: worker threads (1, asyncio's single-threaded loop, by default);
//! - `debug = true`: debug mode;
//! - `seed = N`: a seeded schedule (`RunnerBuilder::seed`; otherwise `TULIP_SEED` decides). A
//!   test that panics under a seed prints `TULIP_SEED=<n>` on stderr, to replay it;
//! - `fifo = true`: FIFO order whatever `TULIP_SEED` says (`RunnerBuilder::fifo`), for a test
//!   of the order of ready tasks;
//! - `unhandled_panic = "..."`: what a task panic does to the run — `"ignore"` (report it
//!   and go on: `UnhandledPanic::Log`), `"unobserved"` (stop the run when nobody retrieves
//!   the panic: `UnhandledPanic::ShutdownIfUnobserved`) or `"shutdown_loop"` (stop the run
//!   at any task panic: `UnhandledPanic::ShutdownLoop`). `#[tulip::test]` uses
//!   `"unobserved"` unless told otherwise, so a test fails when a task of it panics and
//!   nobody awaits that task (tokio's `unhandled_panic = "shutdown_runtime"`);
//!   `#[tulip::main]` uses `"ignore"`, asyncio's behaviour.
//!
//! The macros are written without `syn` to keep compile times down; they need nothing from the
//! function but its signature and body. Use them through the `tulip` facade.

#![forbid(unsafe_code)]

use proc_macro::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};

/// Runs `async fn main` on a tulip event loop.
///
/// ```ignore
/// #[tulip::main]
/// async fn main() {
///     tulip::sleep(std::time::Duration::from_millis(1)).await;
/// }
/// ```
///
/// Options: `start_paused = bool`, `workers = N`, `debug = bool`,
/// `unhandled_panic = "ignore" | "unobserved" | "shutdown_loop"` (default `"ignore"`).
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args, item, false)
}

/// Runs an `async fn` test on a fresh tulip event loop.
///
/// ```ignore
/// #[tulip::test(start_paused = true)]
/// async fn hour_long_timeout_is_instant() {
///     let r = tulip::timeout(Duration::from_secs(3600), std::future::pending::<()>()).await;
///     assert!(r.is_err());
/// }
/// ```
///
/// Options: `start_paused = bool`, `workers = N`, `debug = bool`, `seed = N`, `fifo = bool`,
/// `unhandled_panic = "ignore" | "unobserved" | "shutdown_loop"`.
///
/// Under a seed (`seed = N`, or the `TULIP_SEED` environment variable) the loop picks among
/// ready tasks from a seeded generator instead of FIFO order, and a failing test prints
/// `TULIP_SEED=<n>` on stderr so that the same schedule can be replayed.
///
/// By default (`"unobserved"`) the test fails when a task of it panics and nobody retrieves
/// the panic: the task's handle is dropped or detached without being awaited. A test that
/// means to leave a panic unobserved says `unhandled_panic = "ignore"`:
///
/// ```ignore
/// #[tulip::test(unhandled_panic = "ignore")]
/// async fn a_detached_panic_does_not_stop_the_loop() {
///     tulip::spawn(async { panic!("nobody looks") }).detach();
///     tulip::yield_now().await;
/// }
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args, item, true)
}

fn expand(args: TokenStream, item: TokenStream, is_test: bool) -> TokenStream {
    match try_expand(args, item, is_test) {
        Ok(ts) => ts,
        Err((span, msg)) => compile_error(span, &msg),
    }
}

type Error = (Span, String);

/// The options given to the attribute, as builder calls.
fn parse_args(args: TokenStream, is_test: bool) -> Result<Vec<(String, TokenTree)>, Error> {
    let mut out = Vec::new();
    let mut seen_policy = false;
    let mut iter = args.into_iter().peekable();
    while let Some(tt) = iter.next() {
        let key = match tt {
            TokenTree::Ident(i) => i,
            other => return Err((other.span(), "expected an option name".into())),
        };
        let name = key.to_string();
        match iter.next() {
            Some(TokenTree::Punct(p)) if p.as_char() == '=' => {}
            _ => return Err((key.span(), format!("expected `{name} = value`"))),
        }
        let value = iter
            .next()
            .ok_or_else(|| (key.span(), format!("missing value for `{name}`")))?;
        match name.as_str() {
            "start_paused" | "debug" | "fifo" => match &value {
                TokenTree::Ident(i) if i.to_string() == "true" || i.to_string() == "false" => {}
                _ => return Err((value.span(), format!("`{name}` takes `true` or `false`"))),
            },
            "workers" | "seed" => match &value {
                TokenTree::Literal(_) => {}
                _ => return Err((value.span(), format!("`{name}` takes an integer"))),
            },
            "unhandled_panic" => {
                let policy = match value.to_string().as_str() {
                    "\"ignore\"" => "Log",
                    "\"unobserved\"" => "ShutdownIfUnobserved",
                    "\"shutdown_loop\"" => "ShutdownLoop",
                    _ => {
                        return Err((
                            value.span(),
                            "`unhandled_panic` takes \"ignore\", \"unobserved\" or \
                             \"shutdown_loop\""
                                .into(),
                        ))
                    }
                };
                out.push((name.clone(), policy_path(policy, value.span())));
                seen_policy = true;
            }
            _ => {
                return Err((
                    key.span(),
                    format!(
                        "unknown option `{name}`; expected `start_paused`, `workers`, `debug`, \
                         `seed`, `fifo` or `unhandled_panic`"
                    ),
                ))
            }
        }
        if name != "unhandled_panic" {
            out.push((name, value));
        }
        match iter.next() {
            None => break,
            Some(TokenTree::Punct(p)) if p.as_char() == ',' => {}
            Some(other) => return Err((other.span(), "expected `,`".into())),
        }
    }
    if is_test && !seen_policy {
        out.push((
            "unhandled_panic".into(),
            policy_path("ShutdownIfUnobserved", Span::call_site()),
        ));
    }
    Ok(out)
}

/// `::tulip::rt::UnhandledPanic::<variant>`, as one token tree (a group without delimiters).
fn policy_path(variant: &str, span: Span) -> TokenTree {
    let mut stream: Vec<TokenTree> = path(&["tulip", "rt", "UnhandledPanic", variant])
        .into_iter()
        .collect();
    for t in &mut stream {
        t.set_span(span);
    }
    TokenTree::Group(Group::new(Delimiter::None, stream.into_iter().collect()))
}

fn try_expand(args: TokenStream, item: TokenStream, is_test: bool) -> Result<TokenStream, Error> {
    let options = parse_args(args, is_test)?;
    let tokens: Vec<TokenTree> = item.into_iter().collect();

    // Find `async fn`.
    let async_pos = tokens
        .iter()
        .position(|t| matches!(t, TokenTree::Ident(i) if i.to_string() == "async"))
        .ok_or_else(|| {
            (
                Span::call_site(),
                "the function must be `async fn`".to_string(),
            )
        })?;
    match tokens.get(async_pos + 1) {
        Some(TokenTree::Ident(i)) if i.to_string() == "fn" => {}
        _ => {
            return Err((
                tokens[async_pos].span(),
                "expected `fn` after `async`".into(),
            ))
        }
    }
    let name = match tokens.get(async_pos + 2) {
        Some(TokenTree::Ident(i)) => i.clone(),
        _ => {
            return Err((
                tokens[async_pos].span(),
                "expected the function name".into(),
            ))
        }
    };
    match tokens.get(async_pos + 3) {
        Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis => {
            if !g.stream().is_empty() {
                return Err((g.span(), "the function must take no arguments".into()));
            }
        }
        Some(TokenTree::Punct(p)) if p.as_char() == '<' => {
            return Err((p.span(), "the function must not be generic".into()))
        }
        _ => return Err((name.span(), "expected `()` after the function name".into())),
    }
    let body = match tokens.last() {
        Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => g.clone(),
        _ => return Err((name.span(), "expected the function body".into())),
    };
    if is_test && name.to_string() == "main" {
        // Allowed, but unusual; nothing to check.
    }
    if !is_test && name.to_string() != "main" {
        return Err((name.span(), "#[tulip::main] goes on `async fn main`".into()));
    }

    // Everything before `async` (attributes, visibility) is kept; `async` is dropped; the
    // signature up to the body is kept.
    let mut out: Vec<TokenTree> = Vec::new();
    if is_test {
        // #[::core::prelude::v1::test]
        out.push(TokenTree::Punct(Punct::new('#', Spacing::Alone)));
        let attr: TokenStream = path(&["core", "prelude", "v1", "test"]);
        out.push(TokenTree::Group(Group::new(Delimiter::Bracket, attr)));
    }
    out.extend(tokens[..async_pos].iter().cloned());
    out.extend(tokens[async_pos + 1..tokens.len() - 1].iter().cloned());

    // { ::tulip::Runner::builder()<options>.build().run(async <body>) }
    let mut call: Vec<TokenTree> = path(&["tulip", "Runner", "builder"]).into_iter().collect();
    call.push(TokenTree::Group(Group::new(
        Delimiter::Parenthesis,
        TokenStream::new(),
    )));
    for (key, value) in options {
        call.push(TokenTree::Punct(Punct::new('.', Spacing::Alone)));
        call.push(TokenTree::Ident(Ident::new(&key, value.span())));
        call.push(TokenTree::Group(Group::new(
            Delimiter::Parenthesis,
            TokenStream::from(value),
        )));
    }
    for method in ["build", "run"] {
        call.push(TokenTree::Punct(Punct::new('.', Spacing::Alone)));
        call.push(TokenTree::Ident(Ident::new(method, Span::call_site())));
        if method == "build" {
            call.push(TokenTree::Group(Group::new(
                Delimiter::Parenthesis,
                TokenStream::new(),
            )));
        }
    }
    let async_body: TokenStream = [
        TokenTree::Ident(Ident::new("async", Span::call_site())),
        TokenTree::Group(body.clone()),
    ]
    .into_iter()
    .collect();
    call.push(TokenTree::Group(Group::new(
        Delimiter::Parenthesis,
        async_body,
    )));
    let mut new_body = Group::new(Delimiter::Brace, call.into_iter().collect());
    new_body.set_span(body.span());
    out.push(TokenTree::Group(new_body));
    Ok(out.into_iter().collect())
}

/// `::a::b::c` as tokens.
fn path(segments: &[&str]) -> TokenStream {
    let mut out = Vec::new();
    for seg in segments {
        out.push(TokenTree::Punct(Punct::new(':', Spacing::Joint)));
        out.push(TokenTree::Punct(Punct::new(':', Spacing::Alone)));
        out.push(TokenTree::Ident(Ident::new(seg, Span::call_site())));
    }
    out.into_iter().collect()
}

/// `compile_error!("msg")` at `span`.
fn compile_error(span: Span, msg: &str) -> TokenStream {
    let mut lit = Literal::string(msg);
    lit.set_span(span);
    let mut bang = Punct::new('!', Spacing::Alone);
    bang.set_span(span);
    let mut name = Ident::new("compile_error", span);
    name.set_span(span);
    let mut group = Group::new(Delimiter::Parenthesis, TokenTree::Literal(lit).into());
    group.set_span(span);
    let mut semi = Punct::new(';', Spacing::Alone);
    semi.set_span(span);
    [
        TokenTree::Ident(name),
        TokenTree::Punct(bang),
        TokenTree::Group(group),
        TokenTree::Punct(semi),
    ]
    .into_iter()
    .collect()
}
