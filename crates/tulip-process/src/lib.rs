//! Child processes for the tulip event loop: asyncio's "Subprocesses" page, an async version
//! of [`std::process`].
//!
//! - [`create_subprocess_exec`]`(program, args)` and [`create_subprocess_shell`]`(cmd)` return
//!   a [`Command`] (shaped like `std::process::Command`); [`Command::spawn`] starts it.
//! - [`Child`]: `stdin` is a `StreamWriter`, `stdout`/`stderr` are `StreamReader`s (asyncio's
//!   streams, from tulip-net); [`Child::wait`], [`Child::communicate`], [`Child::kill`],
//!   [`Child::terminate`], [`Child::send_signal`], [`Child::returncode`].
//! - [`Stdio`]: `piped()`, `inherit()`, `null()`, or a file descriptor.
//!
//! | asyncio | tulip |
//! |---|---|
//! | `await create_subprocess_exec(prog, *args, stdout=PIPE)` | `create_subprocess_exec(prog, args).stdout(Stdio::piped()).spawn()?` |
//! | `await create_subprocess_shell(cmd)` | `create_subprocess_shell(cmd).spawn()?` |
//! | `await proc.communicate(input)` | `child.communicate(Some(input)).await?` → `std::process::Output` |
//! | `await proc.wait()`, `proc.returncode`, `proc.pid` | `child.wait().await?`, `child.returncode()`, `child.id()` |
//! | `proc.send_signal(sig)`, `terminate()`, `kill()` | the same names |
//!
//! # Implementation
//!
//! Children are started by std (`posix_spawn` or `fork`/`exec`, with the close-on-exec pipe
//! that reports an `exec` failure). Our ends of the pipes are made non-blocking and
//! registered with the loop's reactor. Writes to stdin never raise SIGPIPE: the signal is
//! blocked on the writing thread around each `write` and a SIGPIPE the write raised is
//! consumed, so a child that exits without reading gives `BrokenPipe`, never a dead parent
//! (Rust programs ignore SIGPIPE, but a library cannot count on that).
//!
//! Reaping never calls `waitpid(-1)`, which would steal other libraries' children: each wait
//! is a `waitpid` on our own pid, tried again when the child's **pidfd** turns readable in the
//! reactor (Linux 5.3+), or, where pidfds are missing or refused, after each **SIGCHLD**
//! (through tulip-signal). `TULIP_REAPER=sigchld` forces the second (for tests). A child
//! dropped before it was reaped is waited for by a task of the current loop, or — when no
//! loop can (none runs, or it closes first) — by a thread of its own blocked in `waitpid`:
//! no zombie is left behind. No thread is spawned otherwise.
//!
//! Developed and tested on Linux, with both reapers. On the other Unixes the SIGCHLD reaper is
//! the one taken; CI compiles them for macOS and FreeBSD but does not run them.
//!
//! # Examples
//!
//! ```
//! use tulip_process::{create_subprocess_exec, Stdio};
//!
//! tulip_runtime::run(async {
//!     let mut child = create_subprocess_exec("sort", ["-r"])
//!         .stdin(Stdio::piped())
//!         .stdout(Stdio::piped())
//!         .spawn()?;
//!     let out = child.communicate(Some(b"a\nc\nb\n".to_vec())).await?;
//!     assert_eq!(out.stdout, b"c\nb\na\n");
//!     assert_eq!(child.returncode(), Some(0));
//!     std::io::Result::Ok(())
//! })?;
//! # std::io::Result::Ok(())
//! ```
//!
//! # Platforms
//!
//! Tested on Linux; compiled in CI for macOS, FreeBSD and Windows, never run there.
//!
//! On Windows children are started by std (`CreateProcess`) and have everything above but
//! signals: [`Child::kill`] and [`Child::terminate`] both call `TerminateProcess` (exit code
//! 1, as asyncio does there); `send_signal` and `Command::process_group` are compile-time
//! absences; [`create_subprocess_shell`] runs `%COMSPEC% /c "cmd"`. The reactor there (IOCP
//! through `polling`) takes sockets only, so each piped stream is served by a thread of its
//! own doing std's blocking reads or writes, handing over to the loop one chunk (64 KiB at
//! most) at a time, and a wait learns of the exit from a thread blocked on the process
//! handle; see [`PipeReader`] and [`PipeWriter`]. Nothing is left to reap there: Windows has
//! no zombies.

#![cfg(any(unix, windows))]
#![deny(unsafe_code)]
#![doc(test(attr(deny(warnings))))]
// The docs link to Unix-only items (`send_signal`, `process_group`, …).
#![cfg_attr(windows, allow(rustdoc::broken_intra_doc_links))]

mod child;
mod command;
#[cfg(unix)]
mod pipe;
#[cfg(windows)]
#[path = "pipe_thread.rs"]
mod pipe;
// Windows' pipes, compiled on Unix too for their tests (they are std alone).
#[cfg(all(unix, test))]
#[allow(unreachable_pub)] // Public on Windows; on Unix only the tests reach it.
mod pipe_thread;
#[cfg(unix)]
#[allow(unsafe_code)] // kill(2) with any signal number, which rustix does not offer.
mod reap;
#[cfg(windows)]
#[allow(unsafe_code)] // WaitForSingleObject on the child's process handle.
#[path = "reap_thread.rs"]
mod reap;
// Windows' waits, compiled on Unix too for their tests (`waitid` stands in for the handle).
#[cfg(all(unix, test))]
#[allow(dead_code)] // On Unix only the tests reach it.
mod reap_thread;

pub use child::{Child, ChildStderr, ChildStdin, ChildStdout};
pub use command::{create_subprocess_exec, create_subprocess_shell, Command, Stdio};
pub use pipe::{PipeReader, PipeWriter};
