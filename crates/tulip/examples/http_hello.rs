//! A minimal HTTP/1.1 server on tulip streams: every request gets `Hello, world!`, and
//! connections are kept alive (HTTP/1.1's default) until the client closes or asks to
//! close. It is the server that `wrk` loads in `cargo xtask wrk` (docs/benchmarks.md), beside
//! the same server on tokio (benches/http_hello_tokio.rs).
//!
//! ```text
//! cargo run --release -p tulip --example http_hello [-- --port 8080] [--workers N]
//! curl -v http://127.0.0.1:8080/
//! ```
//!
//! What it understands of HTTP: a request line, header lines up to a blank line (each at most
//! 8 KiB, at most 100 of them), `Content-Length` bodies (read and dropped), `Connection:
//! close`, and HTTP/1.0's close-by-default. Anything else malformed gets `400 Bad Request`
//! and the connection is closed; no chunked request bodies (`411 Length Required`).
//! `--workers N` runs a work-stealing loop of N threads (default: one thread, as asyncio).
//! It prints `serving on http://127.0.0.1:PORT` once it listens (`--port 0`: any free port).

use tulip::streams::{ReadError, ServerOptions, StreamReader, StreamWriter};

const BODY: &[u8] = b"Hello, world!";
/// The longest request or header line.
const LINE_LIMIT: usize = 8 * 1024;
/// The most header lines in one request.
const MAX_HEADERS: usize = 100;

/// One parsed request head: whether to keep the connection, how many body bytes follow.
struct Head {
    keep_alive: bool,
    content_length: usize,
}

/// Why a request was refused.
enum Refusal {
    BadRequest,
    LengthRequired,
}

fn response(status: &str, keep_alive: bool, body: &[u8]) -> Vec<u8> {
    let connection = if keep_alive { "keep-alive" } else { "close" };
    let mut r = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: {connection}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

/// Reads one request head; `Ok(None)` at a clean end of stream between requests.
async fn read_head(reader: &mut StreamReader) -> Result<Option<Head>, Refusal> {
    let line = match reader.readline().await {
        Ok(l) if l.is_empty() => return Ok(None),
        Ok(l) => l,
        Err(ReadError::Io(_)) => return Ok(None),
        Err(_) => return Err(Refusal::BadRequest),
    };
    let line = std::str::from_utf8(&line).map_err(|_| Refusal::BadRequest)?;
    let mut parts = line.trim_end().split(' ');
    let (Some(_method), Some(_target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Refusal::BadRequest);
    };
    let mut head = Head {
        keep_alive: match version {
            "HTTP/1.1" => true,
            "HTTP/1.0" => false,
            _ => return Err(Refusal::BadRequest),
        },
        content_length: 0,
    };
    for _ in 0..=MAX_HEADERS {
        let line = reader.readline().await.map_err(|_| Refusal::BadRequest)?;
        let line = std::str::from_utf8(&line).map_err(|_| Refusal::BadRequest)?;
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            return Ok(Some(head));
        }
        let (name, value) = line.split_once(':').ok_or(Refusal::BadRequest)?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            head.content_length = value.parse().map_err(|_| Refusal::BadRequest)?;
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(Refusal::LengthRequired);
        } else if name.eq_ignore_ascii_case("connection") {
            if value.eq_ignore_ascii_case("close") {
                head.keep_alive = false;
            } else if value.eq_ignore_ascii_case("keep-alive") {
                head.keep_alive = true;
            }
        }
    }
    Err(Refusal::BadRequest)
}

async fn serve(mut reader: StreamReader, writer: StreamWriter) {
    loop {
        let head = match read_head(&mut reader).await {
            Ok(Some(head)) => head,
            Ok(None) => break,
            Err(refusal) => {
                let status = match refusal {
                    Refusal::BadRequest => "400 Bad Request",
                    Refusal::LengthRequired => "411 Length Required",
                };
                writer.write(&response(status, false, b""));
                break;
            }
        };
        // The body, if any, is read and dropped (bounded reads: no unbounded buffering).
        let mut left = head.content_length;
        while left > 0 {
            match reader.read(left.min(64 * 1024)).await {
                Ok(chunk) if !chunk.is_empty() => left -= chunk.len(),
                _ => return,
            }
        }
        writer.write(&response("200 OK", head.keep_alive, BODY));
        if writer.drain().await.is_err() || !head.keep_alive {
            break;
        }
    }
    writer.close();
    let _ = writer.wait_closed().await;
}

/// The value of option `name` (`--name VALUE`), if given.
fn option(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1).cloned()
}

fn main() -> std::io::Result<()> {
    let port: u16 = option("--port")
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let workers: usize = option("--workers")
        .and_then(|w| w.parse().ok())
        .unwrap_or(1);
    let runner = tulip::Runner::builder().workers(workers).build();
    runner.run(async move {
        let server = ServerOptions::new()
            .backlog(1024)
            .limit(LINE_LIMIT)
            .start_server(serve, ("127.0.0.1", port))
            .await?;
        let bound = server.local_addrs()[0].as_inet().map_or(port, |a| a.port());
        println!("serving on http://127.0.0.1:{bound}");
        server.serve_forever().await
    })
}
