//! A hand-written epoll echo loop: the yardstick for `tcp_echo` (what the same round trips
//! cost with no runtime at all) and the one client every server of the cross-process echo
//! is measured with.
//!
//! One thread, one epoll instance, every socket non-blocking and registered once,
//! edge-triggered, for reading only (a 64-byte write to an idle loopback socket is always taken
//! whole, so nothing ever waits to write). On a readiness event a socket is read into a 4 KiB
//! buffer until a read comes back short (a stream socket is then empty: no `EAGAIN` call
//! needed) or says `WouldBlock`; nothing is read before its event. A round trip therefore costs
//! two `send`s, two `recv`s and a share of one `epoll_wait` — the floor a runtime can aim at.
//!
//! The protocol is `tcp_echo`'s: a client writes [`MSG`] bytes and waits for all of them to
//! come back before writing again; a server writes back whatever it reads.

use std::io;
use std::mem::MaybeUninit;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use rustix::event::epoll::{self, EventData, EventFlags};
use rustix::net::{RecvFlags, SendFlags};

/// The message size of the echo workloads.
pub const MSG: usize = 64;
/// The read buffer of each socket.
const BUF: usize = 4096;
/// Events taken per `epoll_wait`.
const BATCH: usize = 256;

enum Role {
    /// Round trips still to make, and bytes of the current reply received so far.
    Client {
        left: u64,
        got: usize,
    },
    Server,
}

struct Conn {
    sock: TcpStream,
    role: Role,
    open: bool,
}

fn send_all(sock: &TcpStream, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match rustix::net::send(sock, buf, SendFlags::NOSIGNAL) {
            Ok(n) => buf = &buf[n..],
            Err(rustix::io::Errno::INTR) => {}
            // The send buffer of an idle loopback socket always has room for a message;
            // spin rather than add write interest for a case that does not happen.
            Err(rustix::io::Errno::AGAIN) => std::hint::spin_loop(),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Runs `rounds` round trips on every client socket and echoes on every server socket (any
/// of the two lists may be empty: the cross-process client has only clients), all on this
/// thread. Returns the time from the first write to the last reply.
///
/// # Errors
///
/// The first failing system call; a client whose connection ends early is an
/// `UnexpectedEof` error.
pub fn echo_loop(
    clients: Vec<TcpStream>,
    servers: Vec<TcpStream>,
    rounds: u64,
) -> io::Result<Duration> {
    let ep = epoll::create(epoll::CreateFlags::CLOEXEC)?;
    let mut conns: Vec<Conn> = Vec::with_capacity(clients.len() + servers.len());
    for sock in clients {
        conns.push(Conn {
            sock,
            role: Role::Client {
                left: rounds,
                got: 0,
            },
            open: true,
        });
    }
    for sock in servers {
        conns.push(Conn {
            sock,
            role: Role::Server,
            open: true,
        });
    }
    for (i, c) in conns.iter().enumerate() {
        c.sock.set_nonblocking(true)?;
        epoll::add(
            &ep,
            &c.sock,
            EventData::new_u64(i as u64),
            EventFlags::IN | EventFlags::RDHUP | EventFlags::ET,
        )?;
    }
    let msg = [7u8; MSG];
    let mut buf = vec![0u8; BUF];
    let mut events = [MaybeUninit::<epoll::Event>::uninit(); BATCH];
    let start = Instant::now();
    let mut active = 0usize;
    for c in &conns {
        if let Role::Client { left, .. } = c.role {
            if left > 0 {
                send_all(&c.sock, &msg)?;
                active += 1;
            }
        }
    }
    while active > 0 {
        let ready = match epoll::wait(&ep, &mut events, None) {
            Ok((ready, _)) => ready,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        };
        for ev in ready.iter() {
            let c = &mut conns[ev.data.u64() as usize];
            if !c.open {
                continue;
            }
            // Read until the socket is known empty.
            loop {
                let n = match rustix::net::recv(&c.sock, &mut buf[..], RecvFlags::empty()) {
                    Ok((n, _)) => n,
                    Err(rustix::io::Errno::AGAIN) => break,
                    Err(rustix::io::Errno::INTR) => continue,
                    Err(e) => return Err(e.into()),
                };
                if n == 0 {
                    c.open = false;
                    if let Role::Client { left, .. } = c.role {
                        if left > 0 {
                            return Err(io::Error::new(
                                io::ErrorKind::UnexpectedEof,
                                "the server closed a connection before the last reply",
                            ));
                        }
                    }
                    break;
                }
                match &mut c.role {
                    Role::Server => send_all(&c.sock, &buf[..n])?,
                    Role::Client { left, got } => {
                        *got += n;
                        if *got >= MSG {
                            if *got > MSG {
                                return Err(io::Error::other("a reply longer than the message"));
                            }
                            *got = 0;
                            *left -= 1;
                            if *left == 0 {
                                active -= 1;
                            } else {
                                send_all(&c.sock, &msg)?;
                            }
                        }
                    }
                }
                if n < BUF {
                    break;
                }
            }
        }
    }
    Ok(start.elapsed())
}
