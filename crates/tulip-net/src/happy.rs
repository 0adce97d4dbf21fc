//! Happy Eyeballs (RFC 8305): racing connection attempts to the addresses a name resolved to.
//!
//! Attempt `k + 1` starts when attempt `k` fails or when the "connection attempt delay" has
//! passed since it started, whichever comes first; the first attempt to succeed wins and the
//! others are dropped (closing their sockets). Addresses are interleaved by family first, so
//! a host whose IPv6 route is broken costs one delay, not one timeout per IPv6 address.
//! asyncio's `staggered_race` and `_interleave_addrinfos` work the same way.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tulip_reactor::Sleep;

/// Every address's failure when no connection attempt succeeded.
///
/// It reaches callers inside an [`io::Error`] whose kind is that of the failures when they
/// all agree (say `ConnectionRefused`), `Other` otherwise.
///
/// # Examples
///
/// ```
/// use tulip_net::{ConnectError, TcpListener, TcpStream};
///
/// tulip_runtime::run(async {
///     // A port nobody listens on: bind one, note it, close it.
///     let port = TcpListener::bind("127.0.0.1:0").await?.local_addr()?.port();
///     let err = TcpStream::connect(("127.0.0.1", port)).await.unwrap_err();
///     assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
///     let all = err.get_ref().and_then(|e| e.downcast_ref::<ConnectError>()).unwrap();
///     assert_eq!(all.attempts().len(), 1);
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug)]
pub struct ConnectError {
    attempts: Vec<(SocketAddr, io::Error)>,
}

impl ConnectError {
    /// Each address tried, with its error, in the order they were tried.
    pub fn attempts(&self) -> &[(SocketAddr, io::Error)] {
        &self.attempts
    }

    fn into_io(self) -> io::Error {
        let first = self.attempts.first().map(|(_, e)| e.kind());
        let kind = match first {
            Some(k) if self.attempts.iter().all(|(_, e)| e.kind() == k) => k,
            _ => io::ErrorKind::Other,
        };
        io::Error::new(kind, self)
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.attempts.as_slice() {
            [] => f.write_str("could not connect: no address to try"),
            [(addr, e)] => write!(f, "could not connect to {addr}: {e}"),
            many => {
                write!(f, "could not connect to any of {} addresses: ", many.len())?;
                for (i, (addr, e)) in many.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{addr}: {e}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.attempts
            .first()
            .map(|(_, e)| e as &(dyn std::error::Error + 'static))
    }
}

/// Orders addresses for the race: `first_family_count` addresses of the first family, then
/// one of each family in turn (RFC 8305 section 4; asyncio's `_interleave_addrinfos`).
pub(crate) fn interleave(addrs: Vec<SocketAddr>, first_family_count: usize) -> Vec<SocketAddr> {
    let (mut a, mut b): (Vec<SocketAddr>, Vec<SocketAddr>) = (Vec::new(), Vec::new());
    let first_is_v6 = addrs.first().is_some_and(|x| x.is_ipv6());
    for x in addrs {
        if x.is_ipv6() == first_is_v6 {
            a.push(x);
        } else {
            b.push(x);
        }
    }
    let mut out = Vec::with_capacity(a.len() + b.len());
    let lead = first_family_count.saturating_sub(1).min(a.len());
    let mut a = a.into_iter();
    out.extend(a.by_ref().take(lead));
    let mut b = b.into_iter();
    loop {
        match (a.next(), b.next()) {
            (None, None) => break,
            (x, y) => out.extend(x.into_iter().chain(y)),
        }
    }
    out
}

type Attempt<T> = Pin<Box<dyn Future<Output = io::Result<T>> + Send>>;

/// Runs connection attempts to `addrs` in order, staggered by `delay` (`None`: one after
/// another, each waiting for the previous one to fail), and returns the first success.
pub(crate) async fn race<T, F, Fut>(
    addrs: Vec<SocketAddr>,
    delay: Option<Duration>,
    mut attempt: F,
) -> io::Result<T>
where
    F: FnMut(SocketAddr) -> Fut,
    Fut: Future<Output = io::Result<T>> + Send + 'static,
{
    if addrs.len() == 1 {
        // The common case needs no race and no boxing.
        let addr = addrs[0];
        return attempt(addr).await.map_err(|e| {
            ConnectError {
                attempts: vec![(addr, e)],
            }
            .into_io()
        });
    }
    let mut race = Race {
        addrs,
        next: 0,
        running: Vec::new(),
        failures: Vec::new(),
        delay,
        timer: None,
    };
    std::future::poll_fn(|cx| race.poll(cx, &mut attempt)).await
}

struct Race<T> {
    addrs: Vec<SocketAddr>,
    next: usize,
    running: Vec<(usize, Attempt<T>)>,
    failures: Vec<(usize, io::Error)>,
    delay: Option<Duration>,
    timer: Option<Pin<Box<Sleep>>>,
}

impl<T> Race<T> {
    fn start<F, Fut>(&mut self, attempt: &mut F)
    where
        F: FnMut(SocketAddr) -> Fut,
        Fut: Future<Output = io::Result<T>> + Send + 'static,
    {
        let i = self.next;
        self.next += 1;
        self.running.push((i, Box::pin(attempt(self.addrs[i]))));
        self.timer = self.delay.map(|d| Box::pin(tulip_reactor::sleep(d)));
    }

    fn poll<F, Fut>(&mut self, cx: &mut Context<'_>, attempt: &mut F) -> Poll<io::Result<T>>
    where
        F: FnMut(SocketAddr) -> Fut,
        Fut: Future<Output = io::Result<T>> + Send + 'static,
    {
        if self.next == 0 {
            self.start(attempt);
        }
        loop {
            let mut progressed = false;
            let mut k = 0;
            while k < self.running.len() {
                match self.running[k].1.as_mut().poll(cx) {
                    Poll::Ready(Ok(v)) => {
                        // The winner; dropping `self` drops (closes) the others.
                        return Poll::Ready(Ok(v));
                    }
                    Poll::Ready(Err(e)) => {
                        let (i, _) = self.running.swap_remove(k);
                        self.failures.push((i, e));
                        progressed = true;
                        // The newest attempt failed: start the next at once.
                        if i + 1 == self.next && self.next < self.addrs.len() {
                            self.start(attempt);
                        }
                    }
                    Poll::Pending => k += 1,
                }
            }
            let timer_fired = match self.timer.as_mut() {
                Some(t) if self.next < self.addrs.len() => t.as_mut().poll(cx).is_ready(),
                _ => false,
            };
            if timer_fired {
                self.start(attempt);
                progressed = true;
            }
            if self.running.is_empty() && self.next >= self.addrs.len() {
                let mut failures = std::mem::take(&mut self.failures);
                failures.sort_by_key(|(i, _)| *i);
                let attempts = failures
                    .into_iter()
                    .map(|(i, e)| (self.addrs[i], e))
                    .collect();
                return Poll::Ready(Err(ConnectError { attempts }.into_io()));
            }
            if !progressed {
                return Poll::Pending;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(n: u8) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, n], 80))
    }
    fn v6(n: u16) -> SocketAddr {
        SocketAddr::from(([0xfe80, 0, 0, 0, 0, 0, 0, n], 80))
    }

    #[test]
    fn interleave_alternates_families_keeping_order() {
        let got = interleave(vec![v6(1), v6(2), v6(3), v4(1), v4(2)], 1);
        assert_eq!(got, [v6(1), v4(1), v6(2), v4(2), v6(3)]);
    }

    #[test]
    fn interleave_count_leads_with_the_first_family() {
        let got = interleave(vec![v4(1), v4(2), v4(3), v6(1)], 2);
        assert_eq!(got, [v4(1), v4(2), v6(1), v4(3)]);
    }

    #[test]
    fn interleave_one_family_is_unchanged() {
        let got = interleave(vec![v4(3), v4(1), v4(2)], 1);
        assert_eq!(got, [v4(3), v4(1), v4(2)]);
    }

    #[test]
    fn connect_error_names_every_address_and_keeps_a_common_kind() {
        let refused = || io::Error::from(io::ErrorKind::ConnectionRefused);
        let e = ConnectError {
            attempts: vec![(v4(1), refused()), (v6(1), refused())],
        }
        .into_io();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
        let msg = e.to_string();
        assert!(
            msg.contains("10.0.0.1:80") && msg.contains("[fe80::1]:80"),
            "{msg}"
        );
        let mixed = ConnectError {
            attempts: vec![
                (v4(1), refused()),
                (v6(1), io::Error::from(io::ErrorKind::TimedOut)),
            ],
        }
        .into_io();
        assert_eq!(mixed.kind(), io::ErrorKind::Other);
    }
}
