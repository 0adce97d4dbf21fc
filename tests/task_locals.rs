//! Task-local context (asyncio's contextvars): inherited by copy into children, callbacks and
//! the blocking pool; a child's changes never leak back.

use std::time::Duration;

tulip::task_local! {
    static REQUEST: String;
    static DEPTH: u32;
}

#[test]
fn spawned_children_inherit_by_copy() {
    tulip::run(REQUEST.scope("req-1".to_string(), async {
        let child = tulip::spawn(async {
            let seen = REQUEST.get();
            REQUEST.set("changed-in-child".into());
            let grandchild = tulip::spawn(async { REQUEST.get() });
            (seen, grandchild.await.unwrap())
        });
        let (seen, grand) = child.await.unwrap();
        assert_eq!(seen, "req-1");
        assert_eq!(grand, "changed-in-child");
        assert_eq!(
            REQUEST.get(),
            "req-1",
            "the child's set stayed in the child"
        );
    }));
}

#[test]
fn set_inside_a_task_is_seen_by_later_children_only() {
    tulip::run(async {
        let t = tulip::spawn(async {
            let before = tulip::spawn(async { DEPTH.try_get() });
            DEPTH.set(3);
            let after = tulip::spawn(async { DEPTH.try_get() });
            tulip::yield_now().await;
            // The task keeps its own value across awaits.
            assert_eq!(DEPTH.get(), 3);
            (before.await.unwrap(), after.await.unwrap())
        });
        assert_eq!(t.await.unwrap(), (None, Some(3)));
        assert_eq!(DEPTH.try_get(), None);
    });
}

#[test]
fn to_thread_and_callbacks_see_the_context() {
    tulip::run(REQUEST.scope("ctx".to_string(), async {
        let from_thread = tulip::to_thread(|| REQUEST.try_get()).await;
        assert_eq!(from_thread.as_deref(), Some("ctx"));
        let lp = tulip::EventLoop::current();
        let (tx, rx) = std::sync::mpsc::channel();
        lp.call_soon(move || tx.send(REQUEST.try_get()).unwrap());
        tulip::yield_now().await;
        assert_eq!(rx.try_recv().unwrap().as_deref(), Some("ctx"));
    }));
}

#[test]
fn context_flows_across_workers() {
    tulip::Runner::builder()
        .workers(2)
        .build()
        .run(DEPTH.scope(9, async {
            let tasks: Vec<_> = (0..50)
                .map(|_| {
                    tulip::spawn(async {
                        tulip::sleep(Duration::from_micros(10)).await;
                        DEPTH.get()
                    })
                })
                .collect();
            for t in tasks {
                assert_eq!(t.await.unwrap(), 9);
            }
        }));
}

#[test]
fn unset_values_are_a_named_error() {
    tulip::run(async {
        let err = REQUEST.try_with(|_| ()).unwrap_err();
        assert!(err.to_string().contains("not set"));
    });
}
