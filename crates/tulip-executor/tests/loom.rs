//! loom models of the multi-threaded scheduler: parking/waking and the work-stealing ring.
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
fn ring_one_thief_takes_every_task_exactly_once() {
    tulip_executor::loom_models::ring_steal_exactly_once(1, 3, 3);
}

#[test]
fn ring_one_thief_while_the_owner_pushes_and_overflows() {
    tulip_executor::loom_models::ring_steal_exactly_once(1, 2, 6);
}

#[test]
fn ring_two_thieves_take_every_task_exactly_once() {
    tulip_executor::loom_models::ring_steal_exactly_once(2, 3, 4);
}

#[test]
fn ring_owner_pop_races_stealer_pop() {
    tulip_executor::loom_models::ring_pop_races_stealer_pop(3);
}

#[test]
fn work_for_one_worker_wakes_that_worker() {
    tulip_executor::loom_models::targeted_wakeup_no_loss();
}
