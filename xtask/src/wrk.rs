//! `cargo xtask wrk`: the `wrk` HTTP load generator (Debian package `wrk`) against the same
//! minimal HTTP/1.1 keep-alive server on tulip (crates/tulip/examples/http_hello.rs) and on
//! tokio (benches/http_hello_tokio.rs), one after the other, release builds, on loopback.
//! With `--hyper`, the hyper 1.x hello server instead: on tulip (tulip-hyper's hyper_server
//! example) and on tokio with hyper-util's adapters (benches/hyper_hello_tokio.rs).
//!
//! ```text
//! cargo xtask wrk [--hyper] [--duration 10s] [--connections 64] [--threads 2] [--workers 1]
//! ```
//!
//! `--threads` are wrk's, `--workers` the servers' (1: tulip's single-threaded loop and
//! tokio's current-thread runtime). wrk's report is printed as it comes, then a summary
//! table of requests per second and latency for docs/benchmarks.md.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::util::{cargo, describe, root, run, succeeds};

struct Options {
    duration: String,
    connections: String,
    threads: String,
    workers: String,
    hyper: bool,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        duration: "10s".into(),
        connections: "64".into(),
        threads: "2".into(),
        workers: "1".into(),
        hyper: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let slot = match a.as_str() {
            "--hyper" => {
                o.hyper = true;
                continue;
            }
            "--duration" => &mut o.duration,
            "--connections" => &mut o.connections,
            "--threads" => &mut o.threads,
            "--workers" => &mut o.workers,
            other => return Err(format!("wrk: unknown option `{other}`")),
        };
        *slot = it
            .next()
            .ok_or_else(|| format!("wrk: `{a}` needs a value"))?
            .clone();
    }
    Ok(o)
}

/// A server started with `--port 0`, and the port it printed.
fn start(path: &std::path::Path, workers: &str) -> Result<(Child, u16), String> {
    let mut cmd = Command::new(path);
    cmd.args(["--port", "0", "--workers", workers])
        .stdout(Stdio::piped())
        .stdin(Stdio::null());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start `{}`: {e}", describe(&cmd)))?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout is piped"))
        .read_line(&mut line)
        .map_err(|e| format!("{}: {e}", describe(&cmd)))?;
    let port = line
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| {
            format!(
                "{}: expected `serving on …:PORT`, got {line:?}",
                describe(&cmd)
            )
        })?;
    Ok((child, port))
}

/// The value after `label` on the wrk report line that starts with it.
fn field<'a>(report: &'a str, label: &str) -> &'a str {
    report
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix(label))
        .map_or("?", |rest| rest.split_whitespace().next().unwrap_or("?"))
}

pub(crate) fn run_wrk(args: &[String]) -> Result<(), String> {
    let o = parse(args)?;
    if !succeeds(Command::new("wrk").arg("--version"))
        && !succeeds(Command::new("which").arg("wrk"))
    {
        return Err("wrk is not installed (Debian: apt-get install wrk)".into());
    }
    // (package, example) on tulip and the tokio bench binary: the hand-written server, or
    // the same hyper server on both.
    let (tulip, example, tokio) = if o.hyper {
        ("tulip-hyper", "hyper_server", "hyper_hello_tokio")
    } else {
        ("tulip", "http_hello", "http_hello_tokio")
    };
    run(cargo().args(["build", "--release", "-p", tulip, "--example", example]))?;
    run(cargo().args(["build", "--release", "-p", "tulip-benches", "--bin", tokio]))?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root().join("target"), std::path::PathBuf::from)
        .join("release");
    let (tulip_name, tokio_name) = if o.hyper {
        ("hyper + tulip", "hyper + tokio")
    } else {
        ("tulip", "tokio")
    };
    let servers = [
        (tulip_name, target.join("examples").join(example)),
        (tokio_name, target.join(tokio)),
    ];
    let mut rows = Vec::new();
    for (name, path) in servers {
        let (mut child, port) = start(&path, &o.workers)?;
        let mut wrk = Command::new("wrk");
        wrk.args([
            "--latency",
            "-t",
            &o.threads,
            "-c",
            &o.connections,
            "-d",
            &o.duration,
            &format!("http://127.0.0.1:{port}/"),
        ]);
        eprintln!("$ {}   # against {name}", describe(&wrk));
        let out = wrk.output();
        let _ = child.kill();
        let _ = child.wait();
        let out = out.map_err(|e| format!("cannot run wrk: {e}"))?;
        let report = String::from_utf8_lossy(&out.stdout).into_owned();
        print!("--- {name}\n{report}");
        if !out.status.success() {
            return Err(format!("wrk failed against {name}: {}", out.status));
        }
        if report.contains("Non-2xx") || report.contains("Socket errors") {
            return Err(format!("wrk saw errors against {name}"));
        }
        rows.push(format!(
            "| {name} | {} | {} | {} | {} |",
            field(&report, "Requests/sec:"),
            field(&report, "Latency"),
            field(&report, "50%"),
            field(&report, "99%"),
        ));
    }
    println!(
        "\nwrk -t{} -c{} -d{}, server workers {}:\n\n| server | requests/s | latency avg | p50 | p99 |\n|---|---|---|---|---|",
        o.threads, o.connections, o.duration, o.workers
    );
    for r in rows {
        println!("{r}");
    }
    Ok(())
}
