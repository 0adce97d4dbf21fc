//! Starting one coroutine from within another: PyMOTW-3's `asyncio_coroutine_chain.py`
//! (dhellmann/pymotw-3, `source/asyncio/`), in tulip. Expected output:
//! tests/data/pymotw/asyncio_coroutine_chain.txt.
//!
//! ```text
//! cargo run -p tulip --example pymotw_asyncio_coroutine_chain
//! ```
//!
//! `.await` on another `async fn` runs it in the same task, as `await` does in Python.

async fn outer() -> (String, String) {
    println!("in outer");
    println!("waiting for result1");
    let result1 = phase1().await;
    println!("waiting for result2");
    let result2 = phase2(&result1).await;
    (result1, result2)
}

async fn phase1() -> String {
    println!("in phase1");
    "result1".to_string()
}

async fn phase2(arg: &str) -> String {
    println!("in phase2");
    format!("result2 derived from {arg}")
}

fn main() {
    let return_value = tulip::run(outer());
    println!("return value: {return_value:?}");
}
