//! Name resolution through the system resolver (`getaddrinfo(3)`, `getnameinfo(3)`), run on
//! the loop's blocking pool so a slow DNS server never blocks the loop.
//!
//! std resolves names too (`ToSocketAddrs`), but offers neither `getaddrinfo`'s hints
//! (family, socket type, flags) nor `getnameinfo`, and its errors lose the resolver's code.
//! These are the only foreign calls of the crate.

#![allow(unsafe_code)] // reason: FFI to getaddrinfo/getnameinfo; every block has a SAFETY note

use std::ffi::{CStr, CString};
use std::fmt;
use std::io;
use std::mem::MaybeUninit;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::ops::BitOr;
use std::ptr;

/// An address family, for [`AddrInfoHints::family`] and [`AddrInfo::family`].
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

impl Family {
    fn raw(self) -> libc::c_int {
        match self {
            Family::Any => libc::AF_UNSPEC,
            Family::Inet => libc::AF_INET,
            Family::Inet6 => libc::AF_INET6,
        }
    }
}

/// A socket type, for [`AddrInfoHints::socktype`] and [`AddrInfo::socktype`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SockType {
    /// Any type (0): the resolver lists each address once per type it supports.
    #[default]
    Any,
    /// `SOCK_STREAM` (TCP).
    Stream,
    /// `SOCK_DGRAM` (UDP).
    Datagram,
    /// `SOCK_RAW`.
    Raw,
    /// Another type, by number.
    Other(i32),
}

impl SockType {
    fn raw(self) -> libc::c_int {
        match self {
            SockType::Any => 0,
            SockType::Stream => libc::SOCK_STREAM,
            SockType::Datagram => libc::SOCK_DGRAM,
            SockType::Raw => libc::SOCK_RAW,
            SockType::Other(n) => n,
        }
    }

    fn from_raw(n: libc::c_int) -> SockType {
        match n {
            0 => SockType::Any,
            libc::SOCK_STREAM => SockType::Stream,
            libc::SOCK_DGRAM => SockType::Datagram,
            libc::SOCK_RAW => SockType::Raw,
            n => SockType::Other(n),
        }
    }
}

/// `getaddrinfo` flags (`AI_*`), combined with `|`.
///
/// # Examples
///
/// ```
/// use tulip_net::AiFlags;
///
/// let f = AiFlags::PASSIVE | AiFlags::NUMERICSERV;
/// assert!(f.contains(AiFlags::PASSIVE));
/// assert!(!f.contains(AiFlags::CANONNAME));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AiFlags(i32);

impl AiFlags {
    /// No flags.
    pub const NONE: AiFlags = AiFlags(0);
    /// Addresses to bind a listening socket to (with no host: the wildcard address).
    pub const PASSIVE: AiFlags = AiFlags(libc::AI_PASSIVE);
    /// Fill in [`AddrInfo::canonname`] on the first result.
    pub const CANONNAME: AiFlags = AiFlags(libc::AI_CANONNAME);
    /// The host must be a numeric address; never ask a name server.
    pub const NUMERICHOST: AiFlags = AiFlags(libc::AI_NUMERICHOST);
    /// The service is a port number.
    pub const NUMERICSERV: AiFlags = AiFlags(libc::AI_NUMERICSERV);
    /// Only families that a local interface is configured for.
    pub const ADDRCONFIG: AiFlags = AiFlags(libc::AI_ADDRCONFIG);
    /// IPv4-mapped IPv6 addresses when asking for IPv6 and only IPv4 exists.
    pub const V4MAPPED: AiFlags = AiFlags(libc::AI_V4MAPPED);
    /// With `V4MAPPED`: both IPv6 and IPv4-mapped addresses.
    pub const ALL: AiFlags = AiFlags(libc::AI_ALL);

    /// The raw `AI_*` bits.
    pub fn bits(self) -> i32 {
        self.0
    }

    /// Whether every bit of `other` is set.
    pub fn contains(self, other: AiFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for AiFlags {
    type Output = AiFlags;
    fn bitor(self, rhs: AiFlags) -> AiFlags {
        AiFlags(self.0 | rhs.0)
    }
}

/// `getnameinfo` flags (`NI_*`), combined with `|`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NameInfoFlags(i32);

impl NameInfoFlags {
    /// No flags: names where the resolver has them, numbers otherwise.
    pub const NONE: NameInfoFlags = NameInfoFlags(0);
    /// The host as a numeric address.
    pub const NUMERICHOST: NameInfoFlags = NameInfoFlags(libc::NI_NUMERICHOST);
    /// The service as a port number.
    pub const NUMERICSERV: NameInfoFlags = NameInfoFlags(libc::NI_NUMERICSERV);
    /// Fail when the host has no name (instead of returning the number).
    pub const NAMEREQD: NameInfoFlags = NameInfoFlags(libc::NI_NAMEREQD);
    /// Only the host part of a local host's name.
    pub const NOFQDN: NameInfoFlags = NameInfoFlags(libc::NI_NOFQDN);
    /// The service is a datagram (UDP) service.
    pub const DGRAM: NameInfoFlags = NameInfoFlags(libc::NI_DGRAM);

    /// The raw `NI_*` bits.
    pub fn bits(self) -> i32 {
        self.0
    }
}

impl BitOr for NameInfoFlags {
    type Output = NameInfoFlags;
    fn bitor(self, rhs: NameInfoFlags) -> NameInfoFlags {
        NameInfoFlags(self.0 | rhs.0)
    }
}

/// What [`getaddrinfo_with`] should look for (asyncio's `family`, `type`, `proto` and
/// `flags` arguments).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AddrInfoHints {
    /// The family of the addresses wanted.
    pub family: Family,
    /// The socket type they will be used with.
    pub socktype: SockType,
    /// The protocol number (0: any).
    pub protocol: i32,
    /// `AI_*` flags.
    pub flags: AiFlags,
}

/// One result of [`getaddrinfo_with`] (asyncio's `(family, type, proto, canonname,
/// sockaddr)` tuple).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrInfo {
    /// The address's family.
    pub family: Family,
    /// The socket type it is for.
    pub socktype: SockType,
    /// The protocol number.
    pub protocol: i32,
    /// The canonical name of the host (first result, with [`AiFlags::CANONNAME`]).
    pub canonname: Option<String>,
    /// The address.
    pub addr: SocketAddr,
}

/// A failure of the system resolver: its `EAI_*` code and message, and what was asked.
///
/// It reaches callers inside an [`io::Error`] (kind `NotFound` for a name that does not
/// exist, `Other` otherwise), from which it can be taken back with
/// [`io::Error::get_ref`] and `downcast_ref`.
///
/// # Examples
///
/// ```
/// use tulip_net::{getaddrinfo, ResolveError};
///
/// tulip_runtime::run(async {
///     // `.invalid` never resolves (RFC 6761).
///     let err = getaddrinfo("no-such-host.invalid", 80).await.unwrap_err();
///     let resolve = err.get_ref().and_then(|e| e.downcast_ref::<ResolveError>()).unwrap();
///     assert!(resolve.to_string().contains("no-such-host.invalid"));
/// });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveError {
    code: i32,
    message: String,
    query: String,
}

impl ResolveError {
    /// The resolver's `EAI_*` code.
    pub fn code(&self) -> i32 {
        self.code
    }

    /// The resolver's message for the code (`gai_strerror`).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether the name does not exist (`EAI_NONAME`, or `EAI_NODATA` where defined).
    pub fn is_no_name(&self) -> bool {
        self.code == libc::EAI_NONAME || is_nodata(self.code)
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn is_nodata(code: i32) -> bool {
    code == libc::EAI_NODATA
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn is_nodata(_code: i32) -> bool {
    false
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "failed to resolve {}: {}", self.query, self.message)
    }
}

impl std::error::Error for ResolveError {}

/// Turns a `getaddrinfo`/`getnameinfo` return code into an `io::Error`.
fn resolve_error(code: libc::c_int, query: String) -> io::Error {
    if code == libc::EAI_SYSTEM {
        let os = io::Error::last_os_error();
        return io::Error::new(os.kind(), format!("failed to resolve {query}: {os}"));
    }
    // SAFETY: gai_strerror returns a pointer to a static, NUL-terminated string for any code.
    let message = unsafe { CStr::from_ptr(libc::gai_strerror(code)) }
        .to_string_lossy()
        .into_owned();
    let err = ResolveError {
        code,
        message,
        query,
    };
    let kind = if err.is_no_name() {
        io::ErrorKind::NotFound
    } else {
        io::ErrorKind::Other
    };
    io::Error::new(kind, err)
}

/// Runs `f` on the loop's blocking pool.
async fn off_loop<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> io::Result<T> {
    tulip_runtime::spawn_blocking(f)
        .await
        .map_err(|e| io::Error::other(format!("resolver job failed: {e}")))
}

/// The addresses of `host` for stream sockets, port filled in, on the blocking pool: what
/// `bind`/`connect` use for a name.
pub(crate) async fn lookup_stream(host: String, port: u16) -> io::Result<Vec<SocketAddr>> {
    let hints = AddrInfoHints {
        socktype: SockType::Stream,
        ..AddrInfoHints::default()
    };
    let infos = off_loop(move || lookup_blocking(Some(&host), Some(port), hints)).await??;
    Ok(infos.into_iter().map(|i| i.addr).collect())
}

/// Resolves `host` to its socket addresses, with `port` filled in (asyncio's
/// `loop.getaddrinfo(host, port)`, keeping only the addresses, each once).
///
/// The system resolver runs on the loop's blocking pool; the loop goes on meanwhile. An IP
/// literal comes back as it is.
///
/// # Errors
///
/// A [`ResolveError`] inside an `io::Error`: `NotFound` when the name does not exist.
///
/// # Cancel safety
///
/// Cancel safe: dropping the future discards the answer (the resolver call itself runs to
/// its end on the pool).
///
/// # Examples
///
/// ```
/// tulip_runtime::run(async {
///     let addrs = tulip_net::getaddrinfo("localhost", 8080).await?;
///     assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 8080));
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub async fn getaddrinfo(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    let host = host.to_string();
    lookup_stream(host, port).await
}

/// `getaddrinfo(3)` with hints (asyncio's `loop.getaddrinfo(host, port, family=…, type=…,
/// proto=…, flags=…)`): every result, in the resolver's order.
///
/// `host: None` with [`AiFlags::PASSIVE`] gives the wildcard addresses to bind to; `port:
/// None` leaves the port 0.
///
/// # Errors
///
/// As [`getaddrinfo`]; a host containing a NUL byte is `InvalidInput`.
///
/// # Cancel safety
///
/// As [`getaddrinfo`].
///
/// # Examples
///
/// ```
/// use tulip_net::{getaddrinfo_with, AddrInfoHints, Family, SockType};
///
/// tulip_runtime::run(async {
///     let hints = AddrInfoHints {
///         family: Family::Inet,
///         socktype: SockType::Datagram,
///         ..Default::default()
///     };
///     let infos = getaddrinfo_with(Some("127.0.0.1"), Some(53), hints).await?;
///     assert_eq!(infos.len(), 1);
///     assert_eq!(infos[0].socktype, SockType::Datagram);
///     assert_eq!(infos[0].addr, "127.0.0.1:53".parse().unwrap());
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub async fn getaddrinfo_with(
    host: Option<&str>,
    port: Option<u16>,
    hints: AddrInfoHints,
) -> io::Result<Vec<AddrInfo>> {
    let host = host.map(str::to_string);
    off_loop(move || lookup_blocking(host.as_deref(), port, hints)).await?
}

/// Looks up the host name and service name of `addr` (asyncio's `loop.getnameinfo(sockaddr,
/// flags)`), on the blocking pool.
///
/// # Errors
///
/// A [`ResolveError`] inside an `io::Error` (with [`NameInfoFlags::NAMEREQD`], an address
/// without a name is one).
///
/// # Cancel safety
///
/// As [`getaddrinfo`].
///
/// # Examples
///
/// ```
/// use tulip_net::{getnameinfo, NameInfoFlags};
///
/// tulip_runtime::run(async {
///     let addr = "127.0.0.1:80".parse().unwrap();
///     let flags = NameInfoFlags::NUMERICHOST | NameInfoFlags::NUMERICSERV;
///     let (host, service) = getnameinfo(addr, flags).await?;
///     assert_eq!((host.as_str(), service.as_str()), ("127.0.0.1", "80"));
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub async fn getnameinfo(addr: SocketAddr, flags: NameInfoFlags) -> io::Result<(String, String)> {
    off_loop(move || nameinfo_blocking(addr, flags)).await?
}

/// The blocking `getaddrinfo` call.
fn lookup_blocking(
    host: Option<&str>,
    port: Option<u16>,
    hints: AddrInfoHints,
) -> io::Result<Vec<AddrInfo>> {
    let query = match (host, port) {
        (Some(h), Some(p)) => format!("{h:?} (port {p})"),
        (Some(h), None) => format!("{h:?}"),
        (None, Some(p)) => format!("the wildcard address (port {p})"),
        (None, None) => "nothing".to_string(),
    };
    let c_host = host
        .map(|h| {
            CString::new(h).map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("host name {h:?} contains a NUL byte"),
                )
            })
        })
        .transpose()?;
    let c_port = port.map(|p| CString::new(p.to_string()).expect("digits have no NUL"));
    // SAFETY: an all-zero addrinfo is a valid "no hints" value (null pointers, zero ints).
    let mut raw_hints: libc::addrinfo = unsafe { MaybeUninit::zeroed().assume_init() };
    raw_hints.ai_family = hints.family.raw();
    raw_hints.ai_socktype = hints.socktype.raw();
    raw_hints.ai_protocol = hints.protocol;
    raw_hints.ai_flags = hints.flags.bits()
        | if port.is_some() {
            libc::AI_NUMERICSERV
        } else {
            0
        };
    let mut res: *mut libc::addrinfo = ptr::null_mut();
    // SAFETY: the strings are NUL-terminated and live across the call; `raw_hints` is a valid
    // addrinfo; `res` is a valid out-pointer. On success the list is freed below exactly once.
    let code = unsafe {
        libc::getaddrinfo(
            c_host.as_ref().map_or(ptr::null(), |c| c.as_ptr()),
            c_port.as_ref().map_or(ptr::null(), |c| c.as_ptr()),
            &raw_hints,
            &mut res,
        )
    };
    if code != 0 {
        return Err(resolve_error(code, query));
    }
    let mut out = Vec::new();
    let mut cur = res;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list getaddrinfo returned, not yet freed.
        let ai = unsafe { &*cur };
        // SAFETY: `ai_addr` points to `ai_addrlen` bytes of a socket address of `ai_family`.
        if let Some(addr) = unsafe { sockaddr_to_std(ai.ai_addr, ai.ai_addrlen) } {
            let canonname = if ai.ai_canonname.is_null() {
                None
            } else {
                // SAFETY: a non-null ai_canonname is a NUL-terminated string owned by the list.
                let name = unsafe { CStr::from_ptr(ai.ai_canonname) };
                Some(name.to_string_lossy().into_owned())
            };
            let family = if addr.is_ipv4() {
                Family::Inet
            } else {
                Family::Inet6
            };
            let info = AddrInfo {
                family,
                socktype: SockType::from_raw(ai.ai_socktype),
                protocol: ai.ai_protocol,
                canonname,
                addr,
            };
            // With no socket type asked for, the resolver repeats each address per type;
            // keep the whole tuples distinct, as asyncio does, but never twice the same.
            if !out.contains(&info) {
                out.push(info);
            }
        }
        cur = ai.ai_next;
    }
    // SAFETY: `res` came from a successful getaddrinfo and is freed once; nothing borrowed
    // from it outlives this point (every string was copied).
    unsafe { libc::freeaddrinfo(res) };
    if out.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("failed to resolve {query}: no IPv4 or IPv6 address"),
        ));
    }
    Ok(out)
}

/// Reads a `sockaddr` the resolver filled in.
///
/// # Safety
///
/// `addr` must point to `len` readable bytes holding a socket address (or be null).
unsafe fn sockaddr_to_std(addr: *const libc::sockaddr, len: libc::socklen_t) -> Option<SocketAddr> {
    if addr.is_null() {
        return None;
    }
    let len = len as usize;
    // SAFETY: the caller promises `len` readable bytes at `addr`; sa_family is first in every
    // sockaddr, and we read each specific struct only when `len` covers it (unaligned reads,
    // since the resolver promises no alignment to us).
    unsafe {
        match i32::from((*addr).sa_family) {
            libc::AF_INET if len >= std::mem::size_of::<libc::sockaddr_in>() => {
                let a = ptr::read_unaligned(addr.cast::<libc::sockaddr_in>());
                let ip = Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
                Some(SocketAddr::V4(SocketAddrV4::new(
                    ip,
                    u16::from_be(a.sin_port),
                )))
            }
            libc::AF_INET6 if len >= std::mem::size_of::<libc::sockaddr_in6>() => {
                let a = ptr::read_unaligned(addr.cast::<libc::sockaddr_in6>());
                let ip = Ipv6Addr::from(a.sin6_addr.s6_addr);
                Some(SocketAddr::V6(SocketAddrV6::new(
                    ip,
                    u16::from_be(a.sin6_port),
                    a.sin6_flowinfo,
                    a.sin6_scope_id,
                )))
            }
            _ => None,
        }
    }
}

/// The blocking `getnameinfo` call.
fn nameinfo_blocking(addr: SocketAddr, flags: NameInfoFlags) -> io::Result<(String, String)> {
    // SAFETY: all-zero sockaddr_storage is valid; we fill the family-specific prefix below.
    let mut storage: libc::sockaddr_storage = unsafe { MaybeUninit::zeroed().assume_init() };
    let len = match addr {
        SocketAddr::V4(a) => {
            // SAFETY: sockaddr_storage is large and aligned enough for every sockaddr type.
            let sin = unsafe {
                &mut *(&mut storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>()
            };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = a.port().to_be();
            sin.sin_addr = libc::in_addr {
                s_addr: u32::from(*a.ip()).to_be(),
            };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            // SAFETY: as above.
            let sin6 = unsafe {
                &mut *(&mut storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_flowinfo = a.flowinfo();
            sin6.sin6_scope_id = a.scope_id();
            sin6.sin6_addr = libc::in6_addr {
                s6_addr: a.ip().octets(),
            };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    let mut host = [0 as libc::c_char; 1025]; // NI_MAXHOST
    let mut serv = [0 as libc::c_char; 32]; // NI_MAXSERV
                                            // SAFETY: `storage` holds a valid sockaddr of `len` bytes; the output buffers are writable
                                            // for the lengths passed, and getnameinfo NUL-terminates what it writes.
    let code = unsafe {
        libc::getnameinfo(
            (&storage as *const libc::sockaddr_storage).cast::<libc::sockaddr>(),
            len as libc::socklen_t,
            host.as_mut_ptr(),
            // `socklen_t` on Linux and macOS, `size_t` on FreeBSD.
            host.len() as _,
            serv.as_mut_ptr(),
            serv.len() as _,
            flags.bits(),
        )
    };
    if code != 0 {
        return Err(resolve_error(code, format!("the name of {addr}")));
    }
    // SAFETY: on success both buffers hold NUL-terminated strings within their bounds.
    let (h, s) = unsafe { (CStr::from_ptr(host.as_ptr()), CStr::from_ptr(serv.as_ptr())) };
    Ok((
        h.to_string_lossy().into_owned(),
        s.to_string_lossy().into_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_hosts_resolve_without_a_name_server() {
        let hints = AddrInfoHints {
            flags: AiFlags::NUMERICHOST,
            socktype: SockType::Stream,
            ..Default::default()
        };
        let v = lookup_blocking(Some("::1"), Some(443), hints).unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].addr, "[::1]:443".parse::<SocketAddr>().unwrap());
        assert_eq!(v[0].family, Family::Inet6);
    }

    #[test]
    fn passive_without_host_gives_the_wildcard() {
        let hints = AddrInfoHints {
            family: Family::Inet,
            socktype: SockType::Stream,
            flags: AiFlags::PASSIVE,
            ..Default::default()
        };
        let v = lookup_blocking(None, Some(8000), hints).unwrap();
        assert_eq!(v[0].addr, "0.0.0.0:8000".parse::<SocketAddr>().unwrap());
    }

    #[test]
    fn a_bad_numeric_host_is_a_named_resolver_error() {
        let hints = AddrInfoHints {
            flags: AiFlags::NUMERICHOST,
            ..Default::default()
        };
        let e = lookup_blocking(Some("not-a-number"), Some(1), hints).unwrap_err();
        let r = e.get_ref().unwrap().downcast_ref::<ResolveError>().unwrap();
        assert!(r.is_no_name(), "{r:?}");
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(e.to_string().contains("not-a-number"), "{e}");
    }

    #[test]
    fn nul_in_a_host_is_invalid_input() {
        let e = lookup_blocking(Some("a\0b"), Some(1), AddrInfoHints::default()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn nameinfo_numeric_round_trips_both_families() {
        let f = NameInfoFlags::NUMERICHOST | NameInfoFlags::NUMERICSERV;
        let v4 = nameinfo_blocking("10.1.2.3:8080".parse().unwrap(), f).unwrap();
        assert_eq!(v4, ("10.1.2.3".to_string(), "8080".to_string()));
        let v6 = nameinfo_blocking("[fe80::1]:22".parse().unwrap(), f).unwrap();
        assert_eq!(v6, ("fe80::1".to_string(), "22".to_string()));
    }
}
