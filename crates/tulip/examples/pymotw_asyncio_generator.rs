//! Coroutines not written with `async`: PyMOTW-3's `asyncio_generator.py`
//! (dhellmann/pymotw-3, `source/asyncio/`), in tulip. Expected output:
//! tests/data/pymotw/asyncio_generator.txt.
//!
//! ```text
//! cargo run -p tulip --example pymotw_asyncio_generator
//! ```
//!
//! The Python program writes its coroutines as `@asyncio.coroutine` generators chained with
//! `yield from` (removed in Python 3.11). Rust has no generator coroutines; what the program
//! means — a coroutine built by hand instead of by `async def` — is a hand-written `Future`:
//! `Outer` below is the state machine that `async fn outer` would compile to, polling
//! `phase1` and then `phase2` as `yield from` resumed one generator after another.

use std::future::{ready, Future};
use std::pin::Pin;
use std::task::{Context, Poll};

type Step<T> = Pin<Box<dyn Future<Output = T>>>;

/// `outer()`, one state per `yield from`.
enum Outer {
    Start,
    WaitingForResult1(Step<String>),
    WaitingForResult2(String, Step<String>),
    Done,
}

impl Future for Outer {
    type Output = (String, String);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<(String, String)> {
        let this = self.get_mut();
        loop {
            match std::mem::replace(this, Outer::Done) {
                Outer::Start => {
                    println!("in outer");
                    println!("waiting for result1");
                    *this = Outer::WaitingForResult1(Box::pin(phase1()));
                }
                Outer::WaitingForResult1(mut step) => match step.as_mut().poll(cx) {
                    Poll::Ready(result1) => {
                        println!("waiting for result2");
                        let next = Box::pin(phase2(&result1));
                        *this = Outer::WaitingForResult2(result1, next);
                    }
                    Poll::Pending => {
                        *this = Outer::WaitingForResult1(step);
                        return Poll::Pending;
                    }
                },
                Outer::WaitingForResult2(result1, mut step) => match step.as_mut().poll(cx) {
                    Poll::Ready(result2) => return Poll::Ready((result1, result2)),
                    Poll::Pending => {
                        *this = Outer::WaitingForResult2(result1, step);
                        return Poll::Pending;
                    }
                },
                Outer::Done => panic!("outer() polled after it completed"),
            }
        }
    }
}

fn phase1() -> impl Future<Output = String> {
    println!("in phase1");
    ready("result1".to_string())
}

fn phase2(arg: &str) -> impl Future<Output = String> {
    println!("in phase2");
    ready(format!("result2 derived from {arg}"))
}

fn main() {
    let return_value = tulip::run(Outer::Start);
    println!("return value: {return_value:?}");
}
