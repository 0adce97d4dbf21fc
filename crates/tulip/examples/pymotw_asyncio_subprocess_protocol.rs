//! PyMOTW-3's `asyncio_subprocess_protocol.py` with tulip's transports and protocols: runs
//! `df -hl` with a `SubprocessProtocol` that collects its stdout; once the process has
//! exited, prints the free space of each file system.
//!
//! Provenance: dhellmann/pymotw-3, source/asyncio/asyncio_subprocess_protocol.py (rewritten
//! in Rust; the structure and the printed lines follow it).

use std::collections::HashMap;
use std::io;

use tulip::process::{Command, Stdio};
use tulip::protocol::{SubprocessProtocol, SubprocessTransport};

const FD_NAMES: [&str; 3] = ["stdin", "stdout", "stderr"];

struct DfProtocol {
    /// Resolved with the return code and the output (PyMOTW's `done` future).
    done: Option<tulip::channel::oneshot::Sender<(Option<i32>, Vec<u8>)>>,
    buffer: Vec<u8>,
    transport: Option<SubprocessTransport>,
}

impl SubprocessProtocol for DfProtocol {
    fn connection_made(&mut self, transport: SubprocessTransport) {
        println!("process started {}", transport.get_pid());
        self.transport = Some(transport);
    }

    fn pipe_data_received(&mut self, fd: i32, data: &[u8]) {
        println!("read {} bytes from {}", data.len(), FD_NAMES[fd as usize]);
        if fd == 1 {
            self.buffer.extend_from_slice(data);
        }
    }

    fn process_exited(&mut self) {
        println!("process exited");
        let return_code = self.transport.as_ref().and_then(|t| t.get_returncode());
        println!("return code {return_code:?}");
        if let Some(done) = self.done.take() {
            let _ = done.send((return_code, std::mem::take(&mut self.buffer)));
        }
    }
}

fn parse_results(output: &str) -> Vec<HashMap<String, String>> {
    println!("parsing results");
    // Output has one row of headers, all single words. The remaining rows are one per
    // filesystem, with columns matching the headers (assuming that none of the mount points
    // have whitespace in the names).
    let mut lines = output.lines();
    let Some(headers) = lines.next() else {
        return Vec::new();
    };
    let headers: Vec<&str> = headers.split_whitespace().collect();
    lines
        .map(|line| {
            headers
                .iter()
                .zip(line.split_whitespace())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

async fn run_df() -> io::Result<(Option<i32>, Vec<HashMap<String, String>>)> {
    println!("in run_df");
    let (tx, cmd_done) = tulip::channel::oneshot();
    let mut cmd = Command::new("df");
    // stdin=None, stderr=None: only stdout is piped.
    cmd.arg("-hl").stdout(Stdio::piped());
    println!("launching process");
    let transport = tulip::protocol::subprocess_command(
        move || DfProtocol {
            done: Some(tx),
            buffer: Vec::new(),
            transport: None,
        },
        &mut cmd,
    )
    .await?;
    println!("waiting for process to complete");
    let done = cmd_done.await;
    transport.close();
    let (return_code, output) = done.map_err(|_| io::Error::other("df's protocol went away"))?;
    Ok((
        return_code,
        parse_results(&String::from_utf8_lossy(&output)),
    ))
}

fn main() -> io::Result<()> {
    let (return_code, results) = tulip::run(run_df())?;
    match return_code {
        Some(0) => {
            println!("\nFree space:");
            for r in results {
                let get = |k: &str| r.get(k).map_or("", String::as_str).to_string();
                println!("{:25}: {}", get("Mounted"), get("Avail"));
            }
        }
        code => println!("error exit {code:?}"),
    }
    Ok(())
}
