//! Cross-process echo: the server runs in a process of its own, and one client — the same for
//! every server — measures it.
//!
//! - `xproc_echo`: 64 connections × `n` (5 000) round trips of 64 bytes against an echo
//!   server in another process; thousands of round trips per second. The servers are the
//!   usual echo loop (accept; per connection a task that reads into a 4 KiB buffer and writes
//!   back what came) on tulip (`tulip::net`), tokio and smol, single-threaded (`ct`) or with
//!   two workers (`mt`). References, single-threaded: `tulip-streams` (the asyncio program in
//!   `tulip::streams`: `start_server`, `read` / `write` / `drain`), and that same program in
//!   Python, `asyncio` and `uvloop` (`benches/py/echo_asyncio.py [--uvloop]`; skipped, with
//!   the reason, when `python3` or its uvloop module is missing). The transports-and-protocols
//!   form, single-threaded: `tulip-protocol` (`tulip::protocol::create_server` with an echo
//!   `Protocol` whose `data_received` writes what came to its transport), and the same
//!   program in Python, `asyncio-protocol` and `uvloop-protocol` (`echo_asyncio.py
//!   --protocol`): uvloop's headline server.
//!
//! The client is the hand-written epoll loop of `tulip_benches::epoll` on one thread, so that
//! it costs as little as a client can and the servers are what differ. Each repetition opens 64
//! new connections (blocking std calls, then one round trip on each so that every handler
//! runs) before the clock starts.
//!
//! With a single-threaded server (`ct` and the references), the client and the server are
//! pinned to one CPU (the one the client runs on), so a round trip costs the server's CPU
//! time plus the client's plus the switches between them, and the rate repeats within a few
//! percent even on a loaded machine. Unpinned on two CPUs the two processes settle, from one
//! run to the next, either in lockstep (each waits while the other handles its batch) or
//! overlapped, and the same server measured 67 or 175 thousand round trips per second. The
//! two-worker servers (`mt`) are not pinned: their rates are that noisy. Besides round trips per second the line reports the CPU
//! time per round trip of the server process (all its threads; the report's
//! `xproc_echo.server_cpu` row) and of the client thread (from `/proc/*/schedstat`). On a
//! loaded machine the round trips per second move with whatever else runs (the two sides may
//! run in step or overlap), while the server's CPU time per round trip — what its event loop
//! and its system calls cost — stays put; and when the client's CPU time per round trip comes
//! near the wall time per round trip, the client is the bottleneck.
//!
//! The same binary is the Rust servers: `net_xproc --serve tulip|tokio|smol|tulip-streams
//! --flavour ct|mt` listens on a free loopback port, prints `port N` (or `na REASON`), and
//! exits when its standard input closes.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use tulip_benches::epoll::{self, MSG};
use tulip_benches::rt::{Smol, Tokio, Tulip};
use tulip_benches::{
    proc_cpu, set_nodelay, summary, Aux, Flavour, Outcome, Plan, Reference, Runtime, RuntimeKind,
    Spec,
};

/// Connections per repetition.
const CONNS: usize = 64;
/// The servers' read buffer.
const ECHO_BUF: usize = 4096;
/// The Python server, next to this file.
const PY_SERVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/py/echo_asyncio.py");

// ----- the servers -----

/// Writes the port for the parent, then serves forever.
async fn serve_raw<R: Runtime>() {
    let any: SocketAddr = "127.0.0.1:0".parse().expect("an address");
    let listener = R::bind(any).await.expect("bind");
    announce(&format!("port {}", R::listener_addr(&listener).port()));
    loop {
        let mut s = match R::accept(&listener).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("accept: {e}");
                continue;
            }
        };
        let _ = set_nodelay(&s);
        R::detach(R::spawn(async move {
            let mut buf = vec![0u8; ECHO_BUF];
            while let Ok(got @ 1..) = R::read(&mut s, &mut buf).await {
                if R::write_all(&mut s, &buf[..got]).await.is_err() {
                    break;
                }
            }
        }));
    }
}

/// asyncio's echo server, in tulip's streams.
async fn serve_streams() {
    use tulip::streams::{start_server, StreamReader, StreamWriter};
    let server = start_server(
        |mut reader: StreamReader, writer: StreamWriter| async move {
            loop {
                match reader.read(ECHO_BUF).await {
                    Ok(data) if !data.is_empty() => {
                        writer.write(&data);
                        if writer.drain().await.is_err() {
                            break;
                        }
                    }
                    _ => break,
                }
            }
            writer.close();
        },
        "127.0.0.1:0",
    )
    .await
    .expect("start_server");
    let addr = server.local_addrs()[0].as_inet().expect("a TCP address");
    announce(&format!("port {}", addr.port()));
    server.serve_forever().await.expect("serve_forever");
}

/// The echo protocol of the `tulip-protocol` server.
struct EchoProtocol(Option<tulip::protocol::Transport>);

impl tulip::protocol::Protocol for EchoProtocol {
    fn connection_made(&mut self, transport: tulip::protocol::Transport) {
        self.0 = Some(transport);
    }
    fn data_received(&mut self, data: &[u8]) {
        if let Some(t) = &self.0 {
            t.write(data);
        }
    }
}

async fn serve_protocol() {
    let server = tulip::protocol::create_server(|| EchoProtocol(None), "127.0.0.1:0")
        .await
        .expect("create_server");
    let addr = server.local_addrs()[0].as_inet().expect("a TCP address");
    announce(&format!("port {}", addr.port()));
    server.serve_forever().await.expect("serve_forever");
}

fn announce(line: &str) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn run_server<R: Runtime, F>(flavour: Flavour, body: F)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    match R::build(flavour) {
        Ok(rt) => R::block_on(&rt, body),
        Err(reason) => announce(&format!("na {reason}")),
    }
}

/// `--serve NAME --flavour F`: be that server until standard input closes.
fn serve(args: &[String]) -> ! {
    let name = args.first().map(String::as_str).unwrap_or("");
    let flavour = args
        .iter()
        .position(|a| a == "--flavour")
        .and_then(|i| args.get(i + 1))
        .and_then(|f| Flavour::parse(f))
        .unwrap_or(Flavour::Ct);
    std::thread::spawn(|| {
        let _ = io::copy(&mut io::stdin(), &mut io::sink());
        std::process::exit(0);
    });
    match name {
        "tulip" => run_server::<Tulip, _>(flavour, serve_raw::<Tulip>()),
        "tokio" => run_server::<Tokio, _>(flavour, serve_raw::<Tokio>()),
        "smol" => run_server::<Smol, _>(flavour, serve_raw::<Smol>()),
        "tulip-streams" => run_server::<Tulip, _>(flavour, serve_streams()),
        "tulip-protocol" => run_server::<Tulip, _>(flavour, serve_protocol()),
        other => announce(&format!("na no server called `{other}`")),
    }
    // Only a server that could not start gets here; wait to be told to go.
    loop {
        std::thread::park();
    }
}

// ----- the client -----

/// A server process; killed when dropped.
struct Server {
    child: Child,
    _stdin: ChildStdin,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `cmd` and reads its `port N` line; `Err` with the reason it gives (`na …`) or the
/// way it failed.
fn start(mut cmd: Command) -> Result<Server, String> {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
    let stdin = child.stdin.take().expect("piped stdin");
    let mut out = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut line = String::new();
    let read = out.read_line(&mut line);
    let fail = |child: &mut Child, msg: String| {
        let _ = child.kill();
        let _ = child.wait();
        Err(msg)
    };
    match read {
        Ok(_) if line.starts_with("port ") => match line[5..].trim().parse::<u16>() {
            Ok(port) => Ok(Server {
                child,
                _stdin: stdin,
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
            }),
            Err(e) => fail(&mut child, format!("bad port line {line:?}: {e}")),
        },
        Ok(_) if line.starts_with("na ") => fail(&mut child, line[3..].trim().to_string()),
        Ok(_) => fail(&mut child, format!("the server said {line:?}")),
        Err(e) => fail(&mut child, format!("reading the server's port: {e}")),
    }
}

/// One repetition: the round trips per second, and the server's and the client's CPU time.
fn rep(server: &Server, rounds: u64) -> io::Result<(f64, Duration, Duration)> {
    let mut conns = Vec::with_capacity(CONNS);
    for _ in 0..CONNS {
        let s = TcpStream::connect(server.addr)?;
        s.set_nodelay(true)?;
        conns.push(s);
    }
    let mut buf = [7u8; MSG];
    for mut s in &conns {
        s.write_all(&buf)?;
        s.read_exact(&mut buf)?;
    }
    let pid = server.child.id();
    let (srv0, cli0) = (proc_cpu::process(pid), proc_cpu::this_thread());
    let took = epoll::echo_loop(conns, Vec::new(), rounds)?;
    let (srv1, cli1) = (proc_cpu::process(pid), proc_cpu::this_thread());
    let rate = (rounds * CONNS as u64) as f64 / took.as_secs_f64() / 1e3;
    let diff = |a: Option<Duration>, b: Option<Duration>| match (a, b) {
        (Some(a), Some(b)) => b.saturating_sub(a),
        _ => Duration::ZERO,
    };
    Ok((rate, diff(srv0, srv1), diff(cli0, cli1)))
}

/// Runs the plan's repetitions against `server`.
fn measure(server: Result<Server, String>, plan: &Plan) -> Outcome {
    let server = match server {
        Ok(s) => s,
        Err(reason) => return Outcome::NotAvailable(reason),
    };
    for _ in 0..plan.warmup {
        rep(&server, plan.n).expect("warm-up round trips");
    }
    let mut samples = Vec::with_capacity(plan.reps);
    let (mut srv, mut cli) = (Vec::new(), Vec::new());
    let rts = (plan.n * CONNS as u64) as f64;
    let per_rt_us = |d: Duration| d.as_secs_f64() * 1e6 / rts;
    for _ in 0..plan.reps {
        let (rate, s, c) = rep(&server, plan.n).expect("round trips");
        samples.push(rate);
        srv.push(per_rt_us(s));
        cli.push(per_rt_us(c));
    }
    if srv.iter().all(|&v| v == 0.0) {
        // No /proc: no CPU times.
        return Outcome::Ok(samples);
    }
    Outcome::WithAux(
        samples,
        vec![
            Aux {
                name: "server_cpu",
                unit: "us/rt",
                value: summary(&srv).0,
                row: true,
            },
            Aux {
                name: "client_cpu",
                unit: "us/rt",
                value: summary(&cli).0,
                row: false,
            },
        ],
    )
}

/// Runs the plan against the server `start` starts: single-threaded servers share one CPU
/// with the client (see the module docs), two-worker ones run where the OS puts them.
fn measure_pinned(
    flavour: Flavour,
    start: impl FnOnce() -> Result<Server, String>,
    plan: &Plan,
) -> Outcome {
    let _pin = (flavour == Flavour::Ct).then(proc_cpu::Pinned::one_cpu);
    measure(start(), plan)
}

fn rust_server(name: &str, flavour: Flavour) -> Result<Server, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let mut cmd = Command::new(exe);
    cmd.args(["--serve", name, "--flavour", flavour.name()]);
    start(cmd)
}

fn xproc_echo(kind: RuntimeKind, flavour: Flavour, plan: &Plan) -> Outcome {
    measure_pinned(flavour, || rust_server(kind.name(), flavour), plan)
}

fn xproc_echo_streams(flavour: Flavour, plan: &Plan) -> Outcome {
    measure_pinned(flavour, || rust_server("tulip-streams", flavour), plan)
}

fn xproc_echo_protocol(flavour: Flavour, plan: &Plan) -> Outcome {
    measure_pinned(flavour, || rust_server("tulip-protocol", flavour), plan)
}

/// The Python server, when `python3` (and for `--uvloop`, uvloop) can run it; with
/// `protocol`, its transports-and-protocols form.
fn python_server(uvloop: bool, protocol: bool) -> Result<Server, String> {
    let probe = if uvloop {
        "import asyncio, uvloop"
    } else {
        "import asyncio"
    };
    match Command::new("python3")
        .args(["-c", probe])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Err(_) => return Err("python3 is not installed".into()),
        Ok(s) if !s.success() && uvloop => {
            return Err("python3 has no uvloop module (pip install uvloop)".into())
        }
        Ok(s) if !s.success() => return Err("python3 cannot import asyncio".into()),
        Ok(_) => {}
    }
    let mut cmd = Command::new("python3");
    cmd.arg(PY_SERVER);
    if uvloop {
        cmd.arg("--uvloop");
    }
    if protocol {
        cmd.arg("--protocol");
    }
    start(cmd)
}

fn xproc_echo_asyncio(flavour: Flavour, plan: &Plan) -> Outcome {
    measure_pinned(flavour, || python_server(false, false), plan)
}

fn xproc_echo_uvloop(flavour: Flavour, plan: &Plan) -> Outcome {
    measure_pinned(flavour, || python_server(true, false), plan)
}

fn xproc_echo_asyncio_protocol(flavour: Flavour, plan: &Plan) -> Outcome {
    measure_pinned(flavour, || python_server(false, true), plan)
}

fn xproc_echo_uvloop_protocol(flavour: Flavour, plan: &Plan) -> Outcome {
    measure_pinned(flavour, || python_server(true, true), plan)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--serve") {
        serve(&args[i + 1..]);
    }
    tulip_benches::main(
        "net",
        &[Spec {
            name: "xproc_echo",
            unit: "krt/s",
            higher_is_better: true,
            n: 5_000,
            quick_n: 500,
            warmup: 1,
            reps: 3,
            quick_reps: 3,
            run: xproc_echo,
            refs: &[
                Reference {
                    name: "tulip-streams",
                    flavours: &[Flavour::Ct],
                    run: xproc_echo_streams,
                },
                Reference {
                    name: "asyncio",
                    flavours: &[Flavour::Ct],
                    run: xproc_echo_asyncio,
                },
                Reference {
                    name: "uvloop",
                    flavours: &[Flavour::Ct],
                    run: xproc_echo_uvloop,
                },
                Reference {
                    name: "tulip-protocol",
                    flavours: &[Flavour::Ct],
                    run: xproc_echo_protocol,
                },
                Reference {
                    name: "asyncio-protocol",
                    flavours: &[Flavour::Ct],
                    run: xproc_echo_asyncio_protocol,
                },
                Reference {
                    name: "uvloop-protocol",
                    flavours: &[Flavour::Ct],
                    run: xproc_echo_uvloop_protocol,
                },
            ],
        }],
    );
}
