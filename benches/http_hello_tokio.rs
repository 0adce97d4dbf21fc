//! crates/tulip/examples/http_hello.rs on tokio, for `cargo xtask wrk`: the same minimal
//! HTTP/1.1 keep-alive server (`Hello, world!` to every request), written the same way —
//! a buffered reader's `read_until(b'\n')` for the request and header lines, one write of
//! the response per request — so that `wrk` compares the runtimes and not two servers.
//!
//! ```text
//! cargo run --release -p tulip-benches --bin http_hello_tokio [-- --port 8080] [--workers N]
//! ```
//!
//! `--workers 1` (the default) is tokio's current-thread runtime, tulip's default loop;
//! `--workers N` is the multi-thread runtime with N workers. It prints
//! `serving on http://127.0.0.1:PORT` once it listens (`--port 0`: any free port).

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

const BODY: &[u8] = b"Hello, world!";
/// The longest request or header line.
const LINE_LIMIT: u64 = 8 * 1024;
/// The most header lines in one request.
const MAX_HEADERS: usize = 100;

struct Head {
    keep_alive: bool,
    content_length: u64,
}

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

/// One line of at most LINE_LIMIT bytes; empty at end of stream.
async fn readline<R: AsyncBufReadExt + Unpin>(
    r: &mut R,
    line: &mut Vec<u8>,
) -> Result<(), Refusal> {
    line.clear();
    let n = (&mut *r)
        .take(LINE_LIMIT + 1)
        .read_until(b'\n', line)
        .await
        .map_err(|_| Refusal::BadRequest)?;
    if n as u64 > LINE_LIMIT {
        return Err(Refusal::BadRequest);
    }
    Ok(())
}

async fn read_head<R: AsyncBufReadExt + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
) -> Result<Option<Head>, Refusal> {
    if readline(reader, line).await.is_err() || line.is_empty() {
        return Ok(None);
    }
    let text = std::str::from_utf8(line).map_err(|_| Refusal::BadRequest)?;
    let mut parts = text.trim_end().split(' ');
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
        readline(reader, line).await?;
        let text = std::str::from_utf8(line).map_err(|_| Refusal::BadRequest)?;
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            return Ok(Some(head));
        }
        let (name, value) = text.split_once(':').ok_or(Refusal::BadRequest)?;
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

async fn serve(stream: TcpStream) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut line = Vec::new();
    loop {
        let head = match read_head(&mut reader, &mut line).await {
            Ok(Some(head)) => head,
            Ok(None) => break,
            Err(refusal) => {
                let status = match refusal {
                    Refusal::BadRequest => "400 Bad Request",
                    Refusal::LengthRequired => "411 Length Required",
                };
                let _ = write.write_all(&response(status, false, b"")).await;
                break;
            }
        };
        // The body, if any, is read and dropped.
        let copied = tokio::io::copy(
            &mut (&mut reader).take(head.content_length),
            &mut tokio::io::sink(),
        )
        .await;
        if !copied.is_ok_and(|n| n == head.content_length) {
            return;
        }
        if write
            .write_all(&response("200 OK", head.keep_alive, BODY))
            .await
            .is_err()
            || !head.keep_alive
        {
            break;
        }
    }
    let _ = write.shutdown().await;
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
    let rt = if workers > 1 {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    };
    rt.block_on(async move {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        println!(
            "serving on http://127.0.0.1:{}",
            listener.local_addr()?.port()
        );
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            tokio::spawn(serve(stream));
        }
    })
}
