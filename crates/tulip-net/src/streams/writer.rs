//! [`StreamWriter`]: asyncio's writing side of a connection.

use std::fmt;
use std::fs::File;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::conn::Conn;
use crate::addr::SockAddr;
#[cfg(feature = "tls")]
use crate::tls::rustls;

/// The writing side of a connection, with asyncio's `StreamWriter` API.
///
/// [`write`](Self::write) never waits: what the socket does not take at once is buffered and
/// sent in the background (a `write` that is never drained still reaches the peer).
/// [`drain`](Self::drain) is the flow control: it waits while more than the high-water mark
/// (64 KiB) is buffered, until the buffer is back down to the low-water mark (16 KiB), and it
/// reports the connection's failure once the peer is gone — so a `write`/`drain` loop to a
/// dead peer ends with an error, never hangs and never spins.
///
/// Dropping the writer hands what is buffered to the OS, then shuts the write side down (the
/// peer reads end of stream); [`close`](Self::close) shuts both sides down after the flush.
/// When the reader is gone too, the socket is released.
///
/// Methods take `&self`; `StreamWriter` is `Send + Sync`.
///
/// # Examples
///
/// ```
/// use tulip_net::streams::{open_connection, start_server, StreamReader, StreamWriter};
///
/// tulip_runtime::run(async {
///     let server = start_server(
///         |mut r: StreamReader, w: StreamWriter| async move {
///             while let Ok(line) = r.readline().await {
///                 if line.is_empty() {
///                     break;
///                 }
///                 w.write(&line);
///                 if w.drain().await.is_err() {
///                     break;
///                 }
///             }
///         },
///         "127.0.0.1:0",
///     )
///     .await?;
///     let addr = server.local_addrs()[0].as_inet().unwrap();
///     let (mut r, w) = open_connection(addr).await?;
///     w.writelines([&b"one\n"[..], b"two\n"]);
///     w.drain().await?;
///     assert_eq!(r.readline().await.unwrap(), b"one\n");
///     assert_eq!(r.readline().await.unwrap(), b"two\n");
///     w.close();
///     w.wait_closed().await?;
///     server.close();
///     server.wait_closed().await;
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub struct StreamWriter {
    conn: Arc<Conn>,
}

impl fmt::Debug for StreamWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamWriter")
            .field("peer", &self.conn.peer())
            .field("buffered", &self.conn.buffer_size())
            .field("closing", &self.conn.is_closing())
            .finish()
    }
}

impl Drop for StreamWriter {
    fn drop(&mut self) {
        self.conn.writer_dropped();
    }
}

impl StreamWriter {
    pub(crate) fn new(conn: Arc<Conn>) -> StreamWriter {
        StreamWriter { conn }
    }

    /// The connection core this writer drives.
    pub(crate) fn conn(&self) -> &Arc<Conn> {
        &self.conn
    }

    /// Writes `data`: sends what the socket takes now and buffers the rest; never waits.
    ///
    /// After [`close`](Self::close), [`write_eof`](Self::write_eof) or the loss of the
    /// connection, the data is dropped (asyncio does the same and counts them; see
    /// [`lost_writes`](Self::lost_writes)); [`drain`](Self::drain) reports the error.
    pub fn write(&self, data: &[u8]) {
        self.conn.write(data);
    }

    /// Writes each buffer in turn (asyncio's `writelines`).
    pub fn writelines<I>(&self, lines: I)
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        for l in lines {
            self.conn.write(l.as_ref());
        }
    }

    /// Waits until the buffer is small enough to write more (asyncio's `drain`): at once when
    /// it is under the high-water mark, otherwise until the background flush brings it down
    /// to the low-water mark.
    ///
    /// # Errors
    ///
    /// The connection's error once it is lost (a reset, a broken pipe, an abort), or the
    /// reader's I/O error.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping it loses nothing; the buffer flushes on.
    pub fn drain(&self) -> Drain<'_> {
        Drain {
            conn: &self.conn,
            id: None,
        }
    }

    /// Waits until everything buffered has been handed to the OS (stronger than
    /// [`drain`](Self::drain), which only waits down to the low-water mark).
    ///
    /// # Errors
    ///
    /// As [`drain`](Self::drain).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn flush(&self) -> io::Result<()> {
        let mut id = None;
        let res = std::future::poll_fn(|cx| self.conn.poll_flushed(cx, &mut id)).await;
        self.conn.forget_flushed(&mut id);
        res
    }

    /// Shuts the write side down once the buffer is flushed: the peer reads end of stream,
    /// and reading goes on (asyncio's `write_eof`).
    ///
    /// # Errors
    ///
    /// The connection's error if it is already lost.
    pub fn write_eof(&self) -> io::Result<()> {
        self.conn.write_eof()
    }

    /// Whether [`write_eof`](Self::write_eof) is supported (true for TCP and Unix sockets,
    /// and over TLS, where it sends `close_notify` first).
    pub fn can_write_eof(&self) -> bool {
        self.conn.io.can_write_eof()
    }

    /// Closes the connection: no more writes; what is buffered is flushed, then both
    /// directions are shut down (our reader sees end of stream). Returns at once; see
    /// [`wait_closed`](Self::wait_closed).
    pub fn close(&self) {
        self.conn.close();
    }

    /// Closes at once, discarding what is buffered (asyncio's `transport.abort()`); a TCP
    /// peer sees a reset.
    pub fn abort(&self) {
        self.conn.abort();
    }

    /// Waits until the connection is closed (asyncio's `wait_closed`): after
    /// [`close`](Self::close) has flushed and shut down, or once the connection was lost.
    ///
    /// # Errors
    ///
    /// The error the connection was lost to, if it was.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn wait_closed(&self) -> io::Result<()> {
        let mut id = None;
        let res = std::future::poll_fn(|cx| self.conn.poll_closed(cx, &mut id)).await;
        self.conn.forget_closed(&mut id);
        res
    }

    /// Whether the connection is closed or closing (asyncio's `is_closing`).
    pub fn is_closing(&self) -> bool {
        self.conn.is_closing()
    }

    /// The peer's address (asyncio's `get_extra_info("peername")`), remembered from when the
    /// connection was made, so it is known even after the peer went away.
    ///
    /// # Errors
    ///
    /// The OS's error where the address was not known at connection time.
    pub fn peer_addr(&self) -> io::Result<SockAddr> {
        match self.conn.peer() {
            Some(a) => Ok(a.clone()),
            None => self.conn.io.peer_addr(),
        }
    }

    /// The local address (asyncio's `get_extra_info("sockname")`).
    ///
    /// # Errors
    ///
    /// The OS's error.
    pub fn local_addr(&self) -> io::Result<SockAddr> {
        self.conn.io.local_addr()
    }

    /// Bytes buffered, not yet handed to the OS (asyncio's `get_write_buffer_size`).
    pub fn write_buffer_size(&self) -> usize {
        self.conn.buffer_size()
    }

    /// The high- and low-water marks.
    pub fn write_buffer_limits(&self) -> (usize, usize) {
        self.conn.limits()
    }

    /// Sets the water marks (asyncio's `set_write_buffer_limits`): with only `high`, `low` is
    /// a quarter of it; with only `low`, `high` is four times it; neither restores 64 KiB /
    /// 16 KiB.
    ///
    /// # Errors
    ///
    /// `InvalidInput` when `low > high`.
    pub fn set_write_buffer_limits(
        &self,
        high: Option<usize>,
        low: Option<usize>,
    ) -> io::Result<()> {
        self.conn.set_limits(high, low)
    }

    /// How many writes were dropped because the connection was closing or lost.
    pub fn lost_writes(&self) -> usize {
        self.conn.lost_writes()
    }

    /// Sends `count` bytes of `file` from `offset` (`None`: to the end of the file) after
    /// everything buffered (asyncio's `loop.sendfile(transport, file, offset, count)`):
    /// zero-copy with `sendfile(2)` on Linux sockets, through reads and writes elsewhere.
    /// Returns the bytes sent.
    ///
    /// # Errors
    ///
    /// The connection's error, or the file's read error.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropping it midway leaves an unknown part of the file sent.
    pub async fn sendfile(&self, file: &File, offset: u64, count: Option<u64>) -> io::Result<u64> {
        self.flush().await?;
        if self.conn.is_tls() {
            // The bytes must be encrypted: copy through the session (asyncio's fallback).
            return self.sendfile_copy(file, offset, count).await;
        }
        #[cfg(unix)]
        {
            crate::sendfile::send_file(&*self.conn.io, file, offset, count).await
        }
        #[cfg(not(unix))]
        {
            // No zero-copy path here (Windows): reads and writes.
            self.sendfile_copy(file, offset, count).await
        }
    }

    /// `sendfile` through `write` and `drain`, for TLS connections (and on Windows).
    async fn sendfile_copy(&self, file: &File, offset: u64, count: Option<u64>) -> io::Result<u64> {
        use std::io::Read;
        #[cfg(unix)]
        use std::os::unix::fs::FileExt;
        #[cfg(windows)]
        use std::os::windows::fs::FileExt;
        let total = count.unwrap_or(u64::MAX);
        let mut sent = 0u64;
        let mut positional = true;
        let mut chunk = vec![0u8; 64 * 1024];
        while sent < total {
            let want = usize::try_from(total - sent).map_or(chunk.len(), |w| w.min(chunk.len()));
            let res = if positional {
                #[cfg(unix)]
                let read = file.read_at(&mut chunk[..want], offset + sent);
                // Windows: a positional read that also moves the file's cursor.
                #[cfg(windows)]
                let read = file.seek_read(&mut chunk[..want], offset + sent);
                read
            } else {
                (&*file).read(&mut chunk[..want])
            };
            let n = match res {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if positional && offset == 0 && is_unseekable(&e) => {
                    positional = false;
                    continue;
                }
                Err(e) => return Err(e),
            };
            self.write(&chunk[..n]);
            self.drain().await?;
            sent += n as u64;
        }
        self.flush().await?;
        Ok(sent)
    }
}

/// Whether a positional read failed because the file cannot seek (a pipe: `ESPIPE`).
fn is_unseekable(e: &io::Error) -> bool {
    #[cfg(unix)]
    {
        e.raw_os_error() == Some(libc::ESPIPE)
    }
    #[cfg(windows)]
    {
        // ERROR_INVALID_PARAMETER, ERROR_SEEK_ON_DEVICE: what a pipe answers an offset read.
        matches!(e.raw_os_error(), Some(87) | Some(132))
    }
}

#[cfg(feature = "tls")]
impl StreamWriter {
    /// Upgrades the connection to TLS, as its client (asyncio 3.11's `writer.start_tls(ctx,
    /// server_hostname=…)`), with the default timeouts: what was written before goes out in
    /// the clear, the handshake runs, and from then on `reader` and this writer — the same
    /// objects — read and write through the session.
    ///
    /// `reader` is the connection's reader, borrowed for the handshake: whatever it had
    /// already read and not returned is the start of the peer's TLS data, and goes to the
    /// handshake first; the borrow also makes sure nothing else reads meanwhile. Writes made
    /// during the handshake (from other tasks) are held and sent encrypted once it is done.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a reader of another connection or a bad `server_hostname`; a
    /// [`TlsError`](crate::tls::TlsError) for a failed handshake (a refused certificate, a
    /// timeout, a peer that left or does not speak TLS), an upgrade of a TLS or closing
    /// connection ([`AlreadyTls`](crate::tls::TlsError::AlreadyTls)); the connection's error
    /// if it is lost. After a failed handshake the connection is closed.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropping it mid-handshake closes the connection.
    ///
    /// # Examples
    ///
    /// A plain connection that agrees to switch, then speaks TLS (SMTP's STARTTLS, say):
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulip_net::streams::{open_connection, start_server, StreamReader, StreamWriter};
    /// use tulip_net::tls::rustls;
    ///
    /// # let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    /// # let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
    /// # let server_config = Arc::new(rustls::ServerConfig::builder()
    /// #     .with_no_client_auth()
    /// #     .with_single_cert(vec![cert.cert.der().clone()], key)
    /// #     .unwrap());
    /// # let mut roots = rustls::RootCertStore::empty();
    /// # roots.add(cert.cert.der().clone()).unwrap();
    /// # let client_config = Arc::new(rustls::ClientConfig::builder()
    /// #     .with_root_certificates(roots)
    /// #     .with_no_client_auth());
    /// tulip_runtime::run(async move {
    ///     let server = start_server(
    ///         move |mut r: StreamReader, w: StreamWriter| {
    ///             let config = server_config.clone();
    ///             async move {
    ///                 assert_eq!(r.readline().await.unwrap(), b"STARTTLS\n");
    ///                 w.write(b"GO\n");
    ///                 w.start_tls_server(&mut r, config).await?;
    ///                 let line = r.readline().await.unwrap();
    ///                 w.write(&line);
    ///                 w.close();
    ///                 w.wait_closed().await
    ///             }
    ///         },
    ///         "127.0.0.1:0",
    ///     )
    ///     .await?;
    ///     let addr = server.local_addrs()[0].as_inet().unwrap();
    ///     let (mut r, w) = open_connection(addr).await?;
    ///     w.write(b"STARTTLS\n");
    ///     assert_eq!(r.readline().await.unwrap(), b"GO\n");
    ///     w.start_tls(&mut r, client_config, "localhost").await?;
    ///     w.write(b"secret\n");
    ///     assert_eq!(r.readline().await.unwrap(), b"secret\n");
    ///     assert!(w.tls_info().is_some());
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn start_tls(
        &self,
        reader: &mut super::StreamReader,
        config: Arc<rustls::ClientConfig>,
        server_hostname: &str,
    ) -> io::Result<()> {
        let options = crate::tls::TlsOptions::client(config, server_hostname)?;
        self.start_tls_with(reader, &options).await
    }

    /// Upgrades the connection to TLS as its server (asyncio's `start_tls` on a server's
    /// writer), with the default timeouts. See [`start_tls`](Self::start_tls).
    ///
    /// # Errors
    ///
    /// As [`start_tls`](Self::start_tls).
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropping it mid-handshake closes the connection.
    pub async fn start_tls_server(
        &self,
        reader: &mut super::StreamReader,
        config: Arc<rustls::ServerConfig>,
    ) -> io::Result<()> {
        self.start_tls_with(reader, &crate::tls::TlsOptions::server(config))
            .await
    }

    /// Upgrades the connection to TLS with explicit [`TlsOptions`](crate::tls::TlsOptions)
    /// (either side, its timeouts). See [`start_tls`](Self::start_tls).
    ///
    /// # Errors
    ///
    /// As [`start_tls`](Self::start_tls).
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropping it mid-handshake closes the connection.
    pub async fn start_tls_with(
        &self,
        reader: &mut super::StreamReader,
        options: &crate::tls::TlsOptions,
    ) -> io::Result<()> {
        let early = reader.take_for_tls(&self.conn)?;
        self.conn.start_tls(early, options).await
    }

    /// The TLS session's state — protocol, cipher suite, ALPN protocol, the peer's
    /// certificates, the SNI name — or `None` on a plain connection (asyncio's
    /// `get_extra_info("ssl_object")`).
    pub fn tls_info(&self) -> Option<crate::tls::TlsInfo> {
        self.conn.tls_info()
    }

    /// The peer's certificate (DER), if it sent one (asyncio's `get_extra_info("peercert")`,
    /// which decodes it into a dict; decode this with an X.509 parser of your choice).
    pub fn peer_certificate(&self) -> Option<rustls::pki_types::CertificateDer<'static>> {
        self.tls_info()?.peer_certificates?.into_iter().next()
    }

    /// The cipher suite's name and the protocol version (asyncio's
    /// `get_extra_info("cipher")`, without its key size).
    pub fn cipher(&self) -> Option<(String, String)> {
        self.tls_info()?.cipher()
    }
}

/// Future of [`StreamWriter::drain`].
#[must_use = "futures do nothing unless polled"]
pub struct Drain<'a> {
    conn: &'a Arc<Conn>,
    id: Option<u64>,
}

impl fmt::Debug for Drain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Drain").finish_non_exhaustive()
    }
}

impl Future for Drain<'_> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.conn.poll_drain(cx, &mut this.id)
    }
}

impl Drop for Drain<'_> {
    fn drop(&mut self) {
        if self.id.is_some() {
            self.conn.forget_drain(&mut self.id);
        }
    }
}
