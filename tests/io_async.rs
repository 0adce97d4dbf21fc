//! `Async<T>`: reads, writes, readiness, concurrent waiters, both backends.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

use tulip::io::{Async, AsyncReadExt, AsyncWriteExt, Backend};

fn runner(backend: Backend) -> tulip::Runner {
    tulip::Runner::builder().backend(backend).build()
}

#[test]
fn read_and_write_through_a_socket_pair() {
    for backend in [Backend::Epoll, Backend::Uring, Backend::Polling] {
        runner(backend).run(async {
            let (a, b) = UnixStream::pair().unwrap();
            let mut a = Async::new(a).unwrap();
            let mut b = Async::new(b).unwrap();
            let writer = tulip::spawn_local(async move {
                for i in 0..100u32 {
                    b.write_all(&i.to_le_bytes()).await.unwrap();
                }
                b
            });
            let mut buf = [0u8; 4];
            for i in 0..100u32 {
                a.read_exact(&mut buf).await.unwrap();
                assert_eq!(u32::from_le_bytes(buf), i);
            }
            drop(writer.await.unwrap());
            let mut rest = Vec::new();
            a.read_to_end(&mut rest).await.unwrap();
            assert!(rest.is_empty(), "EOF after the writer closed");
        });
    }
}

#[test]
fn large_transfer_fills_and_drains_the_socket_buffer() {
    for backend in [Backend::Epoll, Backend::Uring, Backend::Polling] {
        runner(backend).run(async {
            let (a, b) = UnixStream::pair().unwrap();
            let mut a = Async::new(a).unwrap();
            let mut b = Async::new(b).unwrap();
            const N: usize = 8 << 20;
            let writer = tulip::spawn_local(async move {
                let chunk = vec![7u8; 64 << 10];
                let mut sent = 0;
                while sent < N {
                    b.write_all(&chunk).await.unwrap();
                    sent += chunk.len();
                }
            });
            let mut got = 0;
            let mut buf = vec![0u8; 32 << 10];
            while got < N {
                let n = a.read(&mut buf).await.unwrap();
                assert!(buf[..n].iter().all(|&x| x == 7));
                got += n;
            }
            writer.await.unwrap();
            assert_eq!(got, N);
        });
    }
}

#[test]
fn readable_waits_for_data_and_returns_at_once_when_ready() {
    for backend in [Backend::Epoll, Backend::Uring, Backend::Polling] {
        runner(backend).run(async {
            let (a, mut b) = UnixStream::pair().unwrap();
            let a = Async::new(a).unwrap();
            a.writable().await.unwrap();
            let t = std::thread::spawn(move || {
                b.write_all(b"x").unwrap();
                b
            });
            a.readable().await.unwrap();
            // Level semantics: still readable, returns at once.
            a.readable().await.unwrap();
            let mut byte = [0u8; 1];
            let n = a.read_with(|mut s| s.read(&mut byte)).await.unwrap();
            assert_eq!((n, byte[0]), (1, b'x'));
            drop(t.join().unwrap());
        });
    }
}

#[test]
fn many_tasks_can_wait_on_one_source() {
    tulip::run(async {
        let (a, mut b) = UnixStream::pair().unwrap();
        let a = std::rc::Rc::new(Async::new(a).unwrap());
        let waiters: Vec<_> = (0..8)
            .map(|_| {
                let a = a.clone();
                tulip::spawn_local(async move { a.readable().await.unwrap() })
            })
            .collect();
        tulip::yield_now().await;
        b.write_all(b"!").unwrap();
        for w in waiters {
            w.await.unwrap();
        }
    });
}

#[test]
fn into_inner_deregisters_and_returns_the_object() {
    tulip::run(async {
        let (a, _b) = UnixStream::pair().unwrap();
        let a = Async::new(a).unwrap();
        let std_a: UnixStream = a.into_inner().unwrap();
        assert!(std_a.peer_addr().is_ok());
    });
}

#[test]
fn async_new_outside_a_loop_is_an_error_not_a_panic() {
    let (a, _b) = UnixStream::pair().unwrap();
    let err = Async::new(a).unwrap_err();
    assert!(err.to_string().contains("no tulip reactor"), "{err}");
}
