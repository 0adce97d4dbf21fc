//! The `tracing` feature: a server's accept loop says when it pauses (out of descriptors) and
//! when it accepts again. The only test of this binary lowers the process's descriptor limit,
//! so nothing else runs beside it; a small subscriber of our own collects the events.
#![cfg(unix)]

use std::fmt;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::sync::Mutex;
use std::time::Duration;

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use tulip_net::streams::start_server;

/// The `tulip::net::accept` events seen: each one's fields, as text.
struct Collector(Mutex<Vec<Vec<(String, String)>>>);

struct Fields(Vec<(String, String)>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .push((field.name().to_string(), format!("{value:?}")));
    }
}

impl Subscriber for &'static Collector {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        if event.metadata().target() == "tulip::net::accept" {
            let mut f = Fields(Vec::new());
            event.record(&mut f);
            self.0.lock().unwrap().push(f.0);
        }
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

impl Collector {
    /// The value of `field` in each event whose message is `message`.
    fn field_of(&self, message: &str, field: &str) -> Vec<String> {
        let events = self.0.lock().unwrap();
        events
            .iter()
            .filter(|e| e.iter().any(|(k, v)| k == "message" && v == message))
            .filter_map(|e| e.iter().find(|(k, _)| k == field).map(|(_, v)| v.clone()))
            .collect()
    }

    fn count(&self, message: &str) -> usize {
        self.field_of(message, "message").len()
    }
}

/// Waits (polling every 10 ms, at most 20 s) until `cond` holds.
async fn wait_until(what: &str, cond: impl Fn() -> bool) {
    for _ in 0..2000 {
        if cond() {
            return;
        }
        tulip_reactor::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

const PAUSE: &str = "accept failed; pausing accepts";
const RESUME: &str = "accepting connections again";

#[test]
fn accept_back_off_and_resume_are_traced() {
    let c: &'static Collector = Box::leak(Box::new(Collector(Mutex::new(Vec::new()))));
    tracing::subscriber::set_global_default(c).unwrap();
    tulip_runtime::run(async {
        let server = start_server(|_r, _w| async {}, "127.0.0.1:0")
            .await
            .unwrap();
        let addr = server.local_addrs()[0].as_inet().unwrap();
        // The client's socket exists before the limit drops; its handshake needs no new
        // descriptor, only the server's `accept` does.
        let client = rustix::net::socket(
            rustix::net::AddressFamily::INET,
            rustix::net::SocketType::STREAM,
            None,
        )
        .unwrap();
        let original = getrlimit(Resource::Nofile);
        let lowest_free = File::open("/dev/null").unwrap().as_raw_fd() as u64;
        setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(lowest_free),
                maximum: original.maximum,
            },
        )
        .unwrap();
        rustix::net::connect(&client, &addr).unwrap();
        wait_until("the pause event", || c.count(PAUSE) > 0).await;
        assert_eq!(c.count(RESUME), 0);
        assert_eq!(c.field_of(PAUSE, "pause_ms")[0], "1000");
        let error = &c.field_of(PAUSE, "error")[0];
        assert!(error.contains("os error 24"), "{error}");

        setrlimit(Resource::Nofile, original).unwrap();
        wait_until("the resume event", || c.count(RESUME) > 0).await;
        drop(client);
        server.close();
        server.wait_closed().await;
    });
}
