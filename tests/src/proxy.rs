//! A small fault-injecting TCP proxy for the fault tests (tests/faults_*.rs): it sits between
//! a client and a server on loopback and delays, cuts or resets what passes, where `tc netem`
//! is not available. It runs on plain threads with blocking sockets, so it behaves the same
//! whatever loop, backend or worker count the code under test uses.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// What the proxy does to the bytes flowing from the server back to the client (the client's
/// bytes always go through untouched, so a request always arrives).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Passes everything, each chunk after a pause.
    Delay(Duration),
    /// Passes the first `n` bytes, then closes both sides cleanly (FIN): the client sees a
    /// truncated stream.
    CloseAfter(usize),
    /// Passes the first `n` bytes, then resets the client's connection (`SO_LINGER` 0, RST).
    ResetAfter(usize),
}

/// A proxy listening on `127.0.0.1:<port>` that forwards each connection to `upstream`,
/// applying one [`Fault`]. Dropping it stops accepting (connections already made run on
/// until one side closes).
#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    connections: Arc<AtomicUsize>,
    acceptor: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Starts a proxy to `upstream`.
    pub fn start(upstream: SocketAddr, fault: Fault) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(AtomicUsize::new(0));
        let acceptor = {
            let (stop, connections) = (stop.clone(), connections.clone());
            std::thread::spawn(move || {
                for client in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(client) = client else { continue };
                    let Ok(server) = TcpStream::connect(upstream) else {
                        continue;
                    };
                    connections.fetch_add(1, Ordering::SeqCst);
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    pipe(client, server, fault);
                }
            })
        };
        Proxy {
            addr,
            stop,
            connections,
            acceptor: Some(acceptor),
        }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many connections the proxy has forwarded so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop with one last connection, which it drops.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.acceptor.take() {
            let _ = t.join();
        }
    }
}

/// Forwards client -> server untouched and server -> client through `fault`, one thread per
/// direction.
fn pipe(client: TcpStream, server: TcpStream, fault: Fault) {
    let (c_read, s_write) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    std::thread::spawn(move || {
        let (mut from, mut to) = (c_read, s_write);
        let mut buf = [0u8; 16 << 10];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
    std::thread::spawn(move || {
        let (mut from, mut to) = (server, client);
        let mut buf = [0u8; 16 << 10];
        let mut passed = 0usize;
        let cut = match fault {
            Fault::Delay(_) => usize::MAX,
            Fault::CloseAfter(n) | Fault::ResetAfter(n) => n,
        };
        loop {
            if passed >= cut {
                break;
            }
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n.min(cut - passed),
            };
            if let Fault::Delay(d) = fault {
                std::thread::sleep(d);
            }
            if to.write_all(&buf[..n]).is_err() {
                break;
            }
            passed += n;
        }
        match fault {
            Fault::ResetAfter(_) => {
                // A close with SO_LINGER 0 sends RST instead of FIN.
                let _ = rustix::net::sockopt::set_socket_linger(&to, Some(Duration::ZERO));
                let _ = from.shutdown(Shutdown::Both);
                let _ = to.shutdown(Shutdown::Read);
                drop(to);
            }
            _ => {
                let _ = to.shutdown(Shutdown::Both);
                let _ = from.shutdown(Shutdown::Both);
            }
        }
    });
}
