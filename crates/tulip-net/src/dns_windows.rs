//! Name resolution on Windows: std's resolver (`ToSocketAddrs`, which calls the system's
//! `getaddrinfo`) on the loop's blocking pool, so a slow DNS server never blocks the loop.
//!
//! Only [`getaddrinfo`] (host and port to addresses) exists here; the hinted
//! `getaddrinfo_with` and `getnameinfo`, with their flag and error types, are Unix only.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

use windows_sys::Win32::Networking::WinSock::{WSAHOST_NOT_FOUND, WSANO_DATA};

/// An address family (the same as on Unix, where the hinted resolver takes it too): here for
/// tulip-protocol's datagram endpoints' `family=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Family {
    /// Any family (`AF_UNSPEC`).
    #[default]
    Any,
    /// IPv4 (`AF_INET`).
    Inet,
    /// IPv6 (`AF_INET6`).
    Inet6,
}

/// The addresses of `host` on the blocking pool, port filled in: what `bind`/`connect` use
/// for a name. Each address is listed once, in the resolver's order.
pub(crate) async fn lookup_stream(host: String, port: u16) -> io::Result<Vec<SocketAddr>> {
    let found = tulip_runtime::spawn_blocking(move || -> io::Result<Vec<SocketAddr>> {
        let mut addrs: Vec<SocketAddr> = Vec::new();
        for a in (host.as_str(), port).to_socket_addrs().map_err(|e| {
            let kind = match e.raw_os_error() {
                Some(WSAHOST_NOT_FOUND) | Some(WSANO_DATA) => io::ErrorKind::NotFound,
                _ => e.kind(),
            };
            io::Error::new(kind, format!("could not resolve {host}: {e}"))
        })? {
            if !addrs.contains(&a) {
                addrs.push(a);
            }
        }
        Ok(addrs)
    })
    .await
    .map_err(|e| io::Error::other(format!("resolver job failed: {e}")))??;
    Ok(found)
}

/// Resolves `host` to its socket addresses, with `port` filled in (asyncio's
/// `loop.getaddrinfo(host, port)`, keeping only the addresses, each once).
///
/// The resolver runs on the loop's blocking pool; the loop goes on meanwhile. An IP literal
/// comes back as it is.
///
/// # Errors
///
/// The resolver's error (on Windows an `io::Error` carrying its message; `NotFound` when the
/// name could not be resolved).
///
/// # Cancel safety
///
/// Cancel safe: dropping the future discards the answer (the resolver call itself runs to
/// its end on the pool).
pub async fn getaddrinfo(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    lookup_stream(host.to_string(), port).await
}
