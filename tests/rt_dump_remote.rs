//! The loop dump from outside the process: a child test process runs a loop with named tasks
//! under `TULIP_DUMP_SOCKET` or `TULIP_DUMP_SIGNAL`, and this process asks it for its tasks.
//! The child says `ready` on stdout once its tasks are spawned, and ends when its stdin closes;
//! every wait here is bounded.
#![cfg(unix)]

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tulip_tests::{default_dispositions, is_child, TempDir, CHILD_ENV};

const LIMIT: Duration = Duration::from_secs(20);
/// A task name a JSON writer has to escape.
const HOSTILE: &str = "say \"hi\"\\\n\t\u{1}é🌷";

/// The child's part: named tasks that wait forever, `ready`, then wait for stdin to close.
fn child_body() {
    tulip::run(async {
        let _a = tulip::task::Builder::new()
            .name("remote-dumped")
            .spawn(std::future::pending::<()>());
        let _b = tulip::task::Builder::new()
            .name(HOSTILE)
            .spawn(std::future::pending::<()>());
        // Both are registered after their first poll; with two workers that may be after a
        // few turns of ours (they can sit in the other worker's queue), so wait for it,
        // bounded.
        let t0 = Instant::now();
        loop {
            let idle_named = tulip::task::all()
                .iter()
                .filter(|t| t.name.is_some() && t.state == tulip::task::TaskState::Idle)
                .count();
            if idle_named == 2 {
                break;
            }
            assert!(t0.elapsed() < LIMIT, "the named tasks never ran");
            tulip::yield_now().await;
        }
        println!("ready");
        std::io::stdout().flush().unwrap();
        tulip::task::to_thread(|| {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
        })
        .await;
    });
}

/// Starts this test again as a child with `env` set; returns it once it said `ready`, with a
/// channel of its stderr's lines.
fn start_child(test: &str, env: (&str, &str)) -> (Child, mpsc::Receiver<String>) {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(exe);
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "dump")
        .env(env.0, env.1)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    default_dispositions(&mut cmd);
    let mut child = cmd.spawn().expect("start the child");
    let (ready_tx, ready_rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.ends_with("ready") {
                let _ = ready_tx.send(());
            }
        }
    });
    let (err_tx, err_rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = err_tx.send(line);
        }
    });
    if ready_rx.recv_timeout(LIMIT).is_err() {
        let _ = child.kill();
        panic!("the child never said ready");
    }
    (child, err_rx)
}

/// Closes the child's stdin and waits (bounded) for it to succeed.
fn finish(mut child: Child) {
    drop(child.stdin.take());
    let t0 = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "the child failed: {status}");
            return;
        }
        if t0.elapsed() > LIMIT {
            let _ = child.kill();
            panic!("the child did not end");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Sends `request` on the socket and reads the answer to its end.
fn ask(path: &std::path::Path, request: &str) -> String {
    let mut s = UnixStream::connect(path).expect("the dump socket");
    s.set_read_timeout(Some(LIMIT)).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn dump_socket_answers_with_the_tasks() {
    if is_child("dump") {
        return child_body();
    }
    let dir = TempDir::new("dump-socket");
    let path = dir.path().join("loop-{pid}.sock");
    let (child, _stderr) = start_child(
        "dump_socket_answers_with_the_tasks",
        ("TULIP_DUMP_SOCKET", path.to_str().unwrap()),
    );
    let path = dir.path().join(format!("loop-{}.sock", child.id()));

    let json = ask(&path, "json\n");
    let v: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    assert_eq!(v["pid"], child.id());
    let tasks = v["loops"][0]["tasks"]
        .as_array()
        .expect("a loop with tasks");
    let names: Vec<&str> = tasks.iter().filter_map(|t| t["name"].as_str()).collect();
    assert!(names.contains(&"remote-dumped"), "{json}");
    assert!(names.contains(&HOSTILE), "{json}");
    assert!(tasks.iter().all(|t| t["state"] == "idle"), "{json}");

    let text = ask(&path, "text\n");
    assert!(
        text.starts_with(&format!("pid {}: 1 loop(s)", child.id())),
        "{text}"
    );
    assert!(text.contains("remote-dumped"), "{text}");
    finish(child);
}

#[test]
fn dump_signal_writes_the_tasks_on_stderr() {
    if is_child("dump") {
        return child_body();
    }
    let (child, stderr) = start_child(
        "dump_signal_writes_the_tasks_on_stderr",
        ("TULIP_DUMP_SIGNAL", "USR2"),
    );
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::USR2).unwrap();
    let t0 = Instant::now();
    let mut seen = Vec::new();
    while !seen.iter().any(|l: &String| l.contains("remote-dumped")) {
        let left = LIMIT.saturating_sub(t0.elapsed());
        match stderr.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => panic!("no dump on stderr: {seen:?}"),
        }
    }
    assert!(seen.iter().any(|l| l.starts_with("pid ")), "{seen:?}");
    finish(child);
}
