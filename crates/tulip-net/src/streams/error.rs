//! [`ReadError`]: what `StreamReader`'s framed reads fail with.

use std::fmt;
use std::io;

/// Why a [`StreamReader`](super::StreamReader) read failed (asyncio's
/// `IncompleteReadError` and `LimitOverrunError`, plus I/O errors).
///
/// # Examples
///
/// ```
/// use tulip_net::streams::{ReadError, StreamReader};
///
/// tulip_runtime::run(async {
///     let mut r = StreamReader::from_bytes(b"abc");
///     match r.readexactly(5).await {
///         Err(ReadError::IncompleteRead { partial, expected }) => {
///             assert_eq!((partial.as_slice(), expected), (&b"abc"[..], Some(5)));
///         }
///         other => panic!("{other:?}"),
///     }
/// });
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ReadError {
    /// End of stream came first: `partial` is what was read (and is no longer buffered);
    /// `expected` is the length asked for (`None` for a separator that never came).
    IncompleteRead {
        /// The bytes read before end of stream.
        partial: Vec<u8>,
        /// How many bytes were asked for, if a count was.
        expected: Option<usize>,
    },
    /// No separator within the reader's limit. `consumed` is how far the reader looked
    /// (asyncio's `consumed`): for `readuntil`, the data stays buffered; for `readline`, the
    /// over-long line was discarded (through its `\n` when that had arrived).
    LimitOverrun {
        /// How many buffered bytes the separator search covered.
        consumed: usize,
    },
    /// The connection failed.
    Io(io::Error),
}

impl ReadError {
    /// Whether this is end of stream before the read could complete.
    pub fn is_incomplete(&self) -> bool {
        matches!(self, ReadError::IncompleteRead { .. })
    }

    /// Whether this is a limit overrun.
    pub fn is_limit_overrun(&self) -> bool {
        matches!(self, ReadError::LimitOverrun { .. })
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::IncompleteRead { partial, expected } => match expected {
                Some(n) => write!(
                    f,
                    "{} bytes read on a total of {n} expected bytes",
                    partial.len()
                ),
                None => write!(
                    f,
                    "{} bytes read on a total of undefined expected bytes",
                    partial.len()
                ),
            },
            ReadError::LimitOverrun { consumed } => write!(
                f,
                "separator not found within the limit ({consumed} bytes searched)"
            ),
            ReadError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> ReadError {
        ReadError::Io(e)
    }
}

impl From<ReadError> for io::Error {
    /// `IncompleteRead` becomes `UnexpectedEof`, `LimitOverrun` `InvalidData`, keeping the
    /// message.
    fn from(e: ReadError) -> io::Error {
        match e {
            ReadError::Io(e) => e,
            e @ ReadError::IncompleteRead { .. } => {
                io::Error::new(io::ErrorKind::UnexpectedEof, e.to_string())
            }
            e @ ReadError::LimitOverrun { .. } => {
                io::Error::new(io::ErrorKind::InvalidData, e.to_string())
            }
        }
    }
}
