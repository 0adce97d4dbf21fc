//! PyMOTW-3's `asyncio_subprocess_protocol.py` with tulip's transports and protocols: runs
//! `df -hl` with a `SubprocessProtocol` that collects its output and, once the process has
//! exited, parses it into a table of file systems.
//!
//! Provenance: dhellmann/pymotw-3, source/asyncio/asyncio_subprocess_protocol.py (rewritten
//! in Rust; the structure and the log lines follow it).

use std::io;
use std::sync::{Arc, Mutex};

use tulip::protocol::{LoopProtocolExt, SubprocessProtocol, SubprocessTransport};

/// `df`'s output, collected.
struct DfProtocol {
    buffer: Vec<u8>,
    transport: Option<SubprocessTransport>,
    done: Arc<Mutex<Option<Vec<Vec<String>>>>>,
}

const FIELD_NAMES: [&str; 6] = ["filesystem", "size", "used", "avail", "capacity", "mounted"];

impl SubprocessProtocol for DfProtocol {
    fn connection_made(&mut self, transport: SubprocessTransport) {
        println!("process started {}", transport.get_pid());
        self.transport = Some(transport);
    }

    fn pipe_data_received(&mut self, fd: i32, data: &[u8]) {
        println!(
            "read {} bytes from {}",
            data.len(),
            if fd == 1 { "stdout" } else { "stderr" }
        );
        if fd == 1 {
            self.buffer.extend_from_slice(data);
        }
    }

    fn process_exited(&mut self) {
        println!("process exited");
        let code = self.transport.as_ref().and_then(|t| t.get_returncode());
        println!("return code {code:?}");
        let results = if code == Some(0) {
            parse_results(&String::from_utf8_lossy(&self.buffer))
        } else {
            Vec::new()
        };
        *self.done.lock().unwrap() = Some(results);
    }
}

fn parse_results(output: &str) -> Vec<Vec<String>> {
    println!("parsing results");
    // Output has one row of headers, all single words. The remaining rows are one per
    // filesystem, with columns matching the headers (assuming that none of the mount points
    // have whitespace in the names).
    output
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let parts: Vec<&str> = l.split_whitespace().collect();
            let n = FIELD_NAMES.len();
            if parts.len() <= n {
                parts.iter().map(|s| s.to_string()).collect()
            } else {
                // Mount points with spaces: rejoin the tail.
                let mut v: Vec<String> = parts[..n - 1].iter().map(|s| s.to_string()).collect();
                v.push(parts[n - 1..].join(" "));
                v
            }
        })
        .collect()
}

#[tulip::main]
async fn main() -> io::Result<()> {
    let done = Arc::new(Mutex::new(None));
    let d = done.clone();
    let event_loop = tulip::EventLoop::current();
    let transport = event_loop
        .subprocess_exec(
            move || DfProtocol {
                buffer: Vec::new(),
                transport: None,
                done: d,
            },
            "df",
            ["-hl"],
        )
        .await?;
    println!("waiting for process to complete");
    transport.wait_closed().await;
    let results = done.lock().unwrap().take().unwrap_or_default();
    println!();
    for row in results {
        let name = FIELD_NAMES[0];
        println!("{:<25} {}", row.first().map_or("", String::as_str), name);
        for (field, value) in FIELD_NAMES.iter().zip(&row).skip(1) {
            println!("    {field:<10}: {value}");
        }
    }
    Ok(())
}
