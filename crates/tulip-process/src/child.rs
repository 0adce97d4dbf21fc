//! [`Child`]: a running child process (asyncio's `Process`).

use std::fmt;
use std::io;
#[cfg(unix)]
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Output};
use std::sync::Arc;

use tulip_net::streams::{StreamReader, StreamWriter};

#[cfg(unix)]
use crate::reap::Reaper;
use crate::reap::{self, Proc};

/// The child's stdin: a `StreamWriter` (`write`, `drain`, `close`).
pub type ChildStdin = StreamWriter;
/// The child's stdout: a `StreamReader` (`read`, `readline`, `read_to_end`).
pub type ChildStdout = StreamReader;
/// The child's stderr: a `StreamReader`.
pub type ChildStderr = StreamReader;

/// A child process started by [`Command::spawn`](crate::Command::spawn) (asyncio's
/// `asyncio.subprocess.Process`).
///
/// Its piped streams are public fields, asyncio's `proc.stdin`, `proc.stdout` and
/// `proc.stderr`: [`take`](Option::take) them to use them from other tasks.
///
/// Dropping a `Child` does not wait for the process, nor kill it unless
/// [`kill_on_drop`](crate::Command::kill_on_drop) was set; it is reaped in the background
/// when it exits (no zombie is left behind).
///
/// On Windows there are no signals: [`kill`](Self::kill) and [`terminate`](Self::terminate)
/// both end the child with `TerminateProcess` (exit code 1), as asyncio does there, and
/// `send_signal` is a compile-time absence.
///
/// # Examples
///
/// ```
/// use tulip_process::{Command, Stdio};
///
/// tulip_runtime::run(async {
///     let mut child = Command::new("cat")
///         .stdin(Stdio::piped())
///         .stdout(Stdio::piped())
///         .spawn()?;
///     let stdin = child.stdin.take().unwrap();
///     let mut stdout = child.stdout.take().unwrap();
///     stdin.write(b"one line\n");
///     assert_eq!(stdout.readline().await.unwrap(), b"one line\n");
///     drop(stdin); // end of file: cat exits
///     assert!(child.wait().await?.success());
///     assert_eq!(child.returncode(), Some(0));
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub struct Child {
    /// Our end of the child's stdin, when it was [piped](crate::Stdio::piped).
    pub stdin: Option<ChildStdin>,
    /// Our end of the child's stdout, when it was piped.
    pub stdout: Option<ChildStdout>,
    /// Our end of the child's stderr, when it was piped.
    pub stderr: Option<ChildStderr>,
    proc: Arc<Proc>,
    kill_on_drop: bool,
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Child");
        d.field("pid", &self.proc.pid())
            .field("returncode", &self.returncode());
        #[cfg(unix)]
        d.field("reaper", &self.proc.reaper());
        d.finish_non_exhaustive()
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.kill_on_drop {
            let _ = self.kill();
        }
        reap::adopt(self.proc.clone());
    }
}

/// asyncio's return code: the exit code, or `-N` for a process killed by signal `N`.
#[cfg(unix)]
fn returncode_of(status: ExitStatus) -> i32 {
    match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(sig)) => -sig,
        (None, None) => i32::MIN,
    }
}

/// asyncio's return code: the exit code (Windows always has one).
#[cfg(windows)]
fn returncode_of(status: ExitStatus) -> i32 {
    status.code().unwrap_or(i32::MIN)
}

fn is_broken_pipe(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
    )
}

impl Child {
    pub(crate) fn new(proc: Arc<Proc>, kill_on_drop: bool) -> Child {
        Child {
            stdin: None,
            stdout: None,
            stderr: None,
            proc,
            kill_on_drop,
        }
    }

    /// The process id (asyncio's `pid`). It stays the child's number after the child exits,
    /// but once it is reaped the OS may give it to another process.
    pub fn id(&self) -> u32 {
        self.proc.pid()
    }

    /// Waits for the child to exit and returns its status (the first wait reaps it; later
    /// ones return the same status at once). Any number of waits may run at once, from any
    /// tasks, even of other loops: all get the same status. The pipes are left alone — a
    /// child that fills its stdout pipe while nobody reads it never exits; see
    /// [`communicate`](Self::communicate).
    ///
    /// On Windows the exit is learnt from a thread that waits on the child's process handle
    /// (started by the first wait, ended by the exit).
    ///
    /// # Errors
    ///
    /// The OS's error, e.g. `ECHILD` when something else in the process reaped the child
    /// (a `waitpid(-1)` of another library).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future neither kills nor reaps the child; wait again later.
    pub async fn wait(&self) -> io::Result<ExitStatus> {
        self.proc.wait().await
    }

    /// The exit status if the child has exited (reaping it), `None` if it still runs.
    ///
    /// # Errors
    ///
    /// As [`wait`](Self::wait).
    pub fn try_wait(&self) -> io::Result<Option<ExitStatus>> {
        self.proc.try_wait()
    }

    /// asyncio's `returncode`: `None` while the child runs, its exit code once it exited,
    /// `-N` if signal `N` killed it (Unix). Checking reaps a child that has exited.
    pub fn returncode(&self) -> Option<i32> {
        self.proc.try_wait().ok().flatten().map(returncode_of)
    }

    /// Sends signal `sig` to the child (asyncio's `send_signal`). A child that has exited
    /// and been reaped gets nothing, and that is not an error (its pid may be another
    /// process's by now).
    ///
    /// Unix only: Windows has no signals to send to another process.
    ///
    /// # Errors
    ///
    /// The OS's error (`InvalidInput` for an invalid signal number).
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_process::Command;
    ///
    /// tulip_runtime::run(async {
    ///     let child = Command::new("sleep").arg("60").spawn()?;
    ///     child.send_signal(tulip_signal::SIGUSR1)?;
    ///     child.wait().await?;
    ///     assert_eq!(child.returncode(), Some(-tulip_signal::SIGUSR1));
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    #[cfg(unix)]
    pub fn send_signal(&self, sig: i32) -> io::Result<()> {
        self.proc.send_signal(sig)
    }

    /// Sends SIGTERM (asyncio's `terminate`): the polite request to stop. On Windows, ends
    /// the child with `TerminateProcess` (exit code 1), as [`kill`](Self::kill) does.
    ///
    /// # Errors
    ///
    /// As [`send_signal`](Self::send_signal); on Windows, the OS's error.
    pub fn terminate(&self) -> io::Result<()> {
        #[cfg(unix)]
        return self.proc.send_signal(libc::SIGTERM);
        #[cfg(windows)]
        return self.proc.kill();
    }

    /// Sends SIGKILL (asyncio's `kill`); on Windows, ends the child with `TerminateProcess`
    /// (exit code 1). It does not wait: call [`wait`](Self::wait) to reap. A child that has
    /// exited gets nothing, and that is not an error.
    ///
    /// # Errors
    ///
    /// As [`send_signal`](Self::send_signal); on Windows, the OS's error.
    pub fn kill(&self) -> io::Result<()> {
        #[cfg(unix)]
        return self.proc.send_signal(libc::SIGKILL);
        #[cfg(windows)]
        return self.proc.kill();
    }

    /// Sends `input` to the child's stdin and closes it, reads its stdout and stderr to the
    /// end, waits for it to exit, and returns all of it (asyncio's `communicate`; std's
    /// `Output`). The three streams move together, so a child that fills a pipe while we
    /// still write never deadlocks, and a child that exits without reading its stdin is not
    /// an error: the input it did not take is dropped. Streams that were not piped (or were
    /// taken out of the `Child` before) are skipped; their part of the output is empty.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `input` is given but stdin was not piped; a read error of stdout or
    /// stderr; a write error of stdin other than a broken pipe; [`wait`](Self::wait)'s
    /// errors.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: the pipes are taken out of the `Child` when the future is first
    /// polled, so dropping it loses what was read so far, and closes stdin. The child is not
    /// killed; [`wait`](Self::wait) still works.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_process::{Command, Stdio};
    ///
    /// tulip_runtime::run(async {
    ///     let mut child = Command::new("tr")
    ///         .arg("a-z")
    ///         .arg("A-Z")
    ///         .stdin(Stdio::piped())
    ///         .stdout(Stdio::piped())
    ///         .spawn()?;
    ///     let out = child.communicate(Some(b"shout\n".to_vec())).await?;
    ///     assert_eq!(out.stdout, b"SHOUT\n");
    ///     assert!(out.status.success());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn communicate(&mut self, input: Option<Vec<u8>>) -> io::Result<Output> {
        if input.is_some() && self.stdin.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "communicate was given input but the child's stdin is not piped",
            ));
        }
        let stdin = self.stdin.take();
        let stdout = self.stdout.take();
        let stderr = self.stderr.take();
        let feed = async move {
            let Some(w) = stdin else {
                return Ok(());
            };
            if let Some(data) = input {
                w.write(&data);
            }
            // Flushes what `write` buffered, then closes the pipe: the child reads EOF.
            w.close();
            match w.wait_closed().await {
                Err(e) if !is_broken_pipe(&e) => Err(e),
                _ => Ok(()),
            }
        };
        let (fed, (out, err)) = futures_lite::future::zip(
            feed,
            futures_lite::future::zip(read_all(stdout), read_all(stderr)),
        )
        .await;
        fed?;
        let (stdout, stderr) = (out?, err?);
        let status = self.wait().await?;
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }

    /// Which mechanism reaps this child (for tests and debugging).
    #[cfg(unix)]
    #[doc(hidden)]
    pub fn reaped_by_pidfd(&self) -> bool {
        self.proc.reaper() == Reaper::Pidfd
    }
}

/// Everything a piped stream has to give; nothing for one that was not piped.
async fn read_all(reader: Option<StreamReader>) -> io::Result<Vec<u8>> {
    match reader {
        Some(mut r) => r.read_to_end().await,
        None => Ok(Vec::new()),
    }
}
