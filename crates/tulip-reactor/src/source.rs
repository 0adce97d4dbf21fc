//! The OS handle an [`Async`](crate::Async) registers: a file descriptor on Unix, a socket on
//! Windows.
//!
//! Everything above the reactor names these aliases and [`AsSource`] instead of
//! `std::os::fd` or `std::os::windows::io`, so one `Async<T>` serves both families. On Unix
//! every `AsFd` type is a source (sockets, pipes, terminals, eventfds, …); on Windows only
//! sockets are (`AsSocket`): the `polling` crate waits on sockets only there.

/// A raw OS handle: `RawFd` on Unix, `RawSocket` on Windows.
#[cfg(unix)]
pub type RawSource = std::os::fd::RawFd;
/// A raw OS handle: `RawFd` on Unix, `RawSocket` on Windows.
#[cfg(windows)]
pub type RawSource = std::os::windows::io::RawSocket;

/// A borrowed OS handle: `BorrowedFd` on Unix, `BorrowedSocket` on Windows.
#[cfg(unix)]
pub type BorrowedSource<'a> = std::os::fd::BorrowedFd<'a>;
/// A borrowed OS handle: `BorrowedFd` on Unix, `BorrowedSocket` on Windows.
#[cfg(windows)]
pub type BorrowedSource<'a> = std::os::windows::io::BorrowedSocket<'a>;

/// An I/O object the reactor can wait on: every `AsFd` type on Unix, every `AsSocket` type on
/// Windows (a blanket implementation; nothing to implement by hand).
///
/// # Examples
///
/// ```
/// use tulip_reactor::AsSource;
///
/// let socket = std::net::UdpSocket::bind("127.0.0.1:0")?;
/// let _handle = socket.as_source();
/// # std::io::Result::Ok(())
/// ```
pub trait AsSource {
    /// Borrows the OS handle.
    fn as_source(&self) -> BorrowedSource<'_>;
}

#[cfg(unix)]
impl<T: std::os::fd::AsFd + ?Sized> AsSource for T {
    fn as_source(&self) -> BorrowedSource<'_> {
        self.as_fd()
    }
}

#[cfg(windows)]
impl<T: std::os::windows::io::AsSocket + ?Sized> AsSource for T {
    fn as_source(&self) -> BorrowedSource<'_> {
        self.as_socket()
    }
}

/// The raw value of a borrowed handle.
pub(crate) fn raw(b: BorrowedSource<'_>) -> RawSource {
    #[cfg(unix)]
    {
        std::os::fd::AsRawFd::as_raw_fd(&b)
    }
    #[cfg(windows)]
    {
        std::os::windows::io::AsRawSocket::as_raw_socket(&b)
    }
}

/// Borrows a raw handle that the caller keeps open for the duration of the call.
pub(crate) fn borrow(fd: RawSource) -> BorrowedSource<'static> {
    #[allow(unsafe_code)] // BorrowedFd/BorrowedSocket::borrow_raw is unsafe.
    // SAFETY: callers pass handles of sources that stay open until after `delete` returns; the
    // borrowed handle does not outlive the call it is passed to.
    unsafe {
        #[cfg(unix)]
        {
            std::os::fd::BorrowedFd::borrow_raw(fd)
        }
        #[cfg(windows)]
        {
            std::os::windows::io::BorrowedSocket::borrow_raw(fd)
        }
    }
}

/// Puts `io` in non-blocking mode.
pub(crate) fn set_nonblocking(io: BorrowedSource<'_>) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        rustix::io::ioctl_fionbio(io, true)?;
        Ok(())
    }
    #[cfg(windows)]
    {
        use windows_sys::Win32::Networking::WinSock::{ioctlsocket, FIONBIO, SOCKET_ERROR};
        let mut on: u32 = 1;
        #[allow(unsafe_code)] // ioctlsocket is a C call.
        // SAFETY: `io` is a live socket for the duration of the call; `on` outlives it.
        let r = unsafe { ioctlsocket(raw(io) as _, FIONBIO, &mut on) };
        if r == SOCKET_ERROR {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }
}

/// Whether `fd` is ready for reading (`write == false`) or writing right now.
pub(crate) fn ready_now(fd: BorrowedSource<'_>, write: bool) -> std::io::Result<bool> {
    #[cfg(unix)]
    {
        use rustix::event::{poll, PollFd, PollFlags};
        let flags = if write {
            PollFlags::OUT
        } else {
            // Linux and Android also report a peer's FIN on its own (elsewhere a FIN makes the
            // socket readable anyway: the read returns 0).
            #[cfg(any(target_os = "linux", target_os = "android"))]
            {
                PollFlags::IN | PollFlags::RDHUP
            }
            #[cfg(not(any(target_os = "linux", target_os = "android")))]
            {
                PollFlags::IN
            }
        };
        let mut fds = [PollFd::new(&fd, flags)];
        loop {
            match poll(&mut fds, Some(&rustix::event::Timespec::default())) {
                Ok(n) => return Ok(n > 0 && !fds[0].revents().is_empty()),
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
    #[cfg(windows)]
    {
        use windows_sys::Win32::Networking::WinSock::{
            WSAPoll, POLLRDNORM, POLLWRNORM, SOCKET_ERROR, WSAPOLLFD,
        };
        let mut p = WSAPOLLFD {
            fd: raw(fd) as _,
            events: if write { POLLWRNORM } else { POLLRDNORM },
            revents: 0,
        };
        #[allow(unsafe_code)] // WSAPoll is a C call.
        // SAFETY: one valid `WSAPOLLFD` for a live socket, a zero timeout.
        let r = unsafe { WSAPoll(&mut p, 1, 0) };
        if r == SOCKET_ERROR {
            return Err(std::io::Error::last_os_error());
        }
        Ok(r > 0 && p.revents != 0)
    }
}
