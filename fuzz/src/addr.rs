//! What parses untrusted text into addresses: `"host:port"` strings and `(host, port)` pairs
//! (`ToSocketAddrs`, as `bind`/`connect`/`open_connection` take them from configuration or a
//! peer), and numeric `getaddrinfo` (tulip's FFI around the system resolver, with the
//! `unsafe` conversion of the `sockaddr`s it returns). Checks: no panic; a string is
//! classified as a model of the documented rules says (an IP literal is used as it is, an
//! empty host means every interface, anything else is a name to look up, no port is
//! `InvalidInput`); numeric lookups of an IP literal give back that address and port, a NUL
//! is `InvalidInput`.

use std::io;
use std::net::{IpAddr, SocketAddr};

use tulip_net::{getaddrinfo_with, AddrInfoHints, AiFlags, ToSocketAddrs};

use crate::input::Input;

/// What the documented rules make of `s` (in the `Debug` form of the classification, which
/// is how it can be observed from outside the crate).
fn model(s: &str) -> Option<String> {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Some(format!("Ready([{a:?}])"));
    }
    let (host, port) = s.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    Some(pair(host, port))
}

fn pair(host: &str, port: u16) -> String {
    match host.parse::<IpAddr>() {
        Ok(ip) => format!("Ready([{:?}])", SocketAddr::new(ip, port)),
        Err(_) if host.is_empty() => format!("AnyHost({port})"),
        Err(_) => format!("Lookup({host:?}, {port})"),
    }
}

fn classify(a: &(impl ToSocketAddrs + ?Sized)) -> String {
    format!("{:?}", a.to_addrs())
}

fn numeric_lookup(host: &str, port: u16) {
    let hints = AddrInfoHints {
        flags: AiFlags::NUMERICHOST,
        ..Default::default()
    };
    let result = tulip_runtime::run(getaddrinfo_with(Some(host), Some(port), hints));
    match result {
        Ok(infos) => {
            assert!(!infos.is_empty(), "a successful lookup has results");
            for info in &infos {
                assert_eq!(info.addr.port(), port, "numeric lookup of {host:?}");
            }
            if let Ok(ip) = host.parse::<IpAddr>() {
                assert!(
                    infos.iter().any(|i| i.addr.ip() == ip),
                    "numeric lookup of {host:?} gave {infos:?}"
                );
            }
        }
        Err(e) => {
            assert!(
                host.parse::<IpAddr>().is_err(),
                "an IP literal {host:?} failed: {e}"
            );
            if host.contains('\0') {
                assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{host:?}: {e}");
            }
            assert!(!e.to_string().is_empty());
        }
    }
}

/// Parses the text `data` holds in every form; panics if a result breaks the rules.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let mode = input.u8();
    let port = input.u16();
    let Ok(text) = std::str::from_utf8(input.bytes(usize::MAX)) else {
        return;
    };
    let got = classify(text);
    match model(text) {
        Some(want) => assert_eq!(got, want, "{text:?}"),
        None => assert!(
            got.starts_with("Invalid(Custom { kind: InvalidInput"),
            "{text:?}: {got}"
        ),
    }
    assert_eq!(classify(&text.to_string()), got, "String and str agree");
    assert_eq!(
        classify(&(text, port)),
        pair(text, port),
        "({text:?}, {port})"
    );
    assert_eq!(classify(&(Some(text), port)), pair(text, port));
    // The resolver runs on the loop's blocking pool: only now and then, and only short hosts
    // (a run starts a loop).
    if mode % 8 == 0 && text.len() <= 64 {
        numeric_lookup(text, port);
    }
}
