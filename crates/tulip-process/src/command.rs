//! [`Command`], [`Stdio`], [`create_subprocess_exec`] and [`create_subprocess_shell`].

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs::File;
use std::io;
#[cfg(unix)]
use std::os::fd::OwnedFd;
#[cfg(unix)]
use std::os::unix::process::CommandExt;
#[cfg(windows)]
use std::os::windows::io::OwnedHandle;
#[cfg(windows)]
use std::os::windows::process::CommandExt;
use std::path::Path;
use std::sync::Arc;

use tulip_net::streams::{self, DEFAULT_LIMIT};
use tulip_reactor::Reactor;

use crate::child::Child;
use crate::pipe::{PipeReader, PipeWriter};
use crate::reap::{self, Proc};

/// What a child's stdin, stdout or stderr is connected to (std's `Stdio`, asyncio's `PIPE`,
/// `DEVNULL` and `None`).
///
/// # Examples
///
/// ```
/// use tulip_process::{Command, Stdio};
///
/// tulip_runtime::run(async {
///     let path = std::env::temp_dir().join(format!("tulip-stdio-{}.log", std::process::id()));
///     let log = std::fs::File::create(&path)?;
///     let child = Command::new("echo")
///         .arg("to a file")
///         .stdin(Stdio::null())
///         .stdout(log) // a `File`, or any `OwnedFd`
///         .stderr(Stdio::inherit())
///         .spawn()?;
///     assert!(child.wait().await?.success());
///     assert_eq!(std::fs::read(&path)?, b"to a file\n");
///     std::fs::remove_file(&path)
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub struct Stdio(std::process::Stdio);

impl fmt::Debug for Stdio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Stdio {
    /// A new pipe: the child's end is connected, ours becomes the [`Child`]'s
    /// `stdin` (a `StreamWriter`) or `stdout`/`stderr` (a `StreamReader`). asyncio's `PIPE`.
    pub fn piped() -> Stdio {
        Stdio(std::process::Stdio::piped())
    }

    /// The parent's own stream (the default). asyncio's `None`.
    pub fn inherit() -> Stdio {
        Stdio(std::process::Stdio::inherit())
    }

    /// `/dev/null` (`NUL` on Windows). asyncio's `DEVNULL`.
    pub fn null() -> Stdio {
        Stdio(std::process::Stdio::null())
    }
}

impl From<std::process::Stdio> for Stdio {
    fn from(s: std::process::Stdio) -> Stdio {
        Stdio(s)
    }
}

#[cfg(unix)]
impl From<OwnedFd> for Stdio {
    /// The child gets this file descriptor (ours is closed once the child has it).
    fn from(fd: OwnedFd) -> Stdio {
        Stdio(fd.into())
    }
}

#[cfg(windows)]
impl From<OwnedHandle> for Stdio {
    /// The child gets this handle (ours is closed once the child has it).
    fn from(handle: OwnedHandle) -> Stdio {
        Stdio(handle.into())
    }
}

impl From<File> for Stdio {
    fn from(f: File) -> Stdio {
        Stdio(f.into())
    }
}

/// A process to start, built like `std::process::Command` (which it wraps): program,
/// arguments, environment, working directory, stdio, process group — plus
/// [`kill_on_drop`](Self::kill_on_drop) and asyncio's [`limit`](Self::limit).
///
/// # Examples
///
/// ```
/// use tulip_process::{Command, Stdio};
///
/// tulip_runtime::run(async {
///     let mut child = Command::new("sh")
///         .args(["-c", "echo \"$GREETING from $(pwd)\""])
///         .env_clear()
///         .env("PATH", "/usr/bin:/bin")
///         .env("GREETING", "hello")
///         .current_dir("/")
///         .stdout(Stdio::piped())
///         .spawn()?;
///     let out = child.communicate(None).await?;
///     assert_eq!(out.stdout, b"hello from /\n");
///     assert!(out.status.success());
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub struct Command {
    std: std::process::Command,
    kill_on_drop: bool,
    limit: usize,
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Command")
            .field("command", &self.std)
            .field("kill_on_drop", &self.kill_on_drop)
            .field("limit", &self.limit)
            .finish()
    }
}

/// A [`Command`] running `program` with `args` (asyncio's `create_subprocess_exec(program,
/// *args)`); set its stdio and call [`spawn`](Command::spawn). `program` is looked up in
/// `PATH` when it has no `/`.
///
/// # Examples
///
/// ```
/// use tulip_process::{create_subprocess_exec, Stdio};
///
/// tulip_runtime::run(async {
///     let mut child = create_subprocess_exec("printf", ["%s-%s", "a", "b"])
///         .stdout(Stdio::piped())
///         .spawn()?;
///     let out = child.stdout.take().unwrap().read_to_end().await?;
///     assert_eq!(out, b"a-b");
///     assert_eq!(child.wait().await?.code(), Some(0));
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub fn create_subprocess_exec<I, S>(program: impl AsRef<OsStr>, args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut c = Command::new(program);
    c.args(args);
    c
}

/// A [`Command`] running `cmd` through the shell, `/bin/sh -c cmd` (asyncio's
/// `create_subprocess_shell`). Quote what you put in `cmd` yourself: the shell interprets it.
///
/// On Windows the shell is `%COMSPEC%` (`cmd.exe` when unset), given `/c "cmd"` as its
/// command line unchanged, as Python's `subprocess` does for `shell=True`.
///
/// # Examples
///
/// ```
/// use tulip_process::{create_subprocess_shell, Stdio};
///
/// tulip_runtime::run(async {
///     let mut child = create_subprocess_shell("echo out; echo err >&2; exit 3")
///         .stdout(Stdio::piped())
///         .stderr(Stdio::piped())
///         .spawn()?;
///     let out = child.communicate(None).await?;
///     assert_eq!((&out.stdout[..], &out.stderr[..]), (&b"out\n"[..], &b"err\n"[..]));
///     assert_eq!(child.returncode(), Some(3));
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[cfg(unix)]
pub fn create_subprocess_shell(cmd: impl AsRef<OsStr>) -> Command {
    let mut c = Command::new("/bin/sh");
    c.arg("-c").arg(cmd);
    c
}

/// A [`Command`] running `cmd` through the shell, `%COMSPEC% /c "cmd"` (asyncio's
/// `create_subprocess_shell`, with Python's `shell=True` command line). Quote what you put in
/// `cmd` yourself: `cmd.exe` interprets it.
#[cfg(windows)]
pub fn create_subprocess_shell(cmd: impl AsRef<OsStr>) -> Command {
    let comspec = std::env::var_os("COMSPEC").unwrap_or_else(|| "cmd.exe".into());
    let mut line = OsString::from("/c \"");
    line.push(cmd);
    line.push("\"");
    let mut c = Command::new(comspec);
    // Given as it is: std's quoting of arguments follows the C runtime's rules, not cmd.exe's.
    c.std.raw_arg(line);
    c
}

impl Command {
    /// A command running `program` (looked up in `PATH` when it has no `/`), with no
    /// arguments, the parent's environment, working directory and stdio.
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command {
            std: std::process::Command::new(program),
            kill_on_drop: false,
            limit: DEFAULT_LIMIT,
        }
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.std.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Sets an environment variable for the child.
    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Command {
        self.std.env(key, value);
        self
    }

    /// Sets environment variables for the child.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.envs(vars);
        self
    }

    /// Removes an environment variable from the child's environment.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Starts the child with an empty environment (then add what it needs with
    /// [`env`](Self::env); without `PATH`, give the program's full path).
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// The child's working directory. A relative program path is resolved from the parent's
    /// working directory on some platforms and from this one on others: use an absolute one.
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// The child's stdin (default: inherited). [`Stdio::piped`] gives [`Child::stdin`].
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdin(cfg.into().0);
        self
    }

    /// The child's stdout (default: inherited). [`Stdio::piped`] gives [`Child::stdout`].
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdout(cfg.into().0);
        self
    }

    /// The child's stderr (default: inherited). [`Stdio::piped`] gives [`Child::stderr`].
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stderr(cfg.into().0);
        self
    }

    /// Puts the child in process group `pgroup` (0: a new group whose id is the child's pid),
    /// as `setpgid` does; asyncio's `process_group=` (3.11). A signal sent to the group (a
    /// terminal's Ctrl-C goes to the foreground group) then reaches it and its descendants,
    /// not the parent.
    ///
    /// Unix only (Windows has no process groups of this kind; its creation flags are on
    /// [`as_std_mut`](Self::as_std_mut)).
    #[cfg(unix)]
    pub fn process_group(&mut self, pgroup: i32) -> &mut Command {
        self.std.process_group(pgroup);
        self
    }

    /// Whether dropping the [`Child`] kills the process (SIGKILL; `TerminateProcess` on
    /// Windows) if it still runs (default: no; asyncio never kills). Either way a dropped
    /// child is reaped in the background (on Unix; Windows has nothing to reap).
    pub fn kill_on_drop(&mut self, kill: bool) -> &mut Command {
        self.kill_on_drop = kill;
        self
    }

    /// The limit of the `stdout`/`stderr` readers (asyncio's `limit=`, default 64 KiB): see
    /// `StreamReader`. A limit of 0 makes [`spawn`](Self::spawn) fail.
    pub fn limit(&mut self, limit: usize) -> &mut Command {
        self.limit = limit;
        self
    }

    /// The program.
    pub fn get_program(&self) -> &OsStr {
        self.std.get_program()
    }

    /// The std command inside, for the settings this one does not wrap (`uid`, `gid`,
    /// `arg0`, …; `creation_flags`, `raw_arg` on Windows). Its stdio settings are the ones
    /// [`stdin`](Self::stdin) and the others make.
    pub fn as_std_mut(&mut self) -> &mut std::process::Command {
        &mut self.std
    }

    /// Starts the child. Its pipes are registered with the running loop, and so is its
    /// exit (see [`Child::wait`]).
    ///
    /// # Errors
    ///
    /// When the program cannot be run: `NotFound` when it does not exist, `PermissionDenied`
    /// when it is not executable, with a message naming the program; `InvalidInput` for a
    /// limit of 0; an error when no tulip loop runs on this thread. If registering a pipe
    /// fails after the process started, the process is killed (and reaped) before the error
    /// is returned.
    pub fn spawn(&mut self) -> io::Result<Child> {
        if Reactor::current().is_none() {
            return Err(io::Error::other(
                "tulip: spawn child processes inside a running tulip event loop (it watches \
                 their pipes and their exit)",
            ));
        }
        if self.limit == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the readers' limit cannot be 0",
            ));
        }
        reap::sweep_leftovers();
        let mut std_child = self
            .std
            .spawn()
            .map_err(|e| SpawnError::wrap(&self.std, e))?;
        let stdin = std_child.stdin.take();
        let stdout = std_child.stdout.take();
        let stderr = std_child.stderr.take();
        let mut child = Child::new(Arc::new(Proc::new(std_child)), self.kill_on_drop);
        let limit = self.limit;
        let pipes = (|| -> io::Result<()> {
            if let Some(p) = stdin {
                let (_reader, writer) = streams::from_stream_with_limit(writer(p)?, limit)?;
                child.stdin = Some(writer);
            }
            if let Some(p) = stdout {
                let (reader, _writer) = streams::from_stream_with_limit(reader(p)?, limit)?;
                child.stdout = Some(reader);
            }
            if let Some(p) = stderr {
                let (reader, _writer) = streams::from_stream_with_limit(reader(p)?, limit)?;
                child.stderr = Some(reader);
            }
            Ok(())
        })();
        match pipes {
            Ok(()) => Ok(child),
            Err(e) => {
                // The caller never gets this child: kill it (dropping it reaps it).
                let _ = child.kill();
                Err(e)
            }
        }
    }
}

/// Our end of a child's stdin, registered with the loop.
#[cfg(unix)]
fn writer(p: std::process::ChildStdin) -> io::Result<PipeWriter> {
    PipeWriter::new(p.into())
}

/// Our end of a child's stdout or stderr, registered with the loop.
#[cfg(unix)]
fn reader(p: impl Into<OwnedFd>) -> io::Result<PipeReader> {
    PipeReader::new(p.into())
}

/// Our end of a child's stdin, written by a thread of its own (see `pipe_thread.rs`).
#[cfg(windows)]
fn writer(p: std::process::ChildStdin) -> io::Result<PipeWriter> {
    PipeWriter::new(p)
}

/// Our end of a child's stdout or stderr, read by a thread of its own.
#[cfg(windows)]
fn reader(p: impl io::Read + Send + 'static) -> io::Result<PipeReader> {
    PipeReader::new(p)
}

/// A spawn failure, naming the program.
#[derive(Debug)]
struct SpawnError {
    program: OsString,
    source: io::Error,
}

impl SpawnError {
    fn wrap(cmd: &std::process::Command, source: io::Error) -> io::Error {
        io::Error::new(
            source.kind(),
            SpawnError {
                program: cmd.get_program().to_owned(),
                source,
            },
        )
    }
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot run {:?}: {}", self.program, self.source)
    }
}

impl std::error::Error for SpawnError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}
