//! The `log` feature (without `tracing`): the default exception handler's reports become `log`
//! records. A capturing logger of our own is the process's logger (there is only one).
//! With `tracing` on as well, reports go to `tracing` instead, and this file is empty.
#![cfg(not(feature = "tracing"))]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tulip_executor::{spawn, Executor, ExecutorConfig, ThreadDriver};

struct Capture(Mutex<Vec<(log::Level, String, String)>>);

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        self.0.lock().unwrap().push((
            record.level(),
            record.target().to_string(),
            record.args().to_string(),
        ));
    }
    fn flush(&self) {}
}

#[test]
fn reports_go_through_log() {
    let logger: &'static Capture = Box::leak(Box::new(Capture(Mutex::new(Vec::new()))));
    log::set_logger(logger).unwrap();
    log::set_max_level(log::LevelFilter::Trace);

    let mut config = ExecutorConfig::new(Arc::new(ThreadDriver::new()));
    config.debug = Some(Duration::ZERO); // every poll is slow
    let ex = Executor::with_config(config).unwrap();
    let id = ex.block_on(async {
        let t = spawn(async { panic!("logged, not printed") });
        let id = t.id();
        assert!(t.await.is_err());
        id
    });
    let seen = logger.0.lock().unwrap().clone();
    let mine = |level: log::Level, text: &str| {
        seen.iter().any(|(l, target, msg)| {
            *l == level
                && target == "tulip::report"
                && msg.contains(&format!("task {id}"))
                && msg.contains(text)
        })
    };
    assert!(
        mine(log::Level::Error, "panicked: logged, not printed"),
        "{seen:?}"
    );
    assert!(mine(log::Level::Warn, "in one poll"), "{seen:?}");
}
