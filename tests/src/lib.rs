//! Shared helpers for the cross-crate integration tests; the ones every crate's tests use
//! ([`Counter`], [`OnDrop`], [`PanicOnDrop`], ...) come from tulip-test-support.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub use tulip_test_support::{Counter, OnDrop, PanicOnDrop};

pub mod pki;
pub mod proxy;

/// Collects what the loop's exception handler reports.
#[derive(Clone, Debug, Default)]
pub struct Reports(Arc<Mutex<Vec<String>>>);

impl Reports {
    /// An empty collection.
    pub fn new() -> Reports {
        Reports::default()
    }

    /// A runner builder whose exception handler records into this collection.
    pub fn builder(&self) -> tulip::RunnerBuilder {
        let me = self.clone();
        tulip::Runner::builder()
            .exception_handler(move |r| me.0.lock().unwrap().push(r.to_string()))
    }

    /// Everything reported so far.
    pub fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// A shared, ordered log of events for ordering tests.
#[derive(Clone, Debug, Default)]
pub struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    /// An empty log.
    pub fn new() -> Log {
        Log::default()
    }

    /// Appends an entry.
    pub fn push(&self, s: impl Into<String>) {
        self.0.lock().unwrap().push(s.into());
    }

    /// The entries so far.
    pub fn entries(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// A single-threaded runner in FIFO order whatever `TULIP_WORKERS` and `TULIP_SEED` say: for
/// tests of asyncio's ordering guarantees (FIFO turns, callbacks interleaved with tasks), which
/// only the single-threaded loop makes, and which a seeded schedule relaxes on purpose (it
/// reorders ready tasks; docs/reliability.md, "Seeded schedules").
pub fn single_threaded() -> tulip::Runner {
    tulip::Runner::builder().workers(1).fifo(true).build()
}

/// Counts arrivals and lets a task wait for `n` of them: explicit synchronisation for tests
/// that must know other tasks have started, on any flavour of loop.
#[derive(Clone, Debug)]
pub struct Latch(Arc<(AtomicUsize, usize, tulip::sync::Event)>);

impl Latch {
    /// A latch that opens after `n` arrivals.
    pub fn new(n: usize) -> Latch {
        Latch(Arc::new((
            AtomicUsize::new(0),
            n,
            tulip::sync::Event::new(),
        )))
    }

    /// One arrival.
    pub fn arrive(&self) {
        if self.0 .0.fetch_add(1, Ordering::SeqCst) + 1 >= self.0 .1 {
            self.0 .2.set();
        }
    }

    /// Waits until every arrival happened.
    pub async fn wait(&self) {
        self.0 .2.wait().await;
    }
}

/// Yields to the loop until `cond` holds; fails the test (instead of hanging it) if it never
/// does within a million turns.
pub async fn until(mut cond: impl FnMut() -> bool) {
    for _ in 0..1_000_000 {
        if cond() {
            return;
        }
        tulip::yield_now().await;
    }
    panic!("the awaited condition never became true");
}

/// The reactor backends: tests of anything that waits on socket readiness run on each (on
/// Linux: epoll, io_uring — which falls back to epoll where the kernel refuses it — and the
/// portable `polling`).
pub const BACKENDS: [tulip::io::Backend; 3] = [
    tulip::io::Backend::Epoll,
    tulip::io::Backend::Uring,
    tulip::io::Backend::Polling,
];

/// How long a network test may take before it counts as hung: a generous upper bound that
/// turns a hang into a failure, never a measure of speed.
pub const NET_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Runs the future `test` makes once per backend, each on a fresh runner (whose worker count
/// comes from `TULIP_WORKERS`), failing if one does not finish within three times
/// [`NET_LIMIT`] (steps inside are bounded by [`bounded`], which names the step).
pub fn on_each_backend<F, Fut>(test: F)
where
    F: Fn(tulip::io::Backend) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for backend in BACKENDS {
        let runner = tulip::Runner::builder().backend(backend).build();
        runner.run(async {
            if tulip::timeout(3 * NET_LIMIT, test(backend)).await.is_err() {
                panic!(
                    "the test did not finish within {:?} on {backend:?}",
                    3 * NET_LIMIT
                );
            }
        });
    }
}

/// Awaits `fut`, failing the test (instead of hanging it) after [`NET_LIMIT`].
pub async fn bounded<F: std::future::Future>(what: &str, fut: F) -> F::Output {
    match tulip::timeout(NET_LIMIT, fut).await {
        Ok(v) => v,
        Err(_) => panic!("{what} did not finish within {NET_LIMIT:?}"),
    }
}

/// Whether the host has IPv6 on the loopback interface (tested by binding `[::1]:0`).
pub fn has_ipv6() -> bool {
    std::net::TcpListener::bind("[::1]:0").is_ok()
}

/// A directory for one test's files, unique per process and test, removed when dropped.
#[derive(Debug)]
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    /// Creates (afresh) `$TMPDIR/tulip-<pid>-<test>`.
    pub fn new(test: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("tulip-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create the test's temporary directory");
        TempDir(path)
    }

    /// The directory.
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }

    /// A path inside the directory.
    pub fn join(&self, name: &str) -> std::path::PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// How many file descriptors this process has open (Linux: the entries of `/proc/self/fd`,
/// less the one reading it).
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .count()
        .saturating_sub(1)
}

/// The environment variable that tells a re-run test binary which child role to play.
pub const CHILD_ENV: &str = "TULIP_TEST_CHILD";

/// Whether this process is a child started by [`run_in_child`] with role `role`.
pub fn is_child(role: &str) -> bool {
    std::env::var(CHILD_ENV).is_ok_and(|r| r == role)
}

/// Gives a child the default disposition of SIGINT, SIGQUIT and SIGHUP whatever this process
/// inherited: a test run as a background job of a non-interactive shell starts with SIGINT and
/// SIGQUIT ignored, one run under `nohup` with SIGHUP ignored, and every child would inherit
/// that (tulip's `run` rightly leaves an ignored SIGINT alone, and removing a handler rightly
/// brings an ignored signal back ignored), so tests that expect the defaults would fail.
/// A later `pre_exec` hook may still set another disposition.
#[cfg(unix)]
pub fn default_dispositions(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: signal(2) is async-signal-safe, as a pre_exec hook must be; it only sets three
    // signals' dispositions in the child before it execs.
    unsafe {
        cmd.pre_exec(|| {
            for sig in [libc::SIGINT, libc::SIGQUIT, libc::SIGHUP] {
                libc::signal(sig, libc::SIG_DFL);
            }
            Ok(())
        });
    }
}

/// Re-runs the current test binary with only the test `test` (its full name) and
/// `TULIP_TEST_CHILD=role`, for tests that change process-wide state (resource limits, signal
/// dispositions) or count the process's file descriptors. Panics, showing the child's output,
/// unless the child succeeds; returns its output otherwise.
pub fn run_in_child(test: &str, role: &str) -> String {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut cmd = std::process::Command::new(exe);
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, role)
        .stdin(std::process::Stdio::null());
    #[cfg(unix)]
    default_dispositions(&mut cmd);
    let out = cmd.output().expect("start the child test process");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "the child process ({role}) failed with {}:\n{text}",
        out.status
    );
    assert!(
        text.contains("1 passed"),
        "the child process ({role}) ran no test:\n{text}"
    );
    print!("{text}");
    text
}
