//! `StreamReader`'s buffer rules, on stand-alone readers fed by hand (no sockets), so every
//! case is deterministic: `read`, `readline`, `readuntil` (one separator and several),
//! `readexactly`, `at_eof`, stored errors, limits, and the `lines()` stream.
//!
//! Most cases are ported from CPython's Lib/test/test_asyncio/test_streams.py (StreamTests,
//! the `test_read*`/`test_readline*`/`test_readuntil*`/`test_readexactly*` cases); each says
//! which.

use std::io;

use futures_lite::StreamExt;
use tulip_net::streams::{ReadError, StreamReader};

const DATA: &[u8] = b"line1\nline2\nline3\n";

fn run<F: std::future::Future>(f: F) -> F::Output {
    tulip_runtime::run(f)
}

fn reader(limit: usize) -> StreamReader {
    StreamReader::with_limit(limit).unwrap()
}

// test_read_zero
#[test]
fn read_zero_returns_nothing_and_keeps_the_buffer() {
    run(async {
        let mut r = StreamReader::new();
        r.feed_data(DATA);
        assert_eq!(r.read(0).await.unwrap(), b"");
        assert_eq!(r.buffer(), DATA);
    });
}

// test_read: the read waits for data fed later by another task.
#[test]
fn read_waits_for_data_fed_later() {
    run(async {
        let mut r = StreamReader::new();
        let feeder = r.feeder();
        tulip_executor::spawn(async move { feeder.feed_data(DATA) }).detach();
        assert_eq!(r.read(30).await.unwrap(), DATA);
        assert_eq!(r.buffered(), 0);
    });
}

// test_read_line_breaks
#[test]
fn read_n_takes_at_most_n_bytes() {
    run(async {
        let mut r = StreamReader::new();
        r.feed_data(b"line1");
        r.feed_data(b"line2");
        assert_eq!(r.read(5).await.unwrap(), b"line1");
        assert_eq!(r.buffer(), b"line2");
    });
}

// test_read_eof
#[test]
fn read_at_eof_is_empty() {
    run(async {
        let mut r = StreamReader::new();
        let feeder = r.feeder();
        tulip_executor::spawn(async move { feeder.feed_eof() }).detach();
        assert_eq!(r.read(1024).await.unwrap(), b"");
        assert!(r.at_eof());
    });
}

// test_read_until_eof (asyncio's read(-1))
#[test]
fn read_to_end_collects_every_chunk() {
    run(async {
        let mut r = StreamReader::new();
        let feeder = r.feeder();
        tulip_executor::spawn(async move {
            feeder.feed_data(b"chunk1\n");
            feeder.feed_data(b"chunk2");
            feeder.feed_eof();
        })
        .detach();
        assert_eq!(r.read_to_end().await.unwrap(), b"chunk1\nchunk2");
        assert_eq!(r.buffered(), 0);
    });
}

// test_read_exception, test_readline_exception, test_readexactly_exception
#[test]
fn a_stored_exception_fails_every_read() {
    run(async {
        let mut r = StreamReader::new();
        r.feed_data(b"line\n");
        assert_eq!(r.read(2).await.unwrap(), b"li");
        r.set_exception(&io::Error::new(io::ErrorKind::InvalidData, "boom"));
        assert_eq!(r.read(2).await.unwrap_err().to_string(), "boom");
        assert!(matches!(r.readline().await, Err(ReadError::Io(e)) if e.to_string() == "boom"));
        assert!(matches!(r.readexactly(1).await, Err(ReadError::Io(_))));
        assert!(matches!(r.readuntil(b"x").await, Err(ReadError::Io(_))));
        assert_eq!(r.exception().unwrap().to_string(), "boom");
    });
}

// test_exception_waiter: an exception set while a read waits wakes it with the error.
#[test]
fn an_exception_set_while_waiting_wakes_the_reader() {
    run(async {
        let mut r = StreamReader::new();
        let feeder = r.feeder();
        tulip_executor::spawn(async move {
            feeder.set_exception(&io::Error::other("late"));
        })
        .detach();
        match r.readline().await {
            Err(ReadError::Io(e)) => assert_eq!(e.to_string(), "late"),
            other => panic!("{other:?}"),
        }
    });
}

// test_invalid_limit
#[test]
fn a_zero_limit_is_refused() {
    let e = StreamReader::with_limit(0).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    assert!(e.to_string().contains("limit"), "{e}");
}

// test_read_limit, test_readexactly_limit: the limit does not cap read(n) or readexactly(n).
#[test]
fn the_limit_does_not_cap_read_or_readexactly() {
    run(async {
        let mut r = reader(3);
        r.feed_data(b"chunk");
        assert_eq!(r.read(5).await.unwrap(), b"chunk");
        r.feed_data(b"chunk");
        assert_eq!(r.readexactly(5).await.unwrap(), b"chunk");
        assert_eq!(r.buffered(), 0);
    });
}

// test_readline
#[test]
fn readline_waits_across_chunks() {
    run(async {
        let mut r = StreamReader::new();
        r.feed_data(b"chunk1 ");
        let feeder = r.feeder();
        tulip_executor::spawn(async move {
            feeder.feed_data(b"chunk2 ");
            feeder.feed_data(b"chunk3 ");
            feeder.feed_data(b"\n chunk4");
        })
        .detach();
        assert_eq!(r.readline().await.unwrap(), b"chunk1 chunk2 chunk3 \n");
        assert_eq!(r.buffer(), b" chunk4");
    });
}

// test_readline_limit_with_existing_data
#[test]
fn readline_over_the_limit_discards_through_the_newline() {
    run(async {
        let mut r = reader(3);
        r.feed_data(b"li");
        r.feed_data(b"ne1\nline2\n");
        match r.readline().await {
            Err(ReadError::LimitOverrun { consumed }) => assert_eq!(consumed, 5),
            other => panic!("{other:?}"),
        }
        // The over-long line is gone, the next one is intact.
        assert_eq!(r.buffer(), b"line2\n");

        let mut r = reader(3);
        r.feed_data(b"li");
        r.feed_data(b"ne1");
        r.feed_data(b"li");
        assert!(r.readline().await.unwrap_err().is_limit_overrun());
        // No newline yet: everything buffered of the line is discarded.
        assert_eq!(r.buffered(), 0);
    });
}

// test_readline_limit
#[test]
fn readline_limit_with_data_fed_after_the_call() {
    run(async {
        let mut r = reader(7);
        let f = r.feeder();
        tulip_executor::spawn(async move {
            f.feed_data(b"chunk1");
            f.feed_data(b"chunk2");
            f.feed_data(b"chunk3\n");
            f.feed_eof();
        })
        .detach();
        assert!(r.readline().await.unwrap_err().is_limit_overrun());
        assert_eq!(r.buffered(), 0);

        let mut r = reader(7);
        let f = r.feeder();
        tulip_executor::spawn(async move {
            f.feed_data(b"chunk1");
            f.feed_data(b"chunk2\n");
            f.feed_data(b"chunk3\n");
            f.feed_eof();
        })
        .detach();
        assert!(r.readline().await.unwrap_err().is_limit_overrun());
        assert_eq!(r.buffer(), b"chunk3\n");
    });
}

// test_readline_limit ("check strictness of the limit")
#[test]
fn the_limit_counts_the_line_without_its_newline() {
    run(async {
        let mut r = reader(7);
        r.feed_data(b"1234567\n");
        assert_eq!(r.readline().await.unwrap(), b"1234567\n");
        assert_eq!(r.buffered(), 0);

        r.feed_data(b"12345678\n");
        assert!(r.readline().await.unwrap_err().is_limit_overrun());
        assert_eq!(r.buffered(), 0);

        r.feed_data(b"12345678");
        assert!(r.readline().await.unwrap_err().is_limit_overrun());
        assert_eq!(r.buffered(), 0);
    });
}

// test_readline_nolimit_nowait, test_readline_read_byte_count
#[test]
fn readline_then_read_continue_where_the_line_ended() {
    run(async {
        let mut r = StreamReader::new();
        r.feed_data(&DATA[..6]);
        r.feed_data(&DATA[6..]);
        assert_eq!(r.readline().await.unwrap(), b"line1\n");
        assert_eq!(r.buffer(), b"line2\nline3\n");
        assert_eq!(r.read(7).await.unwrap(), b"line2\nl");
        assert_eq!(r.buffer(), b"ine3\n");
    });
}

// test_readline_eof, test_readline_empty_eof, test_at_eof
#[test]
fn readline_at_eof_returns_the_partial_line_then_nothing() {
    run(async {
        let mut r = StreamReader::new();
        assert!(!r.at_eof());
        r.feed_data(b"some data\n");
        assert!(!r.at_eof());
        assert_eq!(r.readline().await.unwrap(), b"some data\n");
        assert!(!r.at_eof());
        r.feed_data(b"some data");
        r.feed_eof();
        assert!(!r.at_eof());
        assert_eq!(r.readline().await.unwrap(), b"some data");
        assert!(r.at_eof());
        assert_eq!(r.readline().await.unwrap(), b"");
    });
}

// test_readuntil_separator
#[test]
fn an_empty_separator_is_invalid_input() {
    run(async {
        let mut r = StreamReader::from_bytes(b"x");
        match r.readuntil(b"").await {
            Err(ReadError::Io(e)) => assert_eq!(e.kind(), io::ErrorKind::InvalidInput),
            other => panic!("{other:?}"),
        }
        assert!(matches!(r.readuntil_any(&[]).await, Err(ReadError::Io(_))));
        assert_eq!(r.buffer(), b"x");
    });
}

// test_readuntil_multi_chunks
#[test]
fn readuntil_returns_through_the_separator() {
    run(async {
        let mut r = StreamReader::new();
        r.feed_data(b"lineAAA");
        assert_eq!(r.readuntil(b"AAA").await.unwrap(), b"lineAAA");
        assert_eq!(r.buffered(), 0);
        r.feed_data(b"lineAAAxxx");
        assert_eq!(r.readuntil(b"AAA").await.unwrap(), b"lineAAA");
        assert_eq!(r.buffer(), b"xxx");
    });
}

// test_readuntil_multi_chunks_1: a separator split across fed chunks.
#[test]
fn readuntil_finds_a_separator_split_across_chunks() {
    run(async {
        let cases: &[(&[&[u8]], &[u8])] = &[
            (&[b"QWEaa", b"XYaa", b"a"], b"QWEaaXYaaa"),
            (&[b"QWEaa", b"XYa", b"aa"], b"QWEaaXYaaa"),
            (&[b"aaa"], b"aaa"),
            (&[b"Xaaa"], b"Xaaa"),
            (&[b"XXX", b"a", b"a", b"a"], b"XXXaaa"),
        ];
        for (chunks, want) in cases {
            let mut r = StreamReader::new();
            let f = r.feeder();
            let chunks: Vec<Vec<u8>> = chunks.iter().map(|c| c.to_vec()).collect();
            tulip_executor::spawn(async move {
                for c in chunks {
                    f.feed_data(&c);
                    tulip_executor::yield_now().await;
                }
            })
            .detach();
            assert_eq!(r.readuntil(b"aaa").await.unwrap(), *want);
            assert_eq!(r.buffered(), 0);
        }
    });
}

// test_readuntil_eof
#[test]
fn readuntil_at_eof_gives_everything_as_incomplete_and_empties_the_buffer() {
    run(async {
        let mut r = StreamReader::from_bytes(b"some dataAA");
        match r.readuntil(b"AAA").await {
            Err(ReadError::IncompleteRead { partial, expected }) => {
                assert_eq!(partial, b"some dataAA");
                assert_eq!(expected, None);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(r.buffered(), 0);
        let e = ReadError::IncompleteRead {
            partial: vec![0; 11],
            expected: None,
        };
        assert!(e.to_string().contains("undefined expected bytes"), "{e}");
    });
}

// test_readuntil_eof: a separator in the last chunk before EOF still matches.
#[test]
fn readuntil_checks_the_buffer_before_eof() {
    run(async {
        let mut r = StreamReader::from_bytes(b"dataAAA");
        assert_eq!(r.readuntil(b"AAA").await.unwrap(), b"dataAAA");
        assert!(r.at_eof());
    });
}

// test_readuntil_limit_found_sep
#[test]
fn readuntil_over_the_limit_keeps_the_data() {
    run(async {
        let mut r = reader(3);
        r.feed_data(b"some dataAA");
        match r.readuntil(b"AAA").await {
            Err(ReadError::LimitOverrun { consumed }) => assert_eq!(consumed, 9),
            other => panic!("{other:?}"),
        }
        assert_eq!(r.buffer(), b"some dataAA");
        r.feed_data(b"A");
        match r.readuntil(b"AAA").await {
            // Found, but starting past the limit.
            Err(ReadError::LimitOverrun { consumed }) => assert_eq!(consumed, 9),
            other => panic!("{other:?}"),
        }
        assert_eq!(r.buffer(), b"some dataAAA");
        // The data is still there to read another way.
        assert_eq!(r.read(100).await.unwrap(), b"some dataAAA");
    });
}

// 3.13: readuntil with several separators; the earliest-ending match wins.
#[test]
fn readuntil_any_returns_the_shortest_match() {
    run(async {
        let mut r = StreamReader::new();
        r.feed_data(b"key=value\r\nnext");
        let seps: &[&[u8]] = &[b"\r\n", b"\n", b"="];
        assert_eq!(r.readuntil_any(seps).await.unwrap(), b"key=");
        assert_eq!(r.readuntil_any(seps).await.unwrap(), b"value\r\n");
        // "\n" ends at the same place as "\r\n" would have; with only "\n" and "\r\n\r\n",
        // the first "\n" wins over the longer separator further on.
        let mut r = StreamReader::new();
        r.feed_data(b"a\r\n\r\n");
        assert_eq!(
            r.readuntil_any(&[b"\r\n\r\n", b"\n"]).await.unwrap(),
            b"a\r\n"
        );
        assert_eq!(r.buffer(), b"\r\n");
    });
}

// 3.13: a longer separator that ends earlier beats a shorter one that ends later.
#[test]
fn readuntil_any_prefers_the_earliest_end_not_the_shortest_separator() {
    run(async {
        let mut r = StreamReader::new();
        r.feed_data(b"xxABCDyy!");
        let seps: &[&[u8]] = &[b"!", b"ABCD"];
        assert_eq!(r.readuntil_any(seps).await.unwrap(), b"xxABCD");
        assert_eq!(r.readuntil_any(seps).await.unwrap(), b"yy!");
    });
}

// 3.13 limit rules with several separators: the match start is compared with the limit.
#[test]
fn readuntil_any_applies_the_limit_to_the_match_start() {
    run(async {
        let mut r = reader(4);
        r.feed_data(b"01234|");
        match r.readuntil_any(&[b"|", b"||"]).await {
            Err(ReadError::LimitOverrun { consumed }) => assert_eq!(consumed, 5),
            other => panic!("{other:?}"),
        }
        assert_eq!(r.buffer(), b"01234|");
        let mut r = reader(4);
        r.feed_data(b"0123|");
        assert_eq!(r.readuntil_any(&[b"|", b"||"]).await.unwrap(), b"0123|");
    });
}

// test_readexactly_zero_or_less, test_readexactly
#[test]
fn readexactly_waits_for_exactly_n_bytes() {
    run(async {
        let mut r = StreamReader::new();
        r.feed_data(DATA);
        assert_eq!(r.readexactly(0).await.unwrap(), b"");
        assert_eq!(r.buffer(), DATA);

        let mut r = StreamReader::new();
        let f = r.feeder();
        tulip_executor::spawn(async move {
            for _ in 0..3 {
                f.feed_data(DATA);
                tulip_executor::yield_now().await;
            }
        })
        .detach();
        let n = 2 * DATA.len();
        assert_eq!(r.readexactly(n).await.unwrap(), [DATA, DATA].concat());
        // The third chunk may or may not have arrived yet; what is buffered is its prefix.
        assert!(DATA.starts_with(r.buffer()));
    });
}

// test_readexactly_eof
#[test]
fn readexactly_short_of_eof_is_incomplete_with_what_there_was() {
    run(async {
        let mut r = StreamReader::new();
        let f = r.feeder();
        tulip_executor::spawn(async move {
            f.feed_data(DATA);
            f.feed_eof();
        })
        .detach();
        let n = 2 * DATA.len();
        let e = r.readexactly(n).await.unwrap_err();
        assert_eq!(
            e.to_string(),
            "18 bytes read on a total of 36 expected bytes"
        );
        match e {
            ReadError::IncompleteRead { partial, expected } => {
                assert_eq!(partial, DATA);
                assert_eq!(expected, Some(n));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(r.buffered(), 0);
    });
}

// test_exception_cancel: a cancelled read leaves the reader usable.
#[test]
fn a_cancelled_read_loses_nothing() {
    run(async {
        let mut r = StreamReader::new();
        let feeder = r.feeder();
        r.feed_data(b"partial ");
        {
            let read = r.readline();
            let out = tulip_task::timeout(std::time::Duration::from_millis(1), read).await;
            assert!(
                out.is_err(),
                "no newline yet: the read must still be waiting"
            );
        }
        assert_eq!(r.buffer(), b"partial ");
        feeder.feed_data(b"line\n");
        assert_eq!(r.readline().await.unwrap(), b"partial line\n");
    });
}

#[test]
fn lines_stream_ends_after_the_last_line() {
    run(async {
        let mut r = StreamReader::from_bytes(b"a\nb\nc");
        let lines: Vec<_> = r.lines().map(|l| l.unwrap()).collect().await;
        assert_eq!(lines, [&b"a\n"[..], b"b\n", b"c"]);
    });
}

#[test]
fn a_line_far_over_the_limit_never_grows_the_buffer_past_twice_the_limit() {
    // One worker whatever TULIP_WORKERS says: the promise is that the reader discards as it
    // goes, between the feeder's pieces. `feed_data` never waits (asyncio's back-pressure is
    // the transport's pause_reading, and a bare feeder has none), so on two workers the feeder
    // may run ahead of the reader and the buffer then holds what it fed meanwhile.
    let runner = tulip_runtime::Runner::builder().workers(1).build();
    runner.run(async {
        let limit = 1024;
        let mut r = reader(limit);
        let f = r.feeder();
        // 1 MiB without a newline, fed in 100-byte pieces, then a newline and a short line.
        tulip_executor::spawn(async move {
            let piece = [b'x'; 100];
            for _ in 0..10_486 {
                f.feed_data(&piece);
                tulip_executor::yield_now().await;
            }
            f.feed_data(b"\nshort\n");
            f.feed_eof();
        })
        .detach();
        let mut overruns = 0;
        let mut peak = 0;
        loop {
            let res = r.readline().await;
            peak = peak.max(r.capacity());
            match res {
                Err(ReadError::LimitOverrun { .. }) => overruns += 1,
                Ok(line) if line == b"short\n" => break,
                // The tail of the long line (shorter than the limit) comes back as a line.
                Ok(line) => assert!(line.len() <= limit + 1, "{}", line.len()),
                Err(e) => panic!("{e}"),
            }
        }
        assert!(overruns > 100, "{overruns}");
        assert!(peak <= 2 * limit + 4096, "buffer grew to {peak} bytes");
    });
}

#[test]
fn a_standalone_reader_without_a_feeder_or_eof_is_an_error_not_a_hang() {
    run(async {
        let mut r = StreamReader::new();
        r.feed_data(b"no newline");
        match r.readline().await {
            Err(ReadError::Io(e)) => assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof),
            other => panic!("{other:?}"),
        }
        assert_eq!(r.buffer(), b"no newline");
    });
}

#[test]
fn async_read_and_buf_read_see_the_same_bytes() {
    use futures_lite::{AsyncBufReadExt, AsyncReadExt};
    run(async {
        let mut r = StreamReader::from_bytes(b"first line\nrest");
        let mut line = String::new();
        r.read_line(&mut line).await.unwrap();
        assert_eq!(line, "first line\n");
        let mut rest = Vec::new();
        AsyncReadExt::read_to_end(&mut r, &mut rest).await.unwrap();
        assert_eq!(rest, b"rest");
    });
}
