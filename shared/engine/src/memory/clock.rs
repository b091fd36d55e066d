//! A virtual clock: it stands still until told to move, and waiting on it
//! moves it, so that a claim wait or a replay of months takes no real time.

use crate::clock::Clock;
use async_trait::async_trait;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, Ordering};
use std::task::{Context, Poll};
use trigger_decision::{Span, Timestamp};

/// A clock set by hand. `sleep` advances it by the span and lets other
/// tasks run once, so that an invocation waiting on another's claim gives
/// that other invocation the chance to finish.
#[derive(Debug)]
pub struct ManualClock {
    millis: AtomicI64,
}

impl ManualClock {
    pub fn new(start: Timestamp) -> ManualClock {
        ManualClock {
            millis: AtomicI64::new(start.millis()),
        }
    }

    /// Moves the clock to `at`, forward or back.
    pub fn set(&self, at: Timestamp) {
        self.millis.store(at.millis(), Ordering::SeqCst);
    }

    /// Moves the clock forward by `span`.
    pub fn advance(&self, span: Span) {
        self.millis.fetch_add(span.millis(), Ordering::SeqCst);
    }
}

#[async_trait]
impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.millis.load(Ordering::SeqCst))
    }

    async fn sleep(&self, span: Span) {
        self.advance(span);
        YieldOnce(false).await;
    }
}

/// Pending once (after asking to be woken at once), then ready: gives the
/// executor's other tasks one turn, whatever the executor.
#[derive(Debug)]
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        context.waker().wake_by_ref();
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiting_moves_the_clock_instead_of_sleeping() {
        let clock = ManualClock::new(Timestamp(1_000));
        clock.sleep(Span::from_secs(3600)).await;
        assert_eq!(clock.now(), Timestamp(1_000 + 3_600_000));
        clock.advance(Span::from_millis(5));
        assert_eq!(clock.now(), Timestamp(3_601_005));
        clock.set(Timestamp(7));
        assert_eq!(clock.now(), Timestamp(7));
    }
}
