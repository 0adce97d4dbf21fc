//! [`RawReader`]: the unbuffered read side of a stream connection, for code that reads it
//! itself (tulip-protocol's transports), sharing the connection core with a
//! [`StreamWriter`](super::StreamWriter).

use std::fmt;
use std::io;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::conn::Conn;
use super::raw::RawStream;
use super::reader::StreamReader;
use super::writer::StreamWriter;

/// The read side of a connection without a buffer of its own: the caller reads into its own
/// memory. Paired with a [`StreamWriter`] over the same connection core (its write buffer,
/// flow control, close protocol and TLS session), which is how tulip-protocol's transports
/// are built on the same I/O code as asyncio's streams.
///
/// Made by [`raw_pair`] or [`StreamReader::into_raw`].
///
/// # Examples
///
/// ```
/// use tulip_net::{streams, TcpListener, TcpStream};
///
/// tulip_runtime::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let client = TcpStream::connect(listener.local_addr()?).await?;
///     let (server, _) = listener.accept().await?;
///     let (_r, w) = streams::from_stream(client);
///     let (raw, _w2) = streams::raw_pair(server);
///     w.write(b"hi");
///     let mut buf = [0u8; 8];
///     let n = std::future::poll_fn(|cx| raw.poll_read(cx, &mut buf)).await?;
///     assert_eq!(&buf[..n], b"hi");
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub struct RawReader {
    conn: Arc<Conn>,
    drain_id: Option<u64>,
    close_id: Option<u64>,
}

impl fmt::Debug for RawReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawReader")
            .field("peer", &self.conn.peer())
            .finish_non_exhaustive()
    }
}

impl Drop for RawReader {
    fn drop(&mut self) {
        if self.drain_id.is_some() {
            self.conn.forget_drain(&mut self.drain_id);
        }
        if self.close_id.is_some() {
            self.conn.forget_closed(&mut self.close_id);
        }
    }
}

/// Makes a [`RawReader`]/[`StreamWriter`] pair over `stream`.
pub fn raw_pair(stream: impl RawStream) -> (RawReader, StreamWriter) {
    let peer = stream.peer_addr().ok();
    let conn = Conn::new(Box::new(stream), peer);
    (RawReader::new(conn.clone()), StreamWriter::new(conn))
}

impl RawReader {
    pub(crate) fn new(conn: Arc<Conn>) -> RawReader {
        RawReader {
            conn,
            drain_id: None,
            close_id: None,
        }
    }

    /// Reads into `buf` (through the TLS session when there is one). `Ok(0)` is end of
    /// stream, also once the writer's `close`/`abort` shut the connection down. An I/O error
    /// loses the connection for the writer too.
    pub fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        loop {
            if self.conn.is_shut() {
                return Poll::Ready(Ok(0));
            }
            match self.conn.poll_read(cx, buf) {
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Poll::Ready(Err(e)) => {
                    self.conn.lose(&e);
                    return Poll::Ready(Err(e));
                }
                other => return other,
            }
        }
    }

    /// Ready once the writer is not paused by flow control (what the writer's `drain`
    /// waits for): at once under the high-water mark, else once the buffer is back to the
    /// low one.
    ///
    /// # Errors
    ///
    /// The connection's error once it is lost, or `ConnectionReset` once it is closed.
    pub fn poll_writable(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.conn.poll_drain(cx, &mut self.drain_id)
    }

    /// Ready once the writer's close (or abort) is complete, or the connection is lost
    /// (what the writer's `wait_closed` waits for).
    ///
    /// # Errors
    ///
    /// The connection's error when it was lost.
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.conn.poll_closed(cx, &mut self.close_id)
    }

    /// Puts TLS over the connection in place (the writer then writes through it, this reader
    /// reads through it). Nothing may be read meanwhile.
    ///
    /// # Errors
    ///
    /// As [`StreamWriter::start_tls`].
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropping it mid-handshake closes the connection.
    #[cfg(feature = "tls")]
    pub async fn start_tls(&self, options: &crate::tls::TlsOptions) -> io::Result<()> {
        self.conn.start_tls(Vec::new(), options).await
    }

    /// Whether the writer's `close`/`abort` (or a server's `close_clients`) shut the
    /// connection down: reads then see end of stream, which is not the peer's.
    pub fn is_shut(&self) -> bool {
        self.conn.is_shut()
    }

    /// The socket's file descriptor (`None` for streams that are not sockets). Unix only.
    #[cfg(unix)]
    pub fn socket_fd(&self) -> Option<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd;
        self.conn.io.socket_fd().map(|fd| fd.as_raw_fd())
    }

    /// A new [`StreamWriter`] of this connection, for a reader whose writer is gone (a
    /// child's stdout pipe): to close the connection and read its state. Dropping it shuts
    /// the write side down, as dropping any writer does.
    pub fn new_writer(&self) -> StreamWriter {
        StreamWriter::new(self.conn.clone())
    }

    /// Whether `writer` writes the same connection.
    pub fn same_connection(&self, writer: &StreamWriter) -> bool {
        Arc::ptr_eq(&self.conn, writer.conn())
    }
}

impl StreamWriter {
    /// A [`RawReader`] of this writer's connection: for a write-only stream (a pipe to a
    /// child's stdin), to wait for the writer's flow control and close.
    pub fn raw_reader(&self) -> RawReader {
        RawReader::new(self.conn().clone())
    }
}

impl StreamReader {
    /// Turns a connection's reader into a [`RawReader`], with what it had read and not yet
    /// returned; `Err(self)` (boxed) for a stand-alone reader (no connection).
    ///
    /// # Errors
    ///
    /// Gives the reader back when it reads no connection.
    pub fn into_raw(self) -> Result<(RawReader, Vec<u8>), Box<StreamReader>> {
        self.split_conn()
            .map(|(conn, rest)| (RawReader::new(conn), rest))
    }
}
