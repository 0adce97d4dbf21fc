//! Addresses: what `bind` and `connect` accept, and how names become addresses without
//! blocking the loop.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::path::Path;

/// Something that names one or more socket addresses: a [`SocketAddr`], an `(ip, port)` or
/// `(host, port)` pair, a `"host:port"` string, or a slice or `Vec` of addresses.
///
/// This is tulip's counterpart of [`std::net::ToSocketAddrs`]: a host name is resolved
/// through the system resolver on the loop's blocking pool, so it never blocks the loop
/// (asyncio's `getaddrinfo` runs in an executor for the same reason). An IP address in any of
/// these forms is used as it is, without a resolver call.
///
/// The trait is sealed: its method is an implementation detail.
///
/// # Examples
///
/// ```
/// use std::net::{Ipv4Addr, SocketAddr};
/// use tulip_net::TcpListener;
///
/// tulip_runtime::run(async {
///     // Each of these names the same address.
///     let a = TcpListener::bind("127.0.0.1:0").await?;
///     let b = TcpListener::bind(("127.0.0.1", 0)).await?;
///     let c = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
///     let d = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
///     for l in [a, b, c, d] {
///         assert!(l.local_addr()?.ip().is_loopback());
///     }
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub trait ToSocketAddrs: sealed::Sealed {
    #[doc(hidden)]
    fn to_addrs(&self) -> Addrs;
}

/// The host an address names, as TLS's default server name: the name itself, or the
/// first IP address.
#[cfg(feature = "tls")]
pub(crate) fn host_of<A: ToSocketAddrs + ?Sized>(addr: &A) -> Option<String> {
    match addr.to_addrs() {
        Addrs::Lookup(host, _) => Some(host),
        Addrs::Ready(v) => v.first().map(|a| a.ip().to_string()),
        Addrs::AnyHost(_) | Addrs::Invalid(_) => None,
    }
}

mod sealed {
    pub trait Sealed {}
}

/// What a [`ToSocketAddrs`] value turned into: addresses, or a name to resolve.
#[doc(hidden)]
#[derive(Debug)]
pub enum Addrs {
    /// Addresses, ready to use.
    Ready(Vec<SocketAddr>),
    /// A host name (not an IP literal) and a port.
    Lookup(String, u16),
    /// No host (`""` or `None`): every interface, for a server; an error for a connect.
    AnyHost(u16),
    /// The value could not be parsed.
    Invalid(io::Error),
}

macro_rules! ready_impl {
    ($($t:ty => |$v:ident| $e:expr;)*) => {$(
        impl sealed::Sealed for $t {}
        impl ToSocketAddrs for $t {
            fn to_addrs(&self) -> Addrs {
                let $v = self;
                Addrs::Ready(vec![$e])
            }
        }
    )*};
}

ready_impl! {
    SocketAddr => |a| *a;
    SocketAddrV4 => |a| SocketAddr::V4(*a);
    SocketAddrV6 => |a| SocketAddr::V6(*a);
    (IpAddr, u16) => |a| SocketAddr::new(a.0, a.1);
    (Ipv4Addr, u16) => |a| SocketAddr::new(IpAddr::V4(a.0), a.1);
    (Ipv6Addr, u16) => |a| SocketAddr::new(IpAddr::V6(a.0), a.1);
    ([u8; 4], u16) => |a| SocketAddr::from(*a);
}

impl sealed::Sealed for (&str, u16) {}
impl ToSocketAddrs for (&str, u16) {
    fn to_addrs(&self) -> Addrs {
        host_port(self.0, self.1)
    }
}

impl sealed::Sealed for (String, u16) {}
impl ToSocketAddrs for (String, u16) {
    fn to_addrs(&self) -> Addrs {
        host_port(&self.0, self.1)
    }
}

impl sealed::Sealed for str {}
impl ToSocketAddrs for str {
    fn to_addrs(&self) -> Addrs {
        if let Ok(a) = self.parse::<SocketAddr>() {
            return Addrs::Ready(vec![a]);
        }
        let Some((host, port)) = self.rsplit_once(':') else {
            return Addrs::Invalid(invalid(format!(
                "invalid socket address {self:?}: expected \"host:port\""
            )));
        };
        let Ok(port) = port.parse::<u16>() else {
            return Addrs::Invalid(invalid(format!(
                "invalid port {port:?} in socket address {self:?}"
            )));
        };
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        host_port(host, port)
    }
}

impl sealed::Sealed for String {}
impl ToSocketAddrs for String {
    fn to_addrs(&self) -> Addrs {
        self.as_str().to_addrs()
    }
}

impl sealed::Sealed for [SocketAddr] {}
impl ToSocketAddrs for [SocketAddr] {
    fn to_addrs(&self) -> Addrs {
        Addrs::Ready(self.to_vec())
    }
}

impl<const N: usize> sealed::Sealed for [SocketAddr; N] {}
impl<const N: usize> ToSocketAddrs for [SocketAddr; N] {
    fn to_addrs(&self) -> Addrs {
        Addrs::Ready(self.to_vec())
    }
}

impl sealed::Sealed for Vec<SocketAddr> {}
impl ToSocketAddrs for Vec<SocketAddr> {
    fn to_addrs(&self) -> Addrs {
        Addrs::Ready(self.clone())
    }
}

impl<T: ToSocketAddrs + ?Sized> sealed::Sealed for &T {}
impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {
    fn to_addrs(&self) -> Addrs {
        (**self).to_addrs()
    }
}

impl sealed::Sealed for (Option<&str>, u16) {}
impl ToSocketAddrs for (Option<&str>, u16) {
    fn to_addrs(&self) -> Addrs {
        match self.0 {
            Some(h) => host_port(h, self.1),
            None => Addrs::AnyHost(self.1),
        }
    }
}

fn host_port(host: &str, port: u16) -> Addrs {
    match host.parse::<IpAddr>() {
        Ok(ip) => Addrs::Ready(vec![SocketAddr::new(ip, port)]),
        Err(_) if host.is_empty() => Addrs::AnyHost(port),
        Err(_) => Addrs::Lookup(host.to_string(), port),
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// Resolves `addr` to at least one address, on the blocking pool when it names a host.
///
/// # Errors
///
/// An unparsable address (`InvalidInput`), a resolver failure (see
/// [`getaddrinfo`](crate::getaddrinfo)), or a name with no address.
pub(crate) async fn resolve<A: ToSocketAddrs + ?Sized>(addr: &A) -> io::Result<Vec<SocketAddr>> {
    let addrs = match addr.to_addrs() {
        Addrs::Ready(a) => a,
        Addrs::Invalid(e) => return Err(e),
        Addrs::Lookup(host, port) => crate::dns::lookup_stream(host, port).await?,
        Addrs::AnyHost(_) => {
            return Err(invalid(
                "no host given (an empty host means every interface, which only a server \
                 can bind; use \"0.0.0.0\" or \"::\" to bind one socket there)"
                    .to_string(),
            ))
        }
    };
    if addrs.is_empty() {
        return Err(invalid("no socket address to use".to_string()));
    }
    Ok(addrs)
}

/// Resolves the addresses a server binds: every address of a name (each once), or for no
/// host the IPv4 and IPv6 wildcards (asyncio's `host=None`).
pub(crate) async fn resolve_server<A: ToSocketAddrs + ?Sized>(
    addr: &A,
) -> io::Result<Vec<SocketAddr>> {
    match addr.to_addrs() {
        Addrs::AnyHost(port) => Ok(vec![
            SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
            SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port),
        ]),
        _ => resolve(addr).await,
    }
}

/// A socket address of any family tulip speaks: IPv4/IPv6, or a Unix domain socket address
/// (a path, an abstract name on Linux, or unnamed). What asyncio's
/// `get_extra_info("peername" | "sockname")` answers.
///
/// # Examples
///
/// ```
/// use tulip_net::SockAddr;
///
/// let a = SockAddr::from(std::net::SocketAddr::from(([127, 0, 0, 1], 8888)));
/// assert_eq!(a.as_inet().map(|a| a.port()), Some(8888));
/// assert_eq!(a.to_string(), "127.0.0.1:8888");
/// ```
#[derive(Debug, Clone)]
pub enum SockAddr {
    /// An IPv4 or IPv6 address.
    Inet(SocketAddr),
    /// A Unix domain socket address (Unix only: Windows has no Unix sockets here).
    #[cfg(unix)]
    Unix(std::os::unix::net::SocketAddr),
}

impl SockAddr {
    /// The IP address, for an IPv4/IPv6 socket.
    pub fn as_inet(&self) -> Option<SocketAddr> {
        match self {
            SockAddr::Inet(a) => Some(*a),
            #[cfg(unix)]
            SockAddr::Unix(_) => None,
        }
    }

    /// The Unix domain socket address, for a Unix socket (Unix only).
    #[cfg(unix)]
    pub fn as_unix(&self) -> Option<&std::os::unix::net::SocketAddr> {
        match self {
            SockAddr::Unix(a) => Some(a),
            SockAddr::Inet(_) => None,
        }
    }

    /// The path of a pathname Unix socket address (always `None` on Windows).
    pub fn as_path(&self) -> Option<&Path> {
        #[cfg(unix)]
        {
            self.as_unix().and_then(|a| a.as_pathname())
        }
        #[cfg(not(unix))]
        {
            None
        }
    }
}

impl From<SocketAddr> for SockAddr {
    fn from(a: SocketAddr) -> SockAddr {
        SockAddr::Inet(a)
    }
}

#[cfg(unix)]
impl From<std::os::unix::net::SocketAddr> for SockAddr {
    fn from(a: std::os::unix::net::SocketAddr) -> SockAddr {
        SockAddr::Unix(a)
    }
}

impl fmt::Display for SockAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SockAddr::Inet(a) => a.fmt(f),
            #[cfg(unix)]
            SockAddr::Unix(a) => fmt_unix(a, f),
        }
    }
}

/// Formats a Unix socket address: its path, `@name` for an abstract one, `(unnamed)`.
#[cfg(unix)]
pub(crate) fn fmt_unix(
    a: &std::os::unix::net::SocketAddr,
    f: &mut fmt::Formatter<'_>,
) -> fmt::Result {
    if let Some(p) = a.as_pathname() {
        return write!(f, "{}", p.display());
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        #[cfg(target_os = "android")]
        use std::os::android::net::SocketAddrExt;
        #[cfg(target_os = "linux")]
        use std::os::linux::net::SocketAddrExt;
        if let Some(name) = a.as_abstract_name() {
            return write!(f, "@{}", String::from_utf8_lossy(name));
        }
    }
    f.write_str("(unnamed)")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready(a: &(impl ToSocketAddrs + ?Sized)) -> Vec<SocketAddr> {
        match a.to_addrs() {
            Addrs::Ready(v) => v,
            other => panic!("expected addresses, got {other:?}"),
        }
    }

    #[test]
    fn literals_need_no_resolver() {
        assert_eq!(
            ready("127.0.0.1:80"),
            [SocketAddr::from(([127, 0, 0, 1], 80))]
        );
        assert_eq!(ready("[::1]:80")[0].ip(), IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert_eq!(ready(&("::1", 80))[0].port(), 80);
        assert_eq!(ready(&("10.0.0.1".to_string(), 7))[0].port(), 7);
        assert_eq!(ready(&([127, 0, 0, 1], 9))[0].port(), 9);
        assert_eq!(ready(&[SocketAddr::from(([127, 0, 0, 1], 1))][..]).len(), 1);
    }

    #[test]
    fn names_are_looked_up() {
        match "localhost:8080".to_addrs() {
            Addrs::Lookup(h, p) => assert_eq!((h.as_str(), p), ("localhost", 8080)),
            other => panic!("{other:?}"),
        }
        match ("example.invalid", 1).to_addrs() {
            Addrs::Lookup(h, p) => assert_eq!((h.as_str(), p), ("example.invalid", 1)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn no_host_means_every_interface() {
        assert!(matches!(":80".to_addrs(), Addrs::AnyHost(80)));
        assert!(matches!(("", 81).to_addrs(), Addrs::AnyHost(81)));
        assert!(matches!((None, 82).to_addrs(), Addrs::AnyHost(82)));
    }

    #[test]
    fn bad_strings_are_invalid_input() {
        for bad in ["no-port", "host:notaport", "host:70000"] {
            match bad.to_addrs() {
                Addrs::Invalid(e) => {
                    assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{bad}");
                    assert!(!e.to_string().is_empty());
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}
