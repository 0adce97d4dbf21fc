//! The HTTP/1.1 keep-alive responder that `cargo xtask wrk` loads
//! (crates/tulip/examples/http_hello.rs, built as a binary of this package), run as a child
//! process on `--port 0` and driven over loopback: keep-alive, pipelining, `Connection:
//! close`, malformed and oversized requests, requests dribbled a byte at a time, many
//! connections at once, and Python's `http.client` as a peer nobody here wrote.
//!
//! Every test starts its own server (workers from `TULIP_WORKERS`, 1 by default) and runs
//! under a timeout; the server is killed when the test ends.

use std::time::Duration;

use tulip::process::{create_subprocess_exec, Child, Stdio};
use tulip::streams::{open_connection, StreamReader, StreamWriter};

/// How long one test may take before it counts as hung (a bound, not a measure of speed).
const LIMIT: Duration = Duration::from_secs(60);

/// The body every request gets.
const BODY: &[u8] = b"Hello, world!";

/// A running `http_hello` and the port it printed.
struct Server {
    _child: Child,
    port: u16,
}

/// Starts the example with `--port 0` and reads the port from its first line,
/// `serving on http://127.0.0.1:PORT`.
async fn server() -> Server {
    let workers = std::env::var("TULIP_WORKERS").unwrap_or_else(|_| "1".into());
    let mut child = create_subprocess_exec(
        env!("CARGO_BIN_EXE_http_hello"),
        ["--port", "0", "--workers", &workers],
    )
    .stdout(Stdio::piped())
    .stdin(Stdio::null())
    .kill_on_drop(true)
    .spawn()
    .expect("start http_hello");
    let line = child
        .stdout
        .as_mut()
        .expect("stdout is piped")
        .readline()
        .await
        .expect("http_hello's first line");
    let line = String::from_utf8_lossy(&line);
    let port = line
        .trim()
        .strip_prefix("serving on http://127.0.0.1:")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("expected `serving on http://127.0.0.1:PORT`, got {line:?}"));
    assert_ne!(
        port, 0,
        "the server printed the port it was given, not the bound one"
    );
    Server {
        _child: child,
        port,
    }
}

impl Server {
    async fn connect(&self) -> (StreamReader, StreamWriter) {
        open_connection(("127.0.0.1", self.port))
            .await
            .expect("connect to http_hello")
    }
}

fn run<F: std::future::Future>(fut: F) -> F::Output {
    tulip::run(async move {
        tulip::timeout(LIMIT, fut)
            .await
            .expect("the exchange with http_hello took too long")
    })
}

/// One parsed response.
#[derive(Debug)]
struct Response {
    status: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Asserts a `200 OK` with the greeting, kept alive or not as `keep_alive` says.
    fn assert_hello(&self, keep_alive: bool) {
        assert_eq!(self.status, "HTTP/1.1 200 OK", "{self:?}");
        assert_eq!(self.header("Content-Length"), Some("13"), "{self:?}");
        assert_eq!(self.body, BODY, "{self:?}");
        let connection = if keep_alive { "keep-alive" } else { "close" };
        assert_eq!(self.header("Connection"), Some(connection), "{self:?}");
    }
}

/// Reads one response: status line, headers to the blank line, `Content-Length` body bytes.
async fn read_response(reader: &mut StreamReader) -> Response {
    let head = reader
        .readuntil(b"\r\n\r\n")
        .await
        .expect("a response head");
    let head = String::from_utf8(head).expect("a UTF-8 response head");
    let mut lines = head.trim_end().split("\r\n");
    let status = lines.next().expect("a status line").to_string();
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (n, v) = l.split_once(':').expect("a `name: value` header");
            (n.to_string(), v.trim().to_string())
        })
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .expect("a Content-Length header");
    let body = reader.readexactly(length).await.expect("the response body");
    Response {
        status,
        headers,
        body,
    }
}

/// Asserts that the server closed the connection: end of stream, nothing more.
async fn assert_closed(reader: &mut StreamReader) {
    let rest = reader.read_to_end().await.expect("a clean end of stream");
    assert!(
        rest.is_empty(),
        "bytes after the last response: {:?}",
        String::from_utf8_lossy(&rest)
    );
}

/// A GET request for `target`, with `Connection: close` when `close`.
fn get(target: &str, close: bool) -> String {
    let connection = if close { "Connection: close\r\n" } else { "" };
    format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n{connection}\r\n")
}

#[test]
fn keep_alive_requests_on_one_connection_each_get_the_greeting() {
    run(async {
        let server = server().await;
        let (mut reader, writer) = server.connect().await;
        for i in 0..10 {
            writer.write(get(&format!("/{i}"), false).as_bytes());
            writer.drain().await.unwrap();
            read_response(&mut reader).await.assert_hello(true);
        }
        // A body (read and dropped by the server) does not end the connection or leak into
        // the next request.
        let body = vec![b'x'; 100_000];
        writer.write(
            format!(
                "POST /form HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        );
        writer.write(&body);
        writer.drain().await.unwrap();
        read_response(&mut reader).await.assert_hello(true);
        writer.write(get("/after-body", false).as_bytes());
        writer.drain().await.unwrap();
        read_response(&mut reader).await.assert_hello(true);
        // The client ending the connection ends it on the server too.
        writer.write_eof().unwrap();
        assert_closed(&mut reader).await;
    });
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    run(async {
        let server = server().await;
        let (mut reader, writer) = server.connect().await;
        // One write: keep-alive requests, one with a body, then one asking to close. Order
        // shows in the answers: all keep-alive until the last, which closes.
        let mut batch = String::new();
        for i in 0..20 {
            batch += &get(&format!("/p{i}"), false);
        }
        batch += "POST /p HTTP/1.1\r\nContent-Length: 5\r\n\r\nGET /";
        batch += &get("/x", false);
        batch += "GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
        batch += &get("/last", true);
        writer.write(batch.as_bytes());
        writer.drain().await.unwrap();
        for _ in 0..23 {
            read_response(&mut reader).await.assert_hello(true);
        }
        read_response(&mut reader).await.assert_hello(false);
        assert_closed(&mut reader).await;
    });
}

#[test]
fn connection_close_and_http_1_0_close_after_the_response() {
    run(async {
        let server = server().await;
        let (mut reader, writer) = server.connect().await;
        writer.write(get("/", true).as_bytes());
        writer.drain().await.unwrap();
        read_response(&mut reader).await.assert_hello(false);
        assert_closed(&mut reader).await;

        // HTTP/1.0 closes by default.
        let (mut reader, writer) = server.connect().await;
        writer.write(b"GET / HTTP/1.0\r\n\r\n");
        writer.drain().await.unwrap();
        read_response(&mut reader).await.assert_hello(false);
        assert_closed(&mut reader).await;
    });
}

/// Sends `request` on a fresh connection and expects one refusal with `status`, then the
/// end of the connection.
async fn expect_refusal(server: &Server, request: &[u8], status: &str) {
    let (mut reader, writer) = server.connect().await;
    writer.write(request);
    writer.drain().await.unwrap();
    let r = read_response(&mut reader).await;
    assert_eq!(
        r.status,
        status,
        "for {:?}",
        String::from_utf8_lossy(request)
    );
    assert_eq!(r.header("Connection"), Some("close"), "{r:?}");
    assert!(r.body.is_empty(), "{r:?}");
    assert_closed(&mut reader).await;
}

#[test]
fn malformed_requests_get_400_and_the_connection_closes() {
    run(async {
        let server = server().await;
        // Each request ends exactly where the server stops reading, so it closes with
        // nothing unread (no reset racing the 400).
        for bad in [
            &b"GARBAGE\r\n"[..],
            b"GET /\r\n",
            b"GET / HTTP/1.1 extra\r\n",
            b"GET / HTTP/2.0\r\n",
            b"GET / HTTP/1.1\r\nno colon here\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: many\r\n",
            b"GET / HTTP/1.1\r\nX: \xff\xfe\r\n",
        ] {
            expect_refusal(&server, bad, "HTTP/1.1 400 Bad Request").await;
        }
        expect_refusal(
            &server,
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n",
            "HTTP/1.1 411 Length Required",
        )
        .await;
        // A good request on a keep-alive connection, then a bad one: the first is answered,
        // the second refused.
        let (mut reader, writer) = server.connect().await;
        writer.write(get("/", false).as_bytes());
        writer.write(b"BAD\r\n");
        writer.drain().await.unwrap();
        read_response(&mut reader).await.assert_hello(true);
        let r = read_response(&mut reader).await;
        assert_eq!(r.status, "HTTP/1.1 400 Bad Request");
        assert_closed(&mut reader).await;
    });
}

#[test]
fn a_request_dribbled_one_byte_per_write_is_answered() {
    run(async {
        let server = server().await;
        let (mut reader, writer) = server.connect().await;
        for round in 0..2 {
            let request = format!(
                "POST /slow HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 7\r\nX-Round: {round}\r\n\r\npayload"
            );
            for byte in request.as_bytes() {
                writer.write(std::slice::from_ref(byte));
                writer.drain().await.unwrap();
                // Let the server's side run between the bytes.
                tulip::yield_now().await;
            }
            read_response(&mut reader).await.assert_hello(true);
        }
        writer.close();
    });
}

#[test]
fn oversized_headers_are_refused_without_buffering_them() {
    run(async {
        let server = server().await;
        // A header line past the 8 KiB line limit, not yet ended: refused at once.
        let mut request = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
        request.resize(12 * 1024, b'a');
        expect_refusal(&server, &request, "HTTP/1.1 400 Bad Request").await;

        // More header lines than the 100 allowed.
        let mut request = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..101 {
            request.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
        }
        expect_refusal(&server, &request, "HTTP/1.1 400 Bad Request").await;

        // An endless header line: the server must stop taking it (refuse and close) long
        // before 64 MiB, or the writes below would all go through (it buffered them) or
        // stall (it stopped reading but kept the connection).
        let (mut reader, writer) = server.connect().await;
        writer.write(b"GET / HTTP/1.1\r\nX-Endless: ");
        let chunk = vec![b'a'; 64 * 1024];
        let mut sent = 0usize;
        let refused = loop {
            if sent >= 64 << 20 {
                break false;
            }
            writer.write(&chunk);
            if writer.drain().await.is_err() {
                break true;
            }
            sent += chunk.len();
        };
        assert!(refused, "the server took {sent} bytes of one header line");
        // What came back, if it arrived before the reset, is a 400 and nothing else.
        let back = reader.read_to_end().await.unwrap_or_default();
        assert!(
            back.is_empty() || back.starts_with(b"HTTP/1.1 400 Bad Request\r\n"),
            "{:?}",
            String::from_utf8_lossy(&back)
        );
        // And the server still serves.
        let (mut reader, writer) = server.connect().await;
        writer.write(get("/", true).as_bytes());
        writer.drain().await.unwrap();
        read_response(&mut reader).await.assert_hello(false);
    });
}

#[test]
fn two_hundred_concurrent_connections_all_get_answers() {
    run(async {
        let server = server().await;
        let port = server.port;
        let mut clients = Vec::new();
        for i in 0..200 {
            clients.push(tulip::spawn(async move {
                let (mut reader, writer) = open_connection(("127.0.0.1", port))
                    .await
                    .expect("connect to http_hello");
                writer.write(get(&format!("/c{i}"), false).as_bytes());
                writer.drain().await.unwrap();
                read_response(&mut reader).await.assert_hello(true);
                writer.write(get(&format!("/c{i}/bye"), true).as_bytes());
                writer.drain().await.unwrap();
                read_response(&mut reader).await.assert_hello(false);
                assert_closed(&mut reader).await;
            }));
        }
        for c in clients {
            c.await.expect("a client task");
        }
    });
}

/// Python's `http.client`: keep-alive GETs and a POST on one connection (the same socket
/// object throughout), then `Connection: close`.
const PY_HTTP_CLIENT: &str = r#"
import http.client, sys
conn = http.client.HTTPConnection('127.0.0.1', int(sys.argv[1]), timeout=20)
socks = []
for i in range(5):
    conn.request('GET', f'/py/{i}')
    r = conn.getresponse()
    body = r.read()
    assert (r.status, r.reason) == (200, 'OK'), (r.status, r.reason)
    assert body == b'Hello, world!', body
    assert r.getheader('Content-Length') == '13', r.getheaders()
    assert not r.will_close, r.getheaders()
    socks.append(conn.sock)
conn.request('POST', '/py/form', body=b'x' * 100000)
r = conn.getresponse()
assert r.status == 200 and r.read() == b'Hello, world!'
socks.append(conn.sock)
assert all(s is socks[0] for s in socks), 'http.client reconnected'
conn.request('GET', '/py/last', headers={'Connection': 'close'})
r = conn.getresponse()
assert r.status == 200 and r.read() == b'Hello, world!' and r.will_close
conn.close()
print('ok', len(socks) + 1, 'requests on one connection')
"#;

#[test]
fn python_http_client_against_http_hello() {
    let found = std::process::Command::new("python3")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        println!("python_http_client_against_http_hello: skipped, python3 is not on this machine");
        return;
    }
    run(async {
        let server = server().await;
        let port = server.port.to_string();
        let mut child = create_subprocess_exec("python3", ["-c", PY_HTTP_CLIENT, &port])
            .stdout(Stdio::piped())
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start python3");
        let out = child.communicate(None).await.expect("wait for python3");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "python3 failed ({}): {stdout}",
            out.status
        );
        assert_eq!(stdout.trim(), "ok 7 requests on one connection");
    });
}
