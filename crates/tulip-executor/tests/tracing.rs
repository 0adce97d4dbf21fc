//! The `tracing` feature: a span per task entered around its polls, and the default exception
//! handler's reports (slow polls, a blocked loop, panics never retrieved) as events. A small
//! subscriber of our own collects spans and events; it is the process's global one, because
//! the watchdog reports from its own thread, so each test picks out its records by task id.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};
use tulip_executor::{spawn, Builder, Executor, ExecutorConfig, ThreadDriver};

/// A span's name and fields.
type SpanData = (String, HashMap<String, String>);

/// One event as the subscriber saw it.
#[derive(Debug, Clone)]
struct Seen {
    level: Level,
    target: String,
    fields: HashMap<String, String>,
    /// The name and fields of the span current when it was emitted, if any.
    span: Option<SpanData>,
    /// That span's id.
    span_id: Option<u64>,
}

#[derive(Default)]
struct Fields(HashMap<String, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
}

#[derive(Default)]
struct Collector {
    next: AtomicU64,
    spans: Mutex<HashMap<u64, SpanData>>,
    /// Each span's metadata (for `current_span`).
    metas: Mutex<HashMap<u64, &'static Metadata<'static>>>,
    /// The spans made without a parent.
    roots: Mutex<Vec<u64>>,
    /// (span, the span it follows from).
    follows: Mutex<Vec<(u64, u64)>>,
    events: Mutex<Vec<Seen>>,
}

thread_local! {
    /// The spans entered on this thread, innermost last.
    static STACK: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

impl Subscriber for &'static Collector {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let mut f = Fields::default();
        span.record(&mut f);
        let name = span.metadata().name().to_string();
        self.metas.lock().unwrap().insert(id, span.metadata());
        if span.is_root() {
            self.roots.lock().unwrap().push(id);
        }
        self.spans.lock().unwrap().insert(id, (name, f.0));
        Id::from_u64(id)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut f = Fields::default();
        values.record(&mut f);
        if let Some(s) = self.spans.lock().unwrap().get_mut(&span.into_u64()) {
            s.1.extend(f.0);
        }
    }
    fn record_follows_from(&self, span: &Id, follows: &Id) {
        let pair = (span.into_u64(), follows.into_u64());
        self.follows.lock().unwrap().push(pair);
    }
    fn event(&self, event: &Event<'_>) {
        let mut f = Fields::default();
        event.record(&mut f);
        let current = STACK.with(|s| s.borrow().last().copied());
        let span = current.and_then(|id| self.spans.lock().unwrap().get(&id).cloned());
        self.events.lock().unwrap().push(Seen {
            level: *event.metadata().level(),
            target: event.metadata().target().to_string(),
            fields: f.0,
            span,
            span_id: current,
        });
    }
    fn current_span(&self) -> tracing_core::span::Current {
        let top = STACK.with(|s| s.borrow().last().copied());
        match top.and_then(|id| Some((id, *self.metas.lock().unwrap().get(&id)?))) {
            Some((id, meta)) => tracing_core::span::Current::new(Id::from_u64(id), meta),
            None => tracing_core::span::Current::none(),
        }
    }
    fn enter(&self, span: &Id) {
        STACK.with(|s| s.borrow_mut().push(span.into_u64()));
    }
    fn exit(&self, span: &Id) {
        STACK.with(|s| {
            let mut s = s.borrow_mut();
            if let Some(i) = s.iter().rposition(|&x| x == span.into_u64()) {
                s.remove(i);
            }
        });
    }
}

fn collector() -> &'static Collector {
    static C: OnceLock<&'static Collector> = OnceLock::new();
    C.get_or_init(|| {
        let c: &'static Collector = Box::leak(Box::default());
        tracing::subscriber::set_global_default(c).expect("the only global subscriber");
        c
    })
}

/// The events so far that `pick` selects.
fn events(pick: impl Fn(&Seen) -> bool) -> Vec<Seen> {
    let all = collector().events.lock().unwrap();
    all.iter().filter(|e| pick(e)).cloned().collect()
}

/// Reports of `kind` (the `Debug` of a `ReportKind`) about task `id`.
fn reports(kind: &str, id: u64) -> Vec<Seen> {
    events(|e| {
        e.target == "tulip::report"
            && e.fields.get("kind").map(String::as_str) == Some(kind)
            && e.fields.get("task_id") == Some(&id.to_string())
    })
}

fn executor(debug: Option<Duration>, watchdog: Option<Duration>) -> Executor {
    let mut config = ExecutorConfig::new(Arc::new(ThreadDriver::new()));
    config.debug = debug;
    config.watchdog = watchdog;
    Executor::with_config(config).unwrap()
}

#[test]
fn task_span_is_entered_during_each_poll() {
    collector();
    let ex = executor(None, None);
    let id = ex.block_on(async {
        let t = Builder::new().name("traced-worker").spawn(async {
            tracing::info!(marker = "first poll");
            tulip_executor::yield_now().await;
            tracing::info!(marker = "second poll");
        });
        let id = t.id().as_u64();
        t.await.unwrap();
        tracing::info!(marker = "outside");
        id
    });
    let seen = events(|e| e.fields.contains_key("marker"));
    for poll in ["first poll", "second poll"] {
        let e = seen
            .iter()
            .find(|e| e.fields["marker"] == poll)
            .unwrap_or_else(|| panic!("no event {poll}: {seen:?}"));
        let (name, fields) = e.span.as_ref().expect("inside the task's span");
        assert_eq!(name, "task");
        assert_eq!(fields["id"], id.to_string());
        assert_eq!(fields["name"], "traced-worker");
        assert!(fields["spawned_at"].contains("tracing.rs"), "{fields:?}");
    }
    // Outside the task's poll its span is not entered.
    let outside = seen
        .iter()
        .find(|e| e.fields["marker"] == "outside")
        .unwrap();
    assert!(outside.span.is_none(), "{outside:?}");
}

#[test]
fn slow_poll_is_a_warning_event_in_the_tasks_span() {
    collector();
    // A zero threshold makes every poll slow: no timing involved.
    let ex = executor(Some(Duration::ZERO), None);
    let id = ex.block_on(async {
        let t = spawn(async {});
        let id = t.id().as_u64();
        t.await.unwrap();
        id
    });
    let seen = reports("SlowPoll", id);
    let e = seen.first().expect("a slow-poll event");
    assert_eq!(e.level, Level::WARN);
    assert!(e.fields.contains_key("duration_ms"), "{e:?}");
    assert!(e.fields["message"].contains("in one poll"), "{e:?}");
    let (name, fields) = e.span.as_ref().expect("inside the task's span");
    assert_eq!((name.as_str(), &fields["id"]), ("task", &id.to_string()));
}

#[test]
fn never_retrieved_panic_is_an_error_event() {
    collector();
    let ex = executor(Some(Duration::from_secs(3600)), None);
    let id = ex.block_on(async {
        let t = spawn(async { panic!("nobody looks") });
        let id = t.id().as_u64();
        drop(t);
        // The task runs (and panics) after this yield; the panic is then never retrieved.
        for _ in 0..3 {
            tulip_executor::yield_now().await;
        }
        id
    });
    let panic = reports("TaskPanic", id);
    assert_eq!(panic.len(), 1, "{panic:?}");
    assert_eq!(panic[0].level, Level::ERROR);
    let never = reports("NeverRetrieved", id);
    assert_eq!(never.len(), 1, "{never:?}");
    assert_eq!(never[0].level, Level::ERROR);
    assert!(never[0].fields["message"].contains("never retrieved"));
    assert!(never[0].fields["message"].contains("nobody looks"));
}

#[test]
fn blocked_loop_is_reported_from_the_watchdog_thread() {
    collector();
    let ex = executor(None, Some(Duration::from_millis(20)));
    ex.block_on(async {
        let t = spawn(async {
            let me = tulip_executor::task::current().unwrap().id.as_u64();
            // Block the loop thread until the watchdog has said so (bounded).
            let t0 = Instant::now();
            while reports("Blocked", me).is_empty() {
                assert!(t0.elapsed() < Duration::from_secs(20), "no Blocked event");
                std::thread::sleep(Duration::from_millis(5));
            }
            me
        });
        let id = t.await.unwrap();
        let e = &reports("Blocked", id)[0];
        assert_eq!(e.level, Level::WARN);
        assert!(e.fields["message"].contains("the loop thread is blocked"));
    });
}

#[test]
fn a_task_spawned_in_a_task_follows_from_its_span() {
    collector();
    let ex = executor(None, None);
    ex.block_on(async {
        let parent = Builder::new().name("parent-task").spawn(async {
            tracing::info!(marker = "in parent");
            let child = Builder::new().name("child-task").spawn(async {
                tracing::info!(marker = "in child");
            });
            child.await.unwrap();
        });
        parent.await.unwrap();
    });
    let span_of = |marker: &str| {
        let seen = events(|e| e.fields.get("marker").map(String::as_str) == Some(marker));
        seen[0].span_id.expect("inside a span")
    };
    let (parent, child) = (span_of("in parent"), span_of("in child"));
    assert_ne!(parent, child);
    // A root span (a child span would keep its parent open), linked to where it was spawned.
    let c = collector();
    assert!(c.roots.lock().unwrap().contains(&child));
    assert!(c.follows.lock().unwrap().contains(&(child, parent)));
}
