//! Timer futures: [`sleep`], [`sleep_until`], [`interval`], and [`advance`] for virtual time.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tulip_time::wheel::TimerKey;
use tulip_time::Instant;

use crate::reactor::Reactor;

/// When a [`Sleep`] ends: relative until its first poll, then absolute.
#[derive(Debug, Clone, Copy)]
enum When {
    After(Duration),
    At(Instant),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not registered (never polled, or reset).
    Idle,
    /// Registered in the reactor's wheel, due at this many wheel nanoseconds.
    Registered(TimerKey, u64),
    /// The deadline had passed when registering: yielded once, completes on the next poll.
    Yielded,
    /// Completed.
    Done,
}

/// Future of [`sleep`] and [`sleep_until`]: completes at its deadline, never earlier.
///
/// A `Sleep` binds to the event loop that first polls it. A relative sleep ([`sleep`]) counts
/// from that first poll, as asyncio's `sleep` counts from when the coroutine runs. A deadline
/// that has already passed (including `sleep(Duration::ZERO)`) still yields to the loop once,
/// like asyncio's `sleep(0)`, so a loop of zero sleeps cannot starve other tasks.
///
/// Dropping a `Sleep` cancels its timer and frees the timer's memory at once.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulip_reactor::{sleep, Instant};
///
/// tulip_runtime::run(async {
///     let start = Instant::now();
///     sleep(Duration::from_millis(10)).await;
///     assert!(start.elapsed() >= Duration::from_millis(10));
/// });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Sleep {
    when: When,
    state: State,
    /// The reactor the timer is (or was) registered with.
    reactor: Option<Reactor>,
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline())
            .field("state", &self.state)
            .finish()
    }
}

/// Waits for `duration`, counted from the first poll.
///
/// `Duration::MAX` sleeps forever (without overflow).
///
/// # Cancel safety
///
/// Cancel safe: dropping the future cancels the timer and nothing else.
///
/// # Panics
///
/// Polling it outside a tulip event loop panics with a message saying so.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// // A paused clock makes an hour pass in an instant.
/// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
///     let start = tulip_reactor::Instant::now();
///     tulip_reactor::sleep(Duration::from_secs(3600)).await;
///     assert_eq!(start.elapsed(), Duration::from_secs(3600));
/// });
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    Sleep {
        when: When::After(duration),
        state: State::Idle,
        reactor: None,
    }
}

/// Waits until `deadline`.
///
/// # Cancel safety
///
/// Cancel safe: dropping the future cancels the timer and nothing else.
///
/// # Panics
///
/// Polling it outside a tulip event loop panics with a message saying so.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulip_reactor::{sleep_until, Instant};
///
/// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
///     let when = Instant::now() + Duration::from_millis(250);
///     sleep_until(when).await;
///     assert_eq!(Instant::now(), when);
/// });
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        when: When::At(deadline),
        state: State::Idle,
        reactor: None,
    }
}

impl Sleep {
    /// The deadline, once known: at once for [`sleep_until`], after the first poll for
    /// [`sleep`].
    pub fn deadline(&self) -> Option<Instant> {
        match self.when {
            When::At(t) => Some(t),
            When::After(_) => None,
        }
    }

    /// Whether the sleep has completed.
    pub fn is_elapsed(&self) -> bool {
        self.state == State::Done
    }

    /// Moves the deadline (earlier or later), even after the sleep completed; the next poll
    /// waits for the new deadline.
    pub fn reset(&mut self, deadline: Instant) {
        self.unregister();
        self.when = When::At(deadline);
        self.state = State::Idle;
    }

    fn unregister(&mut self) {
        if let (State::Registered(key, _), Some(r)) = (self.state, &self.reactor) {
            r.remove_timer(key);
        }
    }

    fn register(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Sleep {
            when,
            state,
            reactor,
        } = self;
        // The handle is cloned once, into the sleep, and used from there.
        let reactor = reactor.get_or_insert_with(|| {
            Reactor::current().unwrap_or_else(|| {
                panic!("a tulip timer was polled outside a tulip event loop (use tulip::run)")
            })
        });
        let now = reactor.now();
        let deadline = match *when {
            When::At(t) => t,
            When::After(d) => now.saturating_add(d),
        };
        *when = When::At(deadline);
        if deadline <= now {
            // Already due: yield to the loop once, like asyncio's sleep(0).
            *state = State::Yielded;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let Some((key, ns)) = reactor.insert_timer(deadline, cx.waker()) else {
            // Another thread's expiry has passed the deadline already.
            *state = State::Yielded;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        };
        *state = State::Registered(key, ns);
        reactor.note(crate::reactor::WaitNote::Timer(deadline.into_std()));
        Poll::Pending
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        match this.state {
            State::Done => Poll::Ready(()),
            State::Yielded => {
                this.state = State::Done;
                Poll::Ready(())
            }
            State::Idle => this.register(cx),
            State::Registered(key, ns) => {
                let reactor = this
                    .reactor
                    .as_ref()
                    .expect("registered sleeps keep their reactor");
                if reactor.expired_through(ns) {
                    // Fired (the usual way to get here), so no longer in the wheel (see
                    // `insert_timer`): no need to take the lock and look.
                    this.state = State::Done;
                    return Poll::Ready(());
                }
                match reactor.poll_timer(key, cx) {
                    Poll::Ready(()) => {
                        this.state = State::Done;
                        Poll::Ready(())
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if matches!(self.state, State::Registered(..)) {
            self.unregister();
        }
    }
}

/// What an [`Interval`] does about ticks it missed because the task was late.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks one after another until caught up, keeping the original
    /// schedule (each catch-up tick still yields to the loop once).
    #[default]
    Burst,
    /// Fire once now, and schedule the next tick one period after now.
    Delay,
    /// Fire once now, and skip to the next tick on the original schedule.
    Skip,
}

/// A stream of ticks, one per `period`: see [`interval`].
#[derive(Debug)]
pub struct Interval {
    /// Start of the schedule (`None`: the first poll).
    start: Option<Instant>,
    /// The next tick's time, once started.
    next: Option<Instant>,
    period: Duration,
    behavior: MissedTickBehavior,
    sleep: Sleep,
}

/// A ticker whose first tick completes at once (at the first poll) and then every `period`.
///
/// A zero `period` is allowed: every tick then completes after one yield to the loop.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// // On virtual time the ticks are exact.
/// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
///     let mut iv = tulip_reactor::interval(Duration::from_millis(10));
///     let t0 = iv.tick().await;
///     let t1 = iv.tick().await;
///     assert_eq!(t1 - t0, Duration::from_millis(10));
/// });
/// ```
pub fn interval(period: Duration) -> Interval {
    Interval {
        start: None,
        next: None,
        period,
        behavior: MissedTickBehavior::default(),
        sleep: sleep(Duration::ZERO),
    }
}

/// A ticker whose first tick completes at `start` and then every `period`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulip_reactor::{interval_at, Instant};
///
/// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
///     let start = Instant::now() + Duration::from_secs(1);
///     let mut iv = interval_at(start, Duration::from_secs(2));
///     assert_eq!(iv.tick().await, start);
///     assert_eq!(iv.tick().await, start + Duration::from_secs(2));
/// });
/// ```
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    Interval {
        start: Some(start),
        next: None,
        period,
        behavior: MissedTickBehavior::default(),
        sleep: sleep_until(start),
    }
}

impl Interval {
    /// Waits for the next tick and returns its scheduled time.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped `tick()` consumes no tick.
    pub async fn tick(&mut self) -> Instant {
        std::future::poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        let next = match self.next {
            Some(n) => n,
            None => {
                let n = match self.start {
                    Some(s) => s,
                    None => {
                        Reactor::with_current(|r| r.map(Reactor::now)).unwrap_or_else(Instant::now)
                    }
                };
                self.next = Some(n);
                self.sleep.reset(n);
                n
            }
        };
        if self.sleep.deadline() != Some(next) {
            self.sleep.reset(next);
        }
        match Pin::new(&mut self.sleep).poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(()) => {}
        }
        let now = Reactor::with_current(|r| r.map(Reactor::now)).unwrap_or_else(Instant::now);
        let p = self.period;
        let following = match self.behavior {
            MissedTickBehavior::Burst => next.saturating_add(p),
            MissedTickBehavior::Delay => now.saturating_add(p),
            MissedTickBehavior::Skip => {
                if p.is_zero() {
                    now
                } else {
                    let behind = now.saturating_duration_since(next).as_nanos() / p.as_nanos();
                    let steps = u32::try_from(behind + 1).unwrap_or(u32::MAX);
                    next.saturating_add(p.saturating_mul(steps))
                }
            }
        };
        self.next = Some(following);
        self.sleep.reset(following);
        Poll::Ready(next)
    }

    /// Restarts the schedule: the next tick is one period from now.
    pub fn reset(&mut self) {
        let now = Reactor::with_current(|r| r.map(Reactor::now)).unwrap_or_else(Instant::now);
        let n = now.saturating_add(self.period);
        self.next = Some(n);
        self.sleep.reset(n);
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// The policy for missed ticks.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.behavior
    }

    /// Sets the policy for missed ticks.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.behavior = behavior;
    }
}

impl futures_core::Stream for Interval {
    type Item = Instant;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }
}

/// Moves a paused clock forward by `duration`, fires the timers that fall due, and yields so
/// the tasks they woke run before the caller continues.
///
/// For tests on virtual time (`#[tulip::test(start_paused = true)]`); the loop also jumps the
/// clock to the next timer by itself whenever every task is idle. On a multi-threaded loop the
/// woken tasks may still be running on other workers when `advance` returns.
///
/// # Cancel safety
///
/// The clock moves and the due timers fire when the future is first polled; dropping it
/// afterwards only skips the final yield.
///
/// # Panics
///
/// Panics outside a tulip event loop, or when the loop's clock is not paused: moving the real
/// clock is impossible, and a test that tries has a bug worth failing on.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
///     let done = Arc::new(AtomicBool::new(false));
///     let d = done.clone();
///     let _t = tulip_executor::spawn(async move {
///         tulip_reactor::sleep(Duration::from_secs(60)).await;
///         d.store(true, SeqCst);
///     });
///     tulip_executor::yield_now().await; // let the task start its sleep
///     tulip_reactor::advance(Duration::from_secs(59)).await;
///     assert!(!done.load(SeqCst));
///     tulip_reactor::advance(Duration::from_secs(1)).await;
///     assert!(done.load(SeqCst));
/// });
/// ```
pub async fn advance(duration: Duration) {
    let reactor = Reactor::current()
        .unwrap_or_else(|| panic!("tulip::time::advance called outside a tulip event loop"));
    assert!(
        reactor.clock().is_paused(),
        "tulip::time::advance needs a paused clock (#[tulip::test(start_paused = true)] or \
         Runner::builder().start_paused(true))"
    );
    reactor.clock().advance(duration);
    reactor.fire_due_timers();
    YieldOnce(false).await;
}

/// Yields to the loop once.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}
