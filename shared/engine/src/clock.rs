//! Time as the engine sees it: "now" and waiting, behind a trait. In Lambda
//! it is the wall clock (`trigger-aws`'s `SystemClock`); in tests and
//! backtests it is `memory::ManualClock`, where waiting moves time forward
//! instead of sleeping, so months of events replay in seconds.

use async_trait::async_trait;
use trigger_decision::{Span, Timestamp};

/// The engine's only source of time.
#[async_trait]
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current instant.
    fn now(&self) -> Timestamp;

    /// Waits for `span`, as this clock measures it.
    async fn sleep(&self, span: Span);
}
