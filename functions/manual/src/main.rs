//! Lambda entry point for manual-trigger: it only wires things up. Configuration
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
        // Lambda keeps an asynchronous event's request id across its retries, so it is the dedupe key.
        trigger_aws::lambda::finish(manual_trigger::handle(trigger, &event.payload, &event.context.request_id).await)
    }))
    .await
}
