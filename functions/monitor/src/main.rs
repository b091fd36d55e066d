//! Lambda entry point for monitor-trigger: it only wires things up. The
//! configuration and the S3 client are built once at cold start; the handler
//! lives in lib.rs.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

/// mimalloc: the per-event work is mostly small allocations (see the root Cargo.toml).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    trigger_aws::lambda::init_tracing();
    let parts = trigger_aws::lambda::init_monitor_from_env().await?;
    let parts = &parts;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        trigger_aws::lambda::finish(monitor_function::handle(parts, &event.payload).await)
    }))
    .await
}
