//! The loop dump from outside the process (asyncio 3.14's `python -m asyncio ps PID`), turned
//! on by environment variables read when the process builds its first loop (Unix only):
//!
//! - `TULIP_DUMP_SOCKET=PATH`: a thread listens on the Unix socket `PATH` (`{pid}` in it is
//!   replaced by the process id; `1` means `$TMPDIR/tulip-{pid}.sock`). A client that connects
//!   and sends `text` (or `json`, or nothing and shuts its writing half) gets the dump of every
//!   live loop of the process, then the connection closes. `cargo xtask ps PID|PATH` asks.
//! - `TULIP_DUMP_SIGNAL=USR1|USR2`: on that signal the process writes the same text dump on
//!   stderr.
//!
//! Both are served by a thread of their own, not by the loop, so a loop that is blocked (a
//! task that never yields) can still be looked at. The JSON is
//! `{"pid":…,"loops":[LoopDump::to_json(),…]}`; the text is `pid …` followed by each loop's
//! `Display`.
//!
//! A bad value is reported once on stderr and otherwise ignored: a diagnostic switch must not
//! stop the program it diagnoses. The socket file stays when the process ends (nothing runs
//! at exit to remove it); the next process that finds a dead socket at the path replaces it,
//! and one that finds a live one leaves it alone and says so.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, Weak};
use std::time::Duration;

use crate::handle::{LoopHandle, LoopShared};

/// The loops that may be dumped (weakly held: a loop that is gone is skipped and forgotten).
static LOOPS: Mutex<Vec<Weak<LoopShared>>> = Mutex::new(Vec::new());

/// Whether either variable turned the remote dump on (read once, at the first loop).
static ENABLED: OnceLock<bool> = OnceLock::new();

/// Called for every loop built: starts the servers the environment asks for (once per
/// process) and, if any runs, lists the loop for them.
pub(crate) fn register(handle: &LoopHandle) {
    if !*ENABLED.get_or_init(start_from_env) {
        return;
    }
    let mut loops = tulip_util::lock(&LOOPS);
    loops.retain(|w| w.strong_count() > 0);
    loops.push(handle.downgrade());
}

/// What a client may ask for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Format {
    Text,
    Json,
}

/// The dump of every live loop of this process.
fn render(format: Format) -> String {
    let handles: Vec<LoopHandle> = tulip_util::lock(&LOOPS)
        .iter()
        .filter_map(LoopHandle::upgrade)
        .filter(|h| !h.is_closed())
        .collect();
    let pid = std::process::id();
    match format {
        Format::Text => {
            let mut out = format!("pid {pid}: {} loop(s)\n", handles.len());
            for h in &handles {
                out.push_str(&h.dump().to_string());
            }
            out
        }
        Format::Json => {
            let loops: Vec<String> = handles.iter().map(|h| h.dump().to_json()).collect();
            format!("{{\"pid\":{pid},\"loops\":[{}]}}\n", loops.join(","))
        }
    }
}

fn start_from_env() -> bool {
    let mut on = false;
    if let Some(value) = std::env::var_os("TULIP_DUMP_SOCKET") {
        let path = socket_path(&value.to_string_lossy(), std::process::id());
        match serve_socket(&path) {
            Ok(()) => on = true,
            Err(e) => eprintln!(
                "tulip: TULIP_DUMP_SOCKET: cannot listen on {}: {e}",
                path.display()
            ),
        }
    }
    if let Some(value) = std::env::var_os("TULIP_DUMP_SIGNAL") {
        match parse_signal(&value.to_string_lossy()).and_then(serve_signal) {
            Ok(()) => on = true,
            Err(e) => eprintln!("tulip: TULIP_DUMP_SIGNAL={value:?}: {e}"),
        }
    }
    on
}

/// The socket path `TULIP_DUMP_SOCKET=value` names for process `pid`.
pub(crate) fn socket_path(value: &str, pid: u32) -> PathBuf {
    if value == "1" {
        return default_socket_path(pid);
    }
    PathBuf::from(value.replace("{pid}", &pid.to_string()))
}

/// `$TMPDIR/tulip-{pid}.sock`, where `TULIP_DUMP_SOCKET=1` listens (and `xtask ps PID` asks).
pub(crate) fn default_socket_path(pid: u32) -> PathBuf {
    std::env::temp_dir().join(format!("tulip-{pid}.sock"))
}

/// `USR1`, `SIGUSR1`, `USR2` or `SIGUSR2` (the signals that mean nothing else by default).
fn parse_signal(value: &str) -> io::Result<i32> {
    match value.trim().trim_start_matches("SIG") {
        "USR1" => Ok(tulip_signal::SIGUSR1),
        "USR2" => Ok(tulip_signal::SIGUSR2),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "expected USR1 or USR2",
        )),
    }
}

fn serve_signal(signal: i32) -> io::Result<()> {
    let (mut rx, tx) = UnixStream::pair()?;
    signal_hook::low_level::pipe::register(signal, tx)?;
    std::thread::Builder::new()
        .name("tulip-dump-signal".into())
        .spawn(move || {
            let mut bytes = [0u8; 64];
            loop {
                // Each read takes the bytes of one or more signals: one dump for them all.
                match rx.read(&mut bytes) {
                    Ok(0) => return,
                    Ok(_) => {
                        let text = render(Format::Text);
                        let _ = io::stderr().lock().write_all(text.as_bytes());
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => return,
                }
            }
        })?;
    Ok(())
}

fn serve_socket(path: &Path) -> io::Result<()> {
    let listener = match UnixListener::bind(path) {
        Ok(l) => l,
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
            // A socket left by a process that is gone is replaced; a live one is not.
            if UnixStream::connect(path).is_ok() {
                return Err(e);
            }
            std::fs::remove_file(path)?;
            UnixListener::bind(path)?
        }
        Err(e) => return Err(e),
    };
    std::thread::Builder::new()
        .name("tulip-dump-socket".into())
        .spawn(move || {
            for conn in listener.incoming().flatten() {
                // One client at a time, each bounded by the timeouts: this is a debugging aid.
                let _ = answer(conn);
            }
        })?;
    Ok(())
}

/// Reads the request (a line: `text` or `json`; end of stream or anything else means `json`)
/// and writes the dump.
fn answer(conn: UnixStream) -> io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(2)))?;
    conn.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut line = String::new();
    // At most one short line: a client cannot make us buffer much.
    let _ = BufReader::new(&conn).take(64).read_line(&mut line);
    let format = if line.trim() == "text" {
        Format::Text
    } else {
        Format::Json
    };
    (&conn).write_all(render(format).as_bytes())?;
    conn.shutdown(std::net::Shutdown::Write)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_paths() {
        assert_eq!(
            socket_path("/run/x-{pid}.sock", 42),
            Path::new("/run/x-42.sock")
        );
        assert_eq!(socket_path("/run/x.sock", 42), Path::new("/run/x.sock"));
        assert_eq!(
            socket_path("1", 7),
            std::env::temp_dir().join("tulip-7.sock")
        );
    }

    #[test]
    fn signal_names() {
        assert_eq!(parse_signal("USR2").unwrap(), tulip_signal::SIGUSR2);
        assert_eq!(parse_signal("SIGUSR1").unwrap(), tulip_signal::SIGUSR1);
        assert!(parse_signal("TERM").is_err());
        assert!(parse_signal("").is_err());
    }
}
