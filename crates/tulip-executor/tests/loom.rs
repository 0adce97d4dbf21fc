//! loom models of the multi-threaded scheduler: parking/waking and work stealing.
//!
//! Run with `cargo xtask loom` (`RUSTFLAGS="--cfg tulip_loom --cfg loom"`,
//! `LOOM_MAX_PREEMPTIONS=2`).

#![cfg(tulip_loom)]

#[test]
fn one_worker_one_item_no_lost_wakeup() {
    tulip_executor::loom_models::idle_no_lost_wakeup(1, 1);
}

#[test]
fn two_workers_one_item_no_lost_wakeup() {
    tulip_executor::loom_models::idle_no_lost_wakeup(2, 1);
}

#[test]
fn two_workers_two_items_no_lost_wakeup() {
    tulip_executor::loom_models::idle_no_lost_wakeup(2, 2);
}

#[test]
fn stealing_takes_every_task_exactly_once() {
    tulip_executor::loom_models::steal_exactly_once(3);
}

#[test]
fn work_for_one_worker_wakes_that_worker() {
    tulip_executor::loom_models::targeted_wakeup_no_loss();
}
