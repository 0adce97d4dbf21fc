//! [`SubprocessTransport`], [`subprocess_exec`] and [`subprocess_shell`]: a child process
//! driven by a [`SubprocessProtocol`].

use std::ffi::OsStr;
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::process::ExitStatus;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use tulip_process::{Child, Command, Stdio};
use tulip_util::lock;

use crate::contain::call;
use crate::traits::SubprocessProtocol;
use crate::transport::{Core, Event, Transport};

const READ_BUF: usize = 64 * 1024;
const BUDGET: usize = 64;

/// A child process's transport (asyncio's `SubprocessTransport`): the handle a
/// [`SubprocessProtocol`] gets in `connection_made`. `Clone`, `Send` and `Sync`.
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use tulip_protocol::{SubprocessProtocol, SubprocessTransport};
///
/// struct Collect(Arc<Mutex<Vec<u8>>>);
/// impl SubprocessProtocol for Collect {
///     fn connection_made(&mut self, t: SubprocessTransport) {
///         let stdin = t.get_pipe_transport(0).unwrap();
///         stdin.write(b"hello\n");
///         stdin.close();
///     }
///     fn pipe_data_received(&mut self, fd: i32, data: &[u8]) {
///         assert_eq!(fd, 1);
///         self.0.lock().unwrap().extend_from_slice(data);
///     }
/// }
///
/// tulip_runtime::run(async {
///     let out = Arc::new(Mutex::new(Vec::new()));
///     let o = out.clone();
///     let t = tulip_protocol::subprocess_exec(move || Collect(o), "cat", [] as [&str; 0]).await?;
///     t.wait_closed().await;
///     assert_eq!(t.get_returncode(), Some(0));
///     assert_eq!(&*out.lock().unwrap(), b"hello\n");
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Clone)]
pub struct SubprocessTransport {
    shared: Arc<Shared>,
}

struct Shared {
    child: Child,
    pid: u32,
    pipes: [Option<Transport>; 3],
    ctl: Mutex<Ctl>,
}

#[derive(Default)]
struct Ctl {
    closing: bool,
    finished: bool,
    finish_waiters: Vec<Waker>,
}

impl fmt::Debug for SubprocessTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubprocessTransport")
            .field("pid", &self.shared.pid)
            .field("returncode", &self.get_returncode())
            .finish()
    }
}

impl SubprocessTransport {
    /// The child's process id (asyncio's `get_pid`).
    pub fn get_pid(&self) -> u32 {
        self.shared.pid
    }

    /// `None` while the child runs; its exit code once it exited, `-N` if signal `N` killed
    /// it (asyncio's `get_returncode`).
    pub fn get_returncode(&self) -> Option<i32> {
        self.shared.child.returncode()
    }

    /// The transport of pipe `fd` (0 stdin: write to it; 1 stdout, 2 stderr: pause or
    /// resume their reading), or `None` when that stream was not piped (asyncio's
    /// `get_pipe_transport`).
    pub fn get_pipe_transport(&self, fd: i32) -> Option<&Transport> {
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.shared.pipes.get(i))
            .and_then(Option::as_ref)
    }

    /// Sends signal `sig` to the child (asyncio's `send_signal`). Unix only: Windows has no
    /// signals to send to another process.
    ///
    /// # Errors
    ///
    /// The OS's error (`InvalidInput` for a bad signal number).
    #[cfg(unix)]
    pub fn send_signal(&self, sig: i32) -> io::Result<()> {
        self.shared.child.send_signal(sig)
    }

    /// Sends SIGTERM (asyncio's `terminate`); on Windows, ends the child with
    /// `TerminateProcess`, as [`kill`](Self::kill) does.
    ///
    /// # Errors
    ///
    /// As [`send_signal`](Self::send_signal).
    pub fn terminate(&self) -> io::Result<()> {
        self.shared.child.terminate()
    }

    /// Sends SIGKILL (asyncio's `kill`); on Windows, ends the child with `TerminateProcess`
    /// (exit code 1).
    ///
    /// # Errors
    ///
    /// As [`send_signal`](Self::send_signal).
    pub fn kill(&self) -> io::Result<()> {
        self.shared.child.kill()
    }

    /// Closes the pipes and kills the child if it still runs (asyncio's `close`).
    pub fn close(&self) {
        lock(&self.shared.ctl).closing = true;
        for t in self.shared.pipes.iter().flatten() {
            t.close();
        }
        if self.get_returncode().is_none() {
            let _ = self.kill();
        }
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closing(&self) -> bool {
        lock(&self.shared.ctl).closing
    }

    /// Waits until the protocol's `connection_lost` has returned (the child has exited and
    /// every pipe is done).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn wait_closed(&self) {
        poll_fn(|cx| {
            let mut c = lock(&self.shared.ctl);
            if c.finished {
                return Poll::Ready(());
            }
            if !c.finish_waiters.iter().any(|w| w.will_wake(cx.waker())) {
                c.finish_waiters.push(cx.waker().clone());
            }
            Poll::Pending
        })
        .await;
    }

    fn finish(&self) {
        let waiters = {
            let mut c = lock(&self.shared.ctl);
            c.finished = true;
            std::mem::take(&mut c.finish_waiters)
        };
        for w in waiters {
            w.wake();
        }
    }
}

/// Runs `program` with `args`, its stdin, stdout and stderr piped, driven by the protocol
/// `factory` makes (asyncio's `loop.subprocess_exec(protocol_factory, program, *args)`).
/// `connection_made` has been called when this returns.
///
/// # Errors
///
/// As [`Command::spawn`]: `NotFound` for a missing program, and so on.
///
/// # Cancel safety
///
/// Cancel safe (it does not wait).
///
/// # Examples
///
/// See [`SubprocessTransport`].
pub async fn subprocess_exec<P, I, S>(
    factory: impl FnOnce() -> P,
    program: impl AsRef<OsStr>,
    args: I,
) -> io::Result<SubprocessTransport>
where
    P: SubprocessProtocol + Send,
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = tulip_process::create_subprocess_exec(program, args);
    piped(&mut cmd);
    subprocess_command(factory, &mut cmd).await
}

/// Runs `cmd` through the shell (`/bin/sh -c`; `%COMSPEC% /c` on Windows), piped as
/// [`subprocess_exec`] (asyncio's `loop.subprocess_shell`).
///
/// # Errors
///
/// As [`subprocess_exec`].
///
/// # Cancel safety
///
/// Cancel safe (it does not wait).
pub async fn subprocess_shell<P>(
    factory: impl FnOnce() -> P,
    cmd: impl AsRef<OsStr>,
) -> io::Result<SubprocessTransport>
where
    P: SubprocessProtocol + Send,
{
    let mut c = tulip_process::create_subprocess_shell(cmd);
    piped(&mut c);
    subprocess_command(factory, &mut c).await
}

fn piped(cmd: &mut Command) {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
}

/// Runs a [`Command`] as configured (its `stdin`/`stdout`/`stderr` choices decide which
/// pipes the protocol sees), driven by the protocol `factory` makes.
///
/// # Errors
///
/// As [`Command::spawn`].
///
/// # Cancel safety
///
/// Cancel safe (it does not wait).
pub async fn subprocess_command<P>(
    factory: impl FnOnce() -> P,
    cmd: &mut Command,
) -> io::Result<SubprocessTransport>
where
    P: SubprocessProtocol + Send,
{
    let mut child = cmd.spawn()?;
    let mut cores: [Option<Core>; 3] = [None, None, None];
    if let Some(w) = child.stdin.take() {
        let raw = w.raw_reader();
        let t = Transport::new(w, &raw, false, true);
        cores[0] = Some(Core::new(raw, t));
    }
    for (i, r) in [(1, child.stdout.take()), (2, child.stderr.take())] {
        if let Some(r) = r {
            let (raw, _early) = r
                .into_raw()
                .map_err(|_| io::Error::other("a child's pipe without a connection"))?;
            let t = Transport::new(raw.new_writer(), &raw, true, false);
            cores[i] = Some(Core::new(raw, t));
        }
    }
    let pid = child.id();
    let pipes = [0, 1, 2].map(|i| cores[i].as_ref().map(|c| c.t.clone()));
    let t = SubprocessTransport {
        shared: Arc::new(Shared {
            child,
            pid,
            pipes,
            ctl: Mutex::new(Ctl::default()),
        }),
    };
    let mut proto = factory();
    let t2 = t.clone();
    let made = call("connection_made", || proto.connection_made(t2));
    let sh = t.shared.clone();
    let wait: Pin<Box<dyn Future<Output = io::Result<ExitStatus>> + Send>> =
        Box::pin(async move { sh.child.wait().await });
    tulip_executor::spawn(drive(proto, t.clone(), cores, wait, made)).detach();
    Ok(t)
}

struct Driver<P> {
    proto: P,
    t: SubprocessTransport,
    cores: [Option<Core>; 3],
    wait: Pin<Box<dyn Future<Output = io::Result<ExitStatus>> + Send>>,
    exited: bool,
    buf: Vec<u8>,
}

fn drive<P: SubprocessProtocol>(
    proto: P,
    t: SubprocessTransport,
    cores: [Option<Core>; 3],
    wait: Pin<Box<dyn Future<Output = io::Result<ExitStatus>> + Send>>,
    made: Result<(), io::Error>,
) -> impl Future<Output = ()> {
    let mut d = Driver {
        proto,
        t,
        cores,
        wait,
        exited: false,
        buf: vec![0; READ_BUF],
    };
    let mut failed = made.err();
    poll_fn(move |cx| {
        if let Some(e) = failed.take() {
            d.fail(e);
            return Poll::Ready(());
        }
        match d.step(cx) {
            Ok(p) => p,
            Err(e) => {
                d.fail(e);
                Poll::Ready(())
            }
        }
    })
}

impl<P: SubprocessProtocol> Driver<P> {
    /// A callback panicked: kill the child, abort the pipes, tell the protocol.
    fn fail(&mut self, e: io::Error) {
        for c in self.cores.iter().flatten() {
            c.t.abort();
            c.t.finish();
        }
        let _ = self.t.kill();
        let _ = call("connection_lost", || self.proto.connection_lost(Some(e)));
        self.t.finish();
    }

    fn step(&mut self, cx: &mut Context<'_>) -> Result<Poll<()>, io::Error> {
        'outer: for _ in 0..BUDGET {
            for fd in 0..3 {
                let Some(core) = self.cores[fd].as_mut() else {
                    continue;
                };
                let fd_i = fd as i32;
                let snap = core.snapshot(cx);
                if let Some(ev) = core.poll_flow(cx) {
                    match ev {
                        Event::Pause => call("pause_writing", || self.proto.pause_writing())?,
                        _ => call("resume_writing", || self.proto.resume_writing())?,
                    }
                    continue 'outer;
                }
                if snap.want_read {
                    match core.poll_read(cx, &mut self.buf) {
                        Some(Event::Data(n)) => {
                            let data = &self.buf[..n];
                            call("pipe_data_received", || {
                                self.proto.pipe_data_received(fd_i, data)
                            })?;
                            continue 'outer;
                        }
                        Some(Event::Eof) => {
                            core.t.close();
                            continue 'outer;
                        }
                        _ => {}
                    }
                }
                if let Some(Event::Lost(e)) = core.poll_end(cx) {
                    core.t.finish();
                    self.cores[fd] = None;
                    call("pipe_connection_lost", || {
                        self.proto.pipe_connection_lost(fd_i, e)
                    })?;
                    continue 'outer;
                }
            }
            if !self.exited {
                if let Poll::Ready(_status) = self.wait.as_mut().poll(cx) {
                    self.exited = true;
                }
            }
            if self.exited && self.cores[1].is_none() && self.cores[2].is_none() {
                match &self.cores[0] {
                    Some(stdin) => {
                        // The child is gone: its stdin is done too.
                        if !stdin.t.is_closing() {
                            stdin.t.close();
                            continue 'outer;
                        }
                    }
                    None => {
                        call("process_exited", || self.proto.process_exited())?;
                        let _ = call("connection_lost", || self.proto.connection_lost(None));
                        self.t.finish();
                        return Ok(Poll::Ready(()));
                    }
                }
            }
            return Ok(Poll::Pending);
        }
        cx.waker().wake_by_ref();
        Ok(Poll::Pending)
    }
}
