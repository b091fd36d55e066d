//! Lambda entry point for drift-trigger: it only wires things up. Configuration
//! and SDK clients are built once at cold start; the handler lives in lib.rs.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

/// mimalloc: the per-event work is mostly small allocations (see the root Cargo.toml).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    trigger_aws::lambda::init_tracing();
    let trigger = trigger_aws::lambda::init_from_env().await?;
    let trigger = &trigger;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        trigger_aws::lambda::finish(drift_trigger::handle(trigger, &event.payload).await)
    }))
    .await
}
