//! The examples of asyncio's "Subprocesses" page, in tulip.
//!
//! ```text
//! cargo run -p tulip --example subprocess
//! ```
//!
//! `run` starts a shell command and reports its exit status, stdout and stderr
//! (`create_subprocess_shell` + `communicate`); two run at once with `join!`. Then
//! `date_in_python`'s counterpart reads one line from a child with `create_subprocess_exec`.

use tulip::process::{create_subprocess_exec, create_subprocess_shell, Stdio};

async fn run(cmd: &str) -> std::io::Result<()> {
    let mut proc = create_subprocess_shell(cmd)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let out = proc.communicate(None).await?;
    println!("[{cmd:?} exited with {:?}]", proc.returncode());
    if !out.stdout.is_empty() {
        print!("[stdout]\n{}", String::from_utf8_lossy(&out.stdout));
    }
    if !out.stderr.is_empty() {
        print!("[stderr]\n{}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

async fn get_date() -> std::io::Result<String> {
    let mut proc = create_subprocess_exec("date", ["+%Y-%m-%d"])
        .stdout(Stdio::piped())
        .spawn()?;
    let line = proc
        .stdout
        .as_mut()
        .expect("stdout is piped")
        .readline()
        .await
        .map_err(std::io::Error::from)?;
    proc.wait().await?;
    Ok(String::from_utf8_lossy(&line).trim().to_string())
}

#[tulip::main]
async fn main() -> std::io::Result<()> {
    run("ls /zzz").await?;
    let (a, b) = tulip::join!(run("sleep 0.2; echo 'hello'"), run("echo 'world' >&2"));
    a?;
    b?;
    println!("Current date: {}", get_date().await?);
    Ok(())
}
