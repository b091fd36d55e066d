//! The wall clock, for the functions and the CLI: `now` from the system
//! time, waiting through tokio's timer.

use async_trait::async_trait;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use trigger_decision::{Span, Timestamp};
use trigger_engine::Clock;

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

/// The wall clock, read only by the shell.
pub fn now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis());
    Timestamp(i64::try_from(millis).unwrap_or(i64::MAX))
}

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        now()
    }

    async fn sleep(&self, span: Span) {
        let millis = u64::try_from(span.millis()).unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(millis)).await;
    }
}
