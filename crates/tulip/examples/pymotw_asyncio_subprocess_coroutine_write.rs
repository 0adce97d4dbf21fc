//! Writing to and reading from a child process with `communicate`: PyMOTW-3's
//! `asyncio_subprocess_coroutine_write.py` (dhellmann/pymotw-3, `source/asyncio/`), in tulip.
//! Expected output: tests/data/pymotw/asyncio_subprocess_coroutine_write.txt.
//!
//! ```text
//! cargo run -p tulip --example pymotw_asyncio_subprocess_coroutine_write
//! ```
//!
//! `Child::communicate(Some(input))` writes the input, closes stdin and reads stdout to the
//! end without deadlocking on full pipes, as asyncio's does.

use tulip::process::{create_subprocess_exec, Stdio};

const MESSAGE: &str = "
This message will be converted
to all caps.
";

async fn to_upper(input: &str) -> std::io::Result<(Option<i32>, String)> {
    println!("in to_upper");
    println!("launching process");
    let mut proc = create_subprocess_exec("tr", ["[:lower:]", "[:upper:]"])
        .stdout(Stdio::piped())
        .stdin(Stdio::piped())
        .spawn()?;
    println!("pid {}", proc.id());
    println!("communicating with process");
    let output = proc.communicate(Some(input.as_bytes().to_vec())).await?;
    println!("waiting for process to complete");
    proc.wait().await?;
    let return_code = proc.returncode();
    println!("return code {}", return_code.unwrap_or(-1));
    let results = if return_code == Some(0) {
        String::from_utf8_lossy(&output.stdout).into_owned()
    } else {
        String::new()
    };
    Ok((return_code, results))
}

fn main() -> std::io::Result<()> {
    let (return_code, results) = tulip::run(to_upper(MESSAGE))?;
    match return_code {
        Some(0) => {
            println!("Original: {MESSAGE:?}");
            println!("Changed : {results:?}");
        }
        code => println!("error exit {code:?}"),
    }
    Ok(())
}
