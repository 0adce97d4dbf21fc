//! `cargo xtask ps PID|SOCKET [--json]`: the task dump of a running tulip process
//! (asyncio 3.14's `python -m asyncio ps PID`). The process must have been started with
//! `TULIP_DUMP_SOCKET` set (`1` listens on `$TMPDIR/tulip-PID.sock`, which `ps PID` asks);
//! see `crates/tulip-runtime/src/remote.rs` for the protocol: one request line, `text` or
//! `json`, answered with the dump, then the socket closes.

use std::path::PathBuf;

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let json = args.iter().any(|a| a == "--json");
    let target = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .ok_or("usage: cargo xtask ps PID|SOCKET [--json]")?;
    let path = match target.parse::<u32>() {
        Ok(pid) => std::env::temp_dir().join(format!("tulip-{pid}.sock")),
        Err(_) => PathBuf::from(target),
    };
    print!("{}", ask(&path, json)?);
    Ok(())
}

#[cfg(unix)]
fn ask(path: &std::path::Path, json: bool) -> Result<String, String> {
    use std::io::{Read, Write};
    use std::time::Duration;
    let mut s = std::os::unix::net::UnixStream::connect(path).map_err(|e| {
        format!(
            "cannot reach {}: {e} (was the process started with TULIP_DUMP_SOCKET=1?)",
            path.display()
        )
    })?;
    let io = |e: std::io::Error| format!("{}: {e}", path.display());
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(io)?;
    s.write_all(if json { b"json\n" } else { b"text\n" })
        .map_err(io)?;
    let mut out = String::new();
    s.read_to_string(&mut out).map_err(io)?;
    Ok(out)
}

#[cfg(not(unix))]
fn ask(_path: &std::path::Path, _json: bool) -> Result<String, String> {
    Err("the remote loop dump is Unix-only".into())
}
