//! Graceful shutdown: `Server::serve_until` with `tulip::signal::shutdown`.
//!
//! The `graceful_server` example (crates/tulip/examples) runs as a child process: connections
//! open requests, a SIGTERM (or Ctrl-C) arrives mid-request, and the requests in flight still
//! complete, new connections are refused, and the process exits with status 0; a second
//! SIGTERM during the drain ends it the default way. In the test process: connections still
//! open at the deadline are aborted (on virtual time), and a server closed elsewhere drains
//! too.

mod sig_support;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use sig_support::{Example, STEP};
use tulip::signal::{SIGINT, SIGTERM};
use tulip::streams::{open_connection, start_server, DrainReport, StreamReader, StreamWriter};
use tulip_tests::bounded;

const EXAMPLE: &str = env!("CARGO_BIN_EXE_graceful_server");

/// Starts the example on an ephemeral port with a drain timeout; returns it and its address.
fn start(drain_ms: &str) -> (Example, String) {
    let mut ex = Example::start(EXAMPLE, &["127.0.0.1:0", drain_ms], |_| {});
    let line = ex.expect("listening on ");
    let addr = line.trim_start_matches("listening on ").to_string();
    (ex, addr)
}

/// A client connection of the example's protocol (blocking std sockets, bounded reads).
struct Client {
    stream: BufReader<TcpStream>,
}

impl Client {
    fn connect(addr: &str) -> std::io::Result<Client> {
        let stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(STEP))?;
        Ok(Client {
            stream: BufReader::new(stream),
        })
    }

    fn send(&mut self, line: &str) {
        self.stream.get_mut().write_all(line.as_bytes()).unwrap();
    }

    fn line(&mut self) -> String {
        let mut l = String::new();
        self.stream
            .read_line(&mut l)
            .expect("a line from the server");
        l
    }

    /// Starts a request: `begin`, and the server's `started`.
    fn begin(addr: &str) -> Client {
        let mut c = Client::connect(addr).expect("connect");
        c.send("begin\n");
        assert_eq!(c.line(), "started\n");
        c
    }

    /// Ends the request: `end`, the server's `done`, then end of stream.
    fn end(mut self) {
        self.send("end\n");
        assert_eq!(self.line(), "done\n");
        let mut rest = Vec::new();
        self.stream.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());
    }
}

/// Checks the example's last line: nothing aborted, and at most `most` connections counted in
/// flight. (The example announces the stop before `serve_until` counts the connections; with
/// several workers a request may finish in between, so the count may be lower.)
fn assert_stopped_cleanly(lines: &[String], most: usize) {
    assert_eq!(lines.len(), 1, "{lines:?}");
    let rest = lines[0].strip_prefix("stopped: ").expect("the stop report");
    let (n, aborted) = rest.split_once(" in flight, ").expect("the stop report");
    assert!(n.parse::<usize>().unwrap() <= most, "{lines:?}");
    assert_eq!(aborted, "0 aborted");
}

/// New connections are refused. Bounded: on io_uring with two workers the kernel releases the
/// closed listener when the worker that armed its poll (or multishot accept) runs the
/// cancellation's task work, microseconds after the server said it stopped accepting.
fn assert_refused(addr: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    loop {
        match Client::connect(addr) {
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => return,
            Err(e) => panic!("{e}"),
            Ok(_) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(2));
            }
            Ok(_) => panic!("a connection was accepted after the server stopped accepting"),
        }
    }
}

#[test]
fn sigterm_mid_request_lets_requests_in_flight_finish_refuses_new_ones_and_exits_0() {
    let (mut ex, addr) = start("10000");
    let clients: Vec<Client> = (0..3).map(|_| Client::begin(&addr)).collect();
    ex.signal(SIGTERM);
    ex.expect("signal 15: no longer accepting; 3 in flight");
    assert_refused(&addr);
    for c in clients {
        c.end();
    }
    let (lines, status) = ex.finish();
    assert_stopped_cleanly(&lines, 3);
    assert_eq!(status.code(), Some(0), "{status}");
}

// The example runs under `#[tulip::main]`, whose Ctrl-C handling stands aside while
// `shutdown` holds SIGINT: Ctrl-C drains the same way and the exit status is 0.
#[test]
fn ctrl_c_drains_the_same_way() {
    let (mut ex, addr) = start("10000");
    let client = Client::begin(&addr);
    ex.signal(SIGINT);
    ex.expect("signal 2: no longer accepting; 1 in flight");
    assert_refused(&addr);
    client.end();
    let (lines, status) = ex.finish();
    assert_stopped_cleanly(&lines, 1);
    assert_eq!(status.code(), Some(0), "{status}");
}

// Once the first signal arrived, `shutdown` gives SIGTERM back: a second one ends the process
// by its default action, drain or not.
#[test]
fn a_second_sigterm_during_the_drain_ends_the_process() {
    let (mut ex, addr) = start("10000");
    let _client = Client::begin(&addr);
    ex.signal(SIGTERM);
    ex.expect("signal 15");
    ex.signal(SIGTERM);
    let (lines, status) = ex.finish();
    assert!(lines.is_empty(), "{lines:?}");
    assert_eq!(status.signal(), Some(SIGTERM), "{status}");
}

/// The example's protocol, for the in-process tests: `started`, then waits for a line.
async fn handler(mut r: StreamReader, w: StreamWriter) {
    w.write(b"started\n");
    if let Ok(line) = r.readline().await {
        w.write(&line);
    }
}

// Connections still open at the deadline are aborted and counted (on virtual time, so the
// hour-long drain takes no time); the aborted client sees the end of the connection.
#[test]
fn connections_open_at_the_deadline_are_aborted() {
    tulip::Runner::builder()
        .start_paused(true)
        .build()
        .run(async {
            let server = start_server(handler, "127.0.0.1:0").await.unwrap();
            let addr = server.local_addrs()[0].as_inet().unwrap();
            let (mut idle, _idle_w) = open_connection(addr).await.unwrap();
            assert_eq!(idle.readline().await.unwrap(), b"started\n");
            let hour = Duration::from_secs(3600);
            let start = tulip::time::Instant::now();
            let report = server.serve_until(async {}, hour).await.unwrap();
            assert_eq!(
                report,
                DrainReport {
                    in_flight: 1,
                    aborted: 1
                }
            );
            assert!(!report.is_clean());
            assert!(tulip::time::Instant::now() - start >= hour);
            let rest = bounded("the abort", idle.read_to_end()).await;
            assert!(matches!(rest.as_deref(), Ok(b"") | Err(_)), "{rest:?}");
        });
}

// A `close` from elsewhere also starts the drain, and a server with nothing in flight
// returns at once, clean.
#[tulip::test]
async fn a_server_closed_elsewhere_drains_and_returns() {
    let server = std::sync::Arc::new(start_server(handler, "127.0.0.1:0").await.unwrap());
    let s = server.clone();
    // A local task runs on this thread only once the main future below is suspended in
    // serve_until, so the close always comes while serving (a Send task on two workers could
    // close before serve_until started, which is a different case: serving a closed server).
    tulip::spawn_local(async move {
        tulip::yield_now().await;
        s.close();
    })
    .detach();
    let report = bounded(
        "serve_until",
        server.serve_until(std::future::pending::<()>(), Duration::from_secs(3600)),
    )
    .await
    .unwrap();
    assert_eq!(report, DrainReport::default());
    assert!(report.is_clean());
    // Closed already: serving again is refused.
    let err = server
        .serve_until(async {}, Duration::ZERO)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}
