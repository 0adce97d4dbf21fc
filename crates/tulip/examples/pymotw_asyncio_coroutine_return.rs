//! Returning a value from a coroutine: PyMOTW-3's `asyncio_coroutine_return.py`
//! (dhellmann/pymotw-3, `source/asyncio/`), in tulip. Expected output:
//! tests/data/pymotw/asyncio_coroutine_return.txt.
//!
//! ```text
//! cargo run -p tulip --example pymotw_asyncio_coroutine_return
//! ```
//!
//! `tulip::run` returns what the future returns, as `run_until_complete` does. The value is
//! printed with `{:?}` (Rust's quoting where Python's `!r` has its own).

async fn coroutine() -> &'static str {
    println!("in coroutine");
    "result"
}

fn main() {
    let return_value = tulip::run(coroutine());
    println!("it returned: {return_value:?}");
}
