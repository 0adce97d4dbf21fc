//! `StreamReader` against a model (a byte queue with asyncio's rules), over any chunking:
//! data arrives in chunks of any size between reads of every kind — `read`, `readexactly`,
//! `readuntil` (one or two separators), `readline`, `read_to_end` — with small limits, end
//! of stream and a stored error. A read that would wait is polled once and dropped, which
//! also checks cancel safety: nothing it looked at may be lost.
//!
//! The model is exact because the reader is fed by hand (`feed_data`): at each read, all fed
//! data is buffered, and a read that needs more data fails at once instead of waiting.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use tulip_net::streams::{ReadError, StreamReader};

use crate::input::Input;

/// What one read came to.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// Data returned.
    Data(Vec<u8>),
    /// `IncompleteRead` with the partial data and the expected count.
    Incomplete(Vec<u8>, Option<usize>),
    /// `LimitOverrun` with how far the search went.
    Overrun(usize),
    /// The stored error (a stand-alone reader's "nothing can arrive" error is `Blocked`).
    Error,
    /// The read would wait for more data.
    Blocked,
}

fn poll_once<T>(fut: impl Future<Output = T>) -> Option<T> {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(fut).poll(&mut cx) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

fn io_outcome(r: Option<io::Result<Vec<u8>>>) -> Outcome {
    match r {
        None => Outcome::Blocked,
        Some(Ok(v)) => Outcome::Data(v),
        Some(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => Outcome::Blocked,
        Some(Err(_)) => Outcome::Error,
    }
}

fn read_outcome(r: Option<Result<Vec<u8>, ReadError>>) -> Outcome {
    match r {
        None => Outcome::Blocked,
        Some(Ok(v)) => Outcome::Data(v),
        Some(Err(ReadError::IncompleteRead { partial, expected })) => {
            Outcome::Incomplete(partial, expected)
        }
        Some(Err(ReadError::LimitOverrun { consumed })) => Outcome::Overrun(consumed),
        Some(Err(ReadError::Io(e))) if e.kind() == io::ErrorKind::UnexpectedEof => Outcome::Blocked,
        Some(Err(_)) => Outcome::Error,
    }
}

/// The model: what is buffered, whether end of stream came, whether an error is stored.
struct Model {
    buf: VecDeque<u8>,
    eof: bool,
    error: bool,
    limit: usize,
}

impl Model {
    fn take(&mut self, n: usize) -> Vec<u8> {
        self.buf.drain(..n).collect()
    }

    fn find(&self, sep: &[u8]) -> Option<usize> {
        let hay: Vec<u8> = self.buf.iter().copied().collect();
        hay.windows(sep.len()).position(|w| w == sep)
    }

    fn read(&mut self, n: usize) -> Outcome {
        if self.error {
            Outcome::Error
        } else if n == 0 {
            Outcome::Data(Vec::new())
        } else if self.buf.is_empty() && !self.eof {
            Outcome::Blocked
        } else {
            Outcome::Data(self.take(n.min(self.buf.len())))
        }
    }

    fn readexactly(&mut self, n: usize) -> Outcome {
        if self.error {
            Outcome::Error
        } else if n == 0 {
            Outcome::Data(Vec::new())
        } else if self.buf.len() >= n {
            Outcome::Data(self.take(n))
        } else if self.eof {
            Outcome::Incomplete(self.take(self.buf.len()), Some(n))
        } else {
            Outcome::Blocked
        }
    }

    fn readuntil(&mut self, seps: &[&[u8]]) -> Outcome {
        if self.error {
            return Outcome::Error;
        }
        let min_len = seps.iter().map(|s| s.len()).min().unwrap_or(1);
        let max_len = seps.iter().map(|s| s.len()).max().unwrap_or(1);
        let len = self.buf.len();
        if len >= min_len {
            // The match that ends first wins (the first listed on a tie).
            let mut best: Option<(usize, usize)> = None;
            for sep in seps {
                if let Some(s) = self.find(sep) {
                    let e = s + sep.len();
                    if best.is_none_or(|(_, be)| e < be) {
                        best = Some((s, e));
                    }
                }
            }
            if let Some((s, e)) = best {
                if s > self.limit {
                    return Outcome::Overrun(s);
                }
                return Outcome::Data(self.take(e));
            }
            let searched = (len + 1).saturating_sub(max_len);
            if searched > self.limit {
                return Outcome::Overrun(searched);
            }
        }
        if self.eof {
            Outcome::Incomplete(self.take(len), None)
        } else {
            Outcome::Blocked
        }
    }

    fn readline(&mut self) -> Outcome {
        match self.readuntil(&[b"\n"]) {
            Outcome::Incomplete(partial, _) => Outcome::Data(partial),
            Outcome::Overrun(consumed) => {
                // The over-long line is discarded: through its newline if it came.
                if self.buf.get(consumed) == Some(&b'\n') {
                    self.take(consumed + 1);
                } else {
                    self.take(self.buf.len());
                }
                Outcome::Overrun(consumed)
            }
            other => other,
        }
    }

    fn read_to_end(&mut self) -> Outcome {
        if self.error {
            Outcome::Error
        } else if self.eof {
            Outcome::Data(self.take(self.buf.len()))
        } else {
            Outcome::Blocked
        }
    }
}

/// A separator drawn from the input: short, from a small alphabet, so that it occurs.
fn separator(input: &mut Input<'_>) -> Vec<u8> {
    let len = 1 + usize::from(input.u8() % 4);
    (0..len)
        .map(|_| b"ab\r\n"[usize::from(input.u8() % 4)])
        .collect()
}

/// Runs the operations `data` decodes to; panics if the reader and the model disagree.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let limit = match input.u8() {
        0 => 1,
        n @ 1..=200 => usize::from(n),
        _ => 64 * 1024,
    };
    let mut reader = StreamReader::with_limit(limit).expect("a positive limit");
    let mut model = Model {
        buf: VecDeque::new(),
        eof: false,
        error: false,
        limit,
    };
    let mut steps = 0;
    while !input.is_empty() && steps < 2_000 {
        steps += 1;
        let op = input.u8();
        let (what, got, want) = match op % 10 {
            0..=2 => {
                // A chunk of data, from a small alphabet so that separators appear; a
                // long run now and then.
                let n = usize::from(input.u8());
                let chunk: Vec<u8> = if op % 10 == 2 {
                    vec![b"ab\r\n"[usize::from(input.u8() % 4)]; n * 64]
                } else {
                    input
                        .bytes(n)
                        .iter()
                        .map(|b| b"ab\r\nxyz\0"[usize::from(b % 8)])
                        .collect()
                };
                reader.feed_data(&chunk);
                if !model.eof {
                    model.buf.extend(&chunk);
                }
                continue;
            }
            3 => {
                let n = usize::from(input.u16() % 512);
                ("read", io_outcome(poll_once(reader.read(n))), model.read(n))
            }
            4 => {
                let n = usize::from(input.u16() % 512);
                (
                    "readexactly",
                    read_outcome(poll_once(reader.readexactly(n))),
                    model.readexactly(n),
                )
            }
            5 => {
                let sep = separator(&mut input);
                (
                    "readuntil",
                    read_outcome(poll_once(reader.readuntil(&sep))),
                    model.readuntil(&[&sep]),
                )
            }
            6 => {
                let (a, b) = (separator(&mut input), separator(&mut input));
                (
                    "readuntil_any",
                    read_outcome(poll_once(reader.readuntil_any(&[&a, &b]))),
                    model.readuntil(&[&a, &b]),
                )
            }
            7 => (
                "readline",
                read_outcome(poll_once(reader.readline())),
                model.readline(),
            ),
            8 => (
                "read_to_end",
                io_outcome(poll_once(reader.read_to_end())),
                model.read_to_end(),
            ),
            _ => {
                if input.u8() % 8 == 0 {
                    reader.set_exception(&io::Error::other("fuzz: connection lost"));
                    model.error = true;
                } else {
                    reader.feed_eof();
                    model.eof = true;
                }
                continue;
            }
        };
        assert_eq!(got, want, "{what} (limit {limit})");
        assert_eq!(reader.buffered(), model.buf.len(), "buffered after {what}");
        assert!(
            reader.buffer().iter().eq(model.buf.iter()),
            "buffer after {what}"
        );
        assert_eq!(
            reader.at_eof(),
            model.eof && model.buf.is_empty(),
            "at_eof after {what}"
        );
    }
}
