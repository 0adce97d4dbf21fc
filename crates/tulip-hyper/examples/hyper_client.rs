//! An HTTP client on hyper 1.x and tulip: fetches a URL (plain `http://`) with GET and prints
//! the status, the headers and the body. `--http2` speaks HTTP/2 with prior knowledge (what
//! the hyper_server_h2 example serves).
//!
//! ```text
//! cargo run -p tulip-hyper --example hyper_server &
//! cargo run -p tulip-hyper --example hyper_client -- http://127.0.0.1:8080/
//! ```

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::{Request, Uri};
use tulip::net::TcpStream;
use tulip_hyper::{TulipExecutor, TulipIo, TulipTimer};

type Error = Box<dyn std::error::Error + Send + Sync>;

async fn fetch(uri: Uri, http2: bool) -> Result<(), Error> {
    if uri.scheme_str() != Some("http") {
        return Err(format!("only http:// URLs are supported, not {uri}").into());
    }
    let host = uri.host().ok_or("the URL has no host")?.to_string();
    let port = uri.port_u16().unwrap_or(80);
    let authority = uri.authority().ok_or("the URL has no host")?.clone();
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();

    let io = TulipIo::new(TcpStream::connect((host.as_str(), port)).await?);
    let req = Request::get(path).header(hyper::header::HOST, authority.as_str());
    let res = if http2 {
        let (mut sender, conn) = hyper::client::conn::http2::Builder::new(TulipExecutor::new())
            .timer(TulipTimer::new())
            .handshake(io)
            .await?;
        tulip::spawn(conn).detach();
        // HTTP/2 carries the authority in the request's URI, not in a Host header.
        let req = Request::get(uri).body(Empty::<Bytes>::new())?;
        sender.send_request(req).await?
    } else {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await?;
        tulip::spawn(conn).detach();
        sender
            .send_request(req.body(Empty::<Bytes>::new())?)
            .await?
    };
    println!("{:?} {}", res.version(), res.status());
    for (name, value) in res.headers() {
        println!("{name}: {}", value.to_str().unwrap_or("<binary>"));
    }
    println!();
    let mut body = res.into_body();
    while let Some(frame) = body.frame().await {
        if let Some(chunk) = frame?.data_ref() {
            print!("{}", String::from_utf8_lossy(chunk));
        }
    }
    println!();
    Ok(())
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let http2 = args.iter().any(|a| a == "--http2");
    let url = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map_or("http://127.0.0.1:8080/", String::as_str);
    let uri: Uri = url.parse()?;
    tulip::run(fetch(uri, http2))
}
