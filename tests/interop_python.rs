//! tulip against real Python asyncio peers (issue 19, "Real peers"): programs nobody here
//! wrote, on the other end of a TCP stream, a UDP socket, a TLS connection and a pair of pipes.
//!
//! Each test starts `python3` running a small asyncio program (the scripts below) and plays
//! the other side with tulip, on loopback only, everything under a timeout. Without a
//! `python3` on the machine each test says so on stdout and passes.
//!
//! A Python client also runs against a tulip *protocol* server (`tulip::protocol`, asyncio's
//! transports and protocols) with the same exchange as the streams server. TLS against Python's own `ssl` in tests/net_tls.rs does not exist, so both TLS
//! directions are here. One TLS test runs a tulip *program* instead of an in-test server: the
//! port of PyMOTW-3's SSL echo server (example `pymotw_asyncio_echo_server_ssl`), against a
//! Python client that ends its message with a NUL byte as that chapter's client protocol does.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tulip::net::UdpSocket;
use tulip::process::{create_subprocess_exec, Child, Stdio};
use tulip::streams::{start_server, ConnectionOptions, ServerOptions, StreamReader, StreamWriter};

/// How long one exchange may take before the test fails.
const LIMIT: Duration = Duration::from_secs(30);

/// `python3`, when the machine has it (a message on stdout otherwise).
fn python(test: &str) -> Option<&'static str> {
    let found = std::process::Command::new("python3")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        println!("{test}: skipped, python3 is not on this machine");
    }
    found.then_some("python3")
}

/// Starts `python3 -c script args…` with stdout piped (stderr goes to the test's).
fn spawn_python(py: &str, script: &str, args: &[&str]) -> std::io::Result<Child> {
    let mut argv = vec!["-c", script];
    argv.extend_from_slice(args);
    create_subprocess_exec(py, argv)
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
}

/// The first line a Python server prints: `PORT <n>`.
async fn read_port(child: &mut Child) -> u16 {
    let line = child
        .stdout
        .as_mut()
        .expect("stdout is piped")
        .readline()
        .await
        .expect("the server's first line");
    let line = String::from_utf8_lossy(&line);
    line.trim()
        .strip_prefix("PORT ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("expected `PORT <n>` from the Python server, got {line:?}"))
}

/// Waits for a Python peer to end; its stdout (after what was already read) must be `want`.
async fn expect_exit(mut child: Child, want: &str) {
    let out = child.communicate(None).await.expect("wait for python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python3 failed ({}): {stdout}",
        out.status
    );
    assert_eq!(stdout.trim(), want, "what the Python peer printed");
}

fn run<F: std::future::Future>(fut: F) -> F::Output {
    tulip::run(async move {
        tulip::timeout(LIMIT, fut)
            .await
            .expect("the exchange with the Python peer took too long")
    })
}

/// A payload whose bytes all differ from their neighbours' (so a lost or reordered chunk
/// shows), `n` bytes.
fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

// ---------------------------------------------------------------------------------------------
// TCP streams

/// The Python client: sends lines, reads each echo, then 1 MiB with `write_eof` and reads the
/// echo to the end; prints what it checked.
const PY_STREAMS_CLIENT: &str = r#"
import asyncio, sys
async def main(port):
    reader, writer = await asyncio.open_connection('127.0.0.1', port)
    for i in range(100):
        line = f'line {i}\n'.encode()
        writer.write(line)
        await writer.drain()
        back = await reader.readline()
        assert back == line, (back, line)
    big = bytes((i * 7 + i // 251) % 256 for i in range(1 << 20))
    writer.write(b'BULK\n')
    writer.write(big)
    writer.write_eof()
    await writer.drain()
    echoed = await reader.read()
    assert echoed == big, (len(echoed), len(big))
    writer.close()
    await writer.wait_closed()
    print('ok 100 lines and', len(echoed), 'bytes')
asyncio.run(main(int(sys.argv[1])))
"#;

/// The tulip handler: echoes lines until `BULK`, then echoes everything to end of stream.
async fn echo_lines_then_bulk(mut reader: StreamReader, writer: StreamWriter) {
    loop {
        let Ok(line) = reader.readline().await else {
            return;
        };
        if line.is_empty() {
            return;
        }
        if line == b"BULK\n" {
            break;
        }
        writer.write(&line);
        if writer.drain().await.is_err() {
            return;
        }
    }
    loop {
        match reader.read(64 * 1024).await {
            Ok(data) if !data.is_empty() => {
                writer.write(&data);
                if writer.drain().await.is_err() {
                    return;
                }
            }
            _ => break,
        }
    }
    writer.close();
    let _ = writer.wait_closed().await;
}

#[test]
fn a_python_asyncio_client_against_a_tulip_streams_server() {
    let Some(py) = python("a_python_asyncio_client_against_a_tulip_streams_server") else {
        return;
    };
    run(async {
        let server = start_server(echo_lines_then_bulk, "127.0.0.1:0")
            .await
            .unwrap();
        let port = server.local_addrs()[0]
            .as_inet()
            .unwrap()
            .port()
            .to_string();
        let child = spawn_python(py, PY_STREAMS_CLIENT, &[&port]).unwrap();
        expect_exit(child, "ok 100 lines and 1048576 bytes").await;
        server.close();
        server.wait_closed().await;
    });
}

/// The streams handler's exchange as a protocol: echoes whole lines until `BULK`, then every
/// byte, and lets the transport close at end of stream (writing what is buffered first).
#[derive(Default)]
struct LinesThenBulk {
    transport: Option<tulip::protocol::Transport>,
    pending: Vec<u8>,
    bulk: bool,
}

impl tulip::protocol::Protocol for LinesThenBulk {
    fn connection_made(&mut self, transport: tulip::protocol::Transport) {
        self.transport = Some(transport);
    }

    fn data_received(&mut self, data: &[u8]) {
        let t = self.transport.as_ref().expect("connection_made came first");
        if self.bulk {
            t.write(data);
            return;
        }
        self.pending.extend_from_slice(data);
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            if line == b"BULK\n" {
                self.bulk = true;
                let rest = std::mem::take(&mut self.pending);
                t.write(&rest);
                return;
            }
            t.write(&line);
        }
    }

    fn eof_received(&mut self) -> bool {
        false
    }
}

#[test]
fn a_python_asyncio_client_against_a_tulip_protocol_server() {
    let Some(py) = python("a_python_asyncio_client_against_a_tulip_protocol_server") else {
        return;
    };
    run(async {
        let server = tulip::protocol::create_server(LinesThenBulk::default, "127.0.0.1:0")
            .await
            .unwrap();
        let port = server.local_addrs()[0]
            .as_inet()
            .unwrap()
            .port()
            .to_string();
        let child = spawn_python(py, PY_STREAMS_CLIENT, &[&port]).unwrap();
        expect_exit(child, "ok 100 lines and 1048576 bytes").await;
        server.close();
        server.wait_closed().await;
    });
}

/// The Python server: `asyncio.start_server` echo (lines until `BULK`, then to the end), one
/// connection, then exits; prints its port first.
const PY_STREAMS_SERVER: &str = r#"
import asyncio, sys
async def main():
    done = asyncio.Event()
    async def echo(reader, writer):
        while True:
            line = await reader.readline()
            if not line or line == b'BULK\n':
                break
            writer.write(line)
            await writer.drain()
        total = 0
        while True:
            data = await reader.read(65536)
            if not data:
                break
            total += len(data)
            writer.write(data)
            await writer.drain()
        writer.close()
        await writer.wait_closed()
        print('served', total, 'bytes', flush=True)
        done.set()
    server = await asyncio.start_server(echo, '127.0.0.1', 0)
    print('PORT', server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await done.wait()
asyncio.run(main())
"#;

#[test]
fn a_tulip_client_against_a_python_asyncio_server() {
    let Some(py) = python("a_tulip_client_against_a_python_asyncio_server") else {
        return;
    };
    run(async {
        let mut child = spawn_python(py, PY_STREAMS_SERVER, &[]).unwrap();
        let port = read_port(&mut child).await;
        let (mut reader, writer) = tulip::streams::open_connection(("127.0.0.1", port))
            .await
            .unwrap();
        for i in 0..100 {
            let line = format!("line {i}\n");
            writer.write(line.as_bytes());
            writer.drain().await.unwrap();
            assert_eq!(reader.readline().await.unwrap(), line.as_bytes());
        }
        let big = payload(1 << 20);
        writer.write(b"BULK\n");
        writer.write(&big);
        writer.write_eof().unwrap();
        writer.drain().await.unwrap();
        let echoed = reader.read_to_end().await.unwrap();
        assert!(
            echoed == big,
            "{} bytes back of {}",
            echoed.len(),
            big.len()
        );
        writer.close();
        writer.wait_closed().await.unwrap();
        expect_exit(child, "served 1048576 bytes").await;
    });
}

// ---------------------------------------------------------------------------------------------
// UDP

/// The Python client: `create_datagram_endpoint` to the tulip socket, 50 datagrams one at a
/// time, each echo checked.
const PY_UDP_CLIENT: &str = r#"
import asyncio, sys
class Client(asyncio.DatagramProtocol):
    def __init__(self):
        self.replies = asyncio.Queue()
    def datagram_received(self, data, addr):
        self.replies.put_nowait(data)
async def main(port):
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(
        Client, remote_addr=('127.0.0.1', port))
    for i in range(50):
        msg = f'datagram {i}'.encode() * (i + 1)
        transport.sendto(msg)
        back = await asyncio.wait_for(proto.replies.get(), 10)
        assert back == msg.upper(), (back, msg)
    transport.close()
    print('ok 50 datagrams')
asyncio.run(main(int(sys.argv[1])))
"#;

#[test]
fn udp_a_python_asyncio_endpoint_against_a_tulip_socket() {
    let Some(py) = python("udp_a_python_asyncio_endpoint_against_a_tulip_socket") else {
        return;
    };
    run(async {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let port = socket.local_addr().unwrap().port().to_string();
        let child = spawn_python(py, PY_UDP_CLIENT, &[&port]).unwrap();
        // Echo upper-cased, 50 datagrams.
        let mut buf = vec![0u8; 65536];
        for _ in 0..50 {
            let (n, from) = socket.recv_from(&mut buf).await.unwrap();
            let reply = buf[..n].to_ascii_uppercase();
            socket.send_to(&reply, from).await.unwrap();
        }
        expect_exit(child, "ok 50 datagrams").await;
    });
}

/// The Python server: a datagram endpoint that echoes upper-cased until it gets `STOP`.
const PY_UDP_SERVER: &str = r#"
import asyncio
class Echo(asyncio.DatagramProtocol):
    def __init__(self, done):
        self.done, self.count = done, 0
    def connection_made(self, transport):
        self.transport = transport
    def datagram_received(self, data, addr):
        if data == b'STOP':
            self.done.set_result(self.count)
            return
        self.count += 1
        self.transport.sendto(data.upper(), addr)
async def main():
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: Echo(done), local_addr=('127.0.0.1', 0))
    print('PORT', transport.get_extra_info('sockname')[1], flush=True)
    count = await done
    transport.close()
    print('echoed', count, 'datagrams')
asyncio.run(main())
"#;

#[test]
fn udp_a_tulip_socket_against_a_python_asyncio_endpoint() {
    let Some(py) = python("udp_a_tulip_socket_against_a_python_asyncio_endpoint") else {
        return;
    };
    run(async {
        let mut child = spawn_python(py, PY_UDP_SERVER, &[]).unwrap();
        let port = read_port(&mut child).await;
        let peer: SocketAddr = ([127, 0, 0, 1], port).into();
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        socket.connect(peer).await.unwrap();
        let mut buf = vec![0u8; 65536];
        for i in 0..50 {
            let msg = format!("datagram {i} ").repeat(i + 1);
            socket.send(msg.as_bytes()).await.unwrap();
            let n = socket.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], msg.to_uppercase().as_bytes());
        }
        socket.send(b"STOP").await.unwrap();
        expect_exit(child, "echoed 50 datagrams").await;
    });
}

// ---------------------------------------------------------------------------------------------
// TLS

/// A scratch directory holding a CA certificate and a `localhost` certificate and key (PEM),
/// and the matching rustls configurations.
struct Pki {
    dir: PathBuf,
    ca: String,
    cert: String,
    key: String,
    server: std::sync::Arc<tulip::tls::rustls::ServerConfig>,
    client: std::sync::Arc<tulip::tls::rustls::ClientConfig>,
}

impl Pki {
    fn new(test: &str) -> Pki {
        let dir = std::env::temp_dir().join(format!("tulip-interop-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca = tulip_tests::pki::Ca::new("tulip interop CA");
        let leaf = ca.leaf(&["localhost", "127.0.0.1"]);
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path.to_string_lossy().into_owned()
        };
        Pki {
            ca: write("ca.pem", &ca.cert_pem()),
            cert: write("cert.pem", &leaf.cert_pem),
            key: write("key.pem", &leaf.key_pem),
            server: std::sync::Arc::new(ca.server_config(&leaf)),
            client: std::sync::Arc::new(ca.client_config()),
            dir,
        }
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The Python TLS client: verifies the server against the CA and the name `localhost`, sends
/// lines and reads each echo (Python's TLS transport cannot half-close), then closes.
const PY_TLS_CLIENT: &str = r#"
import asyncio, ssl, sys
async def main(port, ca):
    ctx = ssl.create_default_context(cafile=ca)
    reader, writer = await asyncio.open_connection(
        '127.0.0.1', port, ssl=ctx, server_hostname='localhost')
    n = 0
    for i in range(100):
        line = (f'secret {i} ' * (i + 1)).encode() + b'\n'
        writer.write(line)
        await writer.drain()
        back = await reader.readline()
        assert back == line, (back, line)
        n += len(back)
    writer.close()
    await writer.wait_closed()
    print('ok', n, 'bytes over', writer.get_extra_info('ssl_object').version())
asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
"#;

#[test]
fn tls_a_python_asyncio_client_against_a_tulip_server() {
    let Some(py) = python("tls_a_python_asyncio_client_against_a_tulip_server") else {
        return;
    };
    let pki = Pki::new("tls-server");
    run(async {
        let server = ServerOptions::new()
            .ssl(pki.server.clone())
            .start_server(echo_lines_then_bulk, "127.0.0.1:0")
            .await
            .unwrap();
        let port = server.local_addrs()[0]
            .as_inet()
            .unwrap()
            .port()
            .to_string();
        let child = spawn_python(py, PY_TLS_CLIENT, &[&port, &pki.ca]).unwrap();
        let bytes: usize = (0..100)
            .map(|i| format!("secret {i} ").len() * (i + 1) + 1)
            .sum();
        expect_exit(child, &format!("ok {bytes} bytes over TLSv1.3")).await;
        server.close();
        server.wait_closed().await;
    });
}

/// The Python TLS server: `start_server(ssl=…)` with the `localhost` certificate; echoes
/// lines until the client closes, then exits.
const PY_TLS_SERVER: &str = r#"
import asyncio, ssl, sys
async def main(cert, key):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    done = asyncio.Event()
    async def echo(reader, writer):
        n = 0
        while True:
            line = await reader.readline()
            if not line:
                break
            n += 1
            writer.write(line)
            await writer.drain()
        writer.close()
        print('echoed', n, 'lines', flush=True)
        done.set()
    server = await asyncio.start_server(echo, '127.0.0.1', 0, ssl=ctx)
    print('PORT', server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await done.wait()
asyncio.run(main(sys.argv[1], sys.argv[2]))
"#;

#[test]
fn tls_a_tulip_client_against_a_python_asyncio_server() {
    let Some(py) = python("tls_a_tulip_client_against_a_python_asyncio_server") else {
        return;
    };
    let pki = Pki::new("tls-client");
    run(async {
        let mut child = spawn_python(py, PY_TLS_SERVER, &[&pki.cert, &pki.key]).unwrap();
        let port = read_port(&mut child).await;
        let (mut reader, writer) = ConnectionOptions::new()
            .ssl(pki.client.clone())
            .server_hostname("localhost")
            .open_connection(("127.0.0.1", port))
            .await
            .unwrap();
        for i in 0..100 {
            let line = format!("secret {i} ").repeat(i + 1) + "\n";
            writer.write(line.as_bytes());
            writer.drain().await.unwrap();
            assert_eq!(reader.readline().await.unwrap(), line.as_bytes());
        }
        // End of stream over TLS: close_notify, which Python's reader sees as EOF.
        writer.write_eof().unwrap();
        writer.drain().await.unwrap();
        assert_eq!(reader.read_to_end().await.unwrap(), b"");
        writer.close();
        let _ = writer.wait_closed().await;
        expect_exit(child, "echoed 100 lines").await;
    });
}

/// A Python asyncio TLS client written the way PyMOTW-3's SSL echo client is meant to talk to
/// its server (Python's TLS transport cannot half-close, so a NUL byte ends the message):
/// the message in parts, a NUL, then everything the server sends until it closes. Two
/// connections: PyMOTW's three-part message, then 1000 bytes (several of the server's
/// 128-byte reads). Verifies the server against the CA and the name `localhost`.
const PY_NUL_TLS_CLIENT: &str = r#"
import asyncio, ssl, sys
async def exchange(port, ctx, parts):
    reader, writer = await asyncio.open_connection('localhost', port, ssl=ctx)
    for part in parts:
        writer.write(part)
    writer.write(b'\x00')
    await writer.drain()
    echoed = b''
    while True:
        data = await reader.read(128)
        if not data:
            break
        echoed += data
    assert echoed == b''.join(parts), (echoed, parts)
    version = writer.get_extra_info('ssl_object').version()
    writer.close()
    try:
        await writer.wait_closed()
    except (ConnectionError, ssl.SSLError):
        pass
    return len(echoed), version
async def main(port, ca):
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
    first, version = await exchange(
        port, ctx, [b'This is the message. ', b'It will be sent ', b'in parts.'])
    second, _ = await exchange(port, ctx, [bytes(65 + i % 26 for i in range(1000))])
    print('ok', first, 'and', second, 'bytes echoed over', version)
asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
"#;

#[test]
fn tls_a_python_nul_terminated_client_against_the_pymotw_ssl_echo_server() {
    let Some(py) = python("tls_a_python_nul_terminated_client_against_the_pymotw_ssl_echo_server")
    else {
        return;
    };
    let pki = Pki::new("tls-pymotw");
    run(async {
        // The tulip port of PyMOTW's SSL echo server, on any free port, with our certificate.
        let mut server = create_subprocess_exec(
            env!("CARGO_BIN_EXE_pymotw_asyncio_echo_server_ssl"),
            ["--port", "0", pki.cert.as_str(), pki.key.as_str()],
        )
        .stderr(Stdio::piped())
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
        let log = server.stderr.as_mut().expect("stderr is piped");
        let port = loop {
            let line = log.readline().await.expect("the server's log");
            assert!(
                !line.is_empty(),
                "the SSL echo server ended before it listened"
            );
            let line = String::from_utf8_lossy(&line);
            if let Some(p) = line
                .trim()
                .strip_prefix("main: starting up on localhost port ")
            {
                break p.to_string();
            }
        };
        let child = spawn_python(py, PY_NUL_TLS_CLIENT, &[&port, &pki.ca]).unwrap();
        expect_exit(child, "ok 46 and 1000 bytes echoed over TLSv1.3").await;
        // The server logged both messages' ends (at the NUL: the client never closed first).
        let mut terminated = 0;
        while terminated < 2 {
            let line = log.readline().await.expect("the server's log");
            assert!(!line.is_empty(), "the SSL echo server ended early");
            if line.ends_with(b"message terminated, closing connection\n") {
                terminated += 1;
            }
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Pipes

/// The Python child: reads all of stdin, writes it back reversed on stdout and a summary on
/// stderr, and exits with status 3.
const PY_CHILD: &str = r#"
import sys
data = sys.stdin.buffer.read()
sys.stdout.buffer.write(data[::-1])
sys.stderr.write(f'read {len(data)} bytes\n')
sys.exit(3)
"#;

// CPython test_asyncio test_subprocess (test_communicate, with a large input) against a real
// Python child: more than any pipe buffer each way, no deadlock, exit status kept.
#[test]
fn a_tulip_parent_drives_a_python_child_with_communicate() {
    let Some(py) = python("a_tulip_parent_drives_a_python_child_with_communicate") else {
        return;
    };
    run(async {
        let mut child = create_subprocess_exec(py, ["-c", PY_CHILD])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let input = payload(4 << 20);
        let out = child.communicate(Some(input.clone())).await.unwrap();
        let mut reversed = input.clone();
        reversed.reverse();
        assert!(out.stdout == reversed, "{} bytes back", out.stdout.len());
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!("read {} bytes\n", input.len())
        );
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(child.returncode(), Some(3));
    });
}
