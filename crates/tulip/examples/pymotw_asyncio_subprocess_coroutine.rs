//! Reading a child process's output with coroutines: PyMOTW-3's
//! `asyncio_subprocess_coroutine.py` (dhellmann/pymotw-3, `source/asyncio/`), in tulip.
//! Expected output: tests/data/pymotw/asyncio_subprocess_coroutine.txt.
//!
//! ```text
//! cargo run -p tulip --example pymotw_asyncio_subprocess_coroutine
//! ```
//!
//! `create_subprocess_exec("df", ["-hl"]).stdout(Stdio::piped()).spawn()` is
//! `create_subprocess_exec('df', '-hl', stdout=PIPE)`; `stdout` is a `StreamReader` with
//! `readline`. The table is parsed into (header → column) maps as the Python does; the
//! header "Mounted on" is two words on Linux (`df` from coreutils), so the mount point is
//! taken as the last column.

use std::collections::HashMap;

use tulip::process::{create_subprocess_exec, Stdio};

/// Bytes shown as Python shows them (`b'…'`).
fn bytes_repr(b: &[u8]) -> String {
    format!("b'{}'", b.escape_ascii())
}

fn parse_results(output: &str) -> Vec<HashMap<String, String>> {
    println!("parsing results");
    // One row of headers, then one row per file system, columns more or less under the
    // headers (assuming that no mount point has white space in its name).
    let mut lines = output.lines();
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let headers: Vec<&str> = header.split_whitespace().collect();
    lines
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let mut row: HashMap<String, String> = headers
                .iter()
                .zip(&fields)
                .map(|(h, f)| (h.to_string(), f.to_string()))
                .collect();
            if let Some(last) = fields.last() {
                row.insert("Mounted".to_string(), last.to_string());
            }
            row
        })
        .collect()
}

async fn run_df() -> std::io::Result<(Option<i32>, Vec<HashMap<String, String>>)> {
    println!("in run_df");
    let mut buffer = Vec::new();
    println!("launching process");
    let mut proc = create_subprocess_exec("df", ["-hl"])
        .stdout(Stdio::piped())
        .spawn()?;
    println!("process started {}", proc.id());
    let stdout = proc.stdout.as_mut().expect("stdout is piped");
    loop {
        let line = stdout.readline().await.map_err(std::io::Error::from)?;
        println!("read {}", bytes_repr(&line));
        if line.is_empty() {
            println!("no more output from command");
            break;
        }
        buffer.extend_from_slice(&line);
    }
    println!("waiting for process to complete");
    proc.wait().await?;
    let return_code = proc.returncode();
    println!("return code {}", return_code.unwrap_or(-1));
    let results = if return_code == Some(0) {
        parse_results(&String::from_utf8_lossy(&buffer))
    } else {
        Vec::new()
    };
    Ok((return_code, results))
}

fn main() -> std::io::Result<()> {
    let (return_code, results) = tulip::run(run_df())?;
    match return_code {
        Some(0) => {
            println!("\nFree space:");
            for r in results {
                let mounted = r.get("Mounted").map_or("?", String::as_str);
                let avail = r.get("Avail").map_or("?", String::as_str);
                println!("{mounted:25}: {avail}");
            }
        }
        code => println!("error exit {code:?}"),
    }
    Ok(())
}
