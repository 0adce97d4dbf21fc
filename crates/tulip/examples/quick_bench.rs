//! Quick ad-hoc timing (not a benchmark: see cargo xtask bench).
use std::time::Instant;
fn main() {
    for _ in 0..3 {
        let t = Instant::now();
        tulip::run(async {
            let tasks: Vec<_> = (0..1_000_000)
                .map(|i| tulip::spawn(async move { i }))
                .collect();
            let mut s = 0u64;
            for t in tasks {
                s += t.await.unwrap();
            }
            s
        });
        println!(
            "spawn_many: {:.1} ns/task",
            t.elapsed().as_nanos() as f64 / 1e6
        );
        let t = Instant::now();
        tulip::run(async {
            let tasks: Vec<_> = (0..1000)
                .map(|_| {
                    tulip::spawn(async {
                        for _ in 0..1000 {
                            tulip::yield_now().await;
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
        });
        println!(
            "yield_many: {:.1} ns/yield",
            t.elapsed().as_nanos() as f64 / 1e6
        );
        let t = Instant::now();
        tulip::Runner::builder().workers(2).build().run(async {
            let tasks: Vec<_> = (0..1_000_000)
                .map(|i| tulip::spawn(async move { i }))
                .collect();
            let mut s = 0u64;
            for t in tasks {
                s += t.await.unwrap();
            }
            s
        });
        println!(
            "spawn_many mt: {:.1} ns/task",
            t.elapsed().as_nanos() as f64 / 1e6
        );
    }
}
