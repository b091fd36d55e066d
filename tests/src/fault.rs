//! A fault-injecting HTTP proxy in front of moto, scripted per test.
//!
//! The trigger's SDK clients talk to the proxy on a loopback port; the proxy
//! forwards each request to moto unless a rule says to fail it: answer 500 or
//! 503, answer SageMaker's `ThrottlingException` or S3's `PreconditionFailed`,
//! hold the connection past the SDK timeout, reset it, or let the call take
//! effect in moto and then lose or cut short the answer. A rule applies to the
//! Nth matching request onwards, for a number of requests, so a test can fail
//! exactly "the second ledger write" or "both attempts of the start".
//!
//! This sits at the HTTP layer, below the SDK, so the SDK's own retries,
//! timeouts and error parsing run as they do in Lambda. (The SDK's
//! `test-util` mocks would need the SDK rebuilt with that feature.) Every
//! response carries `Connection: close`, so each request has a connection of
//! its own and a fault never leaks into the next request.
//!
//! The proxy also makes moto's conditional writes atomic, as S3's are. moto
//! checks `If-Match` or `If-None-Match` and then writes, without a lock, so
//! two concurrent conditional writes of one object can both succeed and one
//! silently overwrites the other, which S3 never allows. The proxy forwards
//! conditional writes one at a time, so tests of concurrent deliveries test
//! the functions under S3's guarantee rather than moto's race.

use crate::Moto;
use anyhow::{bail, Context, Result};
use aws_config::{BehaviorVersion, Region};
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use trigger_aws::lambda::live_trigger;
use trigger_aws::{Config, S3Location};
use trigger_decision::Policy;
use trigger_engine::Trigger;

/// The SDK's per-attempt timeout for triggers behind the proxy. Short, so a
/// held connection fails in seconds; long enough that moto on a busy two-core
/// machine never hits it by itself (a spurious timeout would retry a start).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);

/// How long `Fault::Hang` holds a connection: past `ATTEMPT_TIMEOUT`.
pub const HANG: Duration = Duration::from_secs(4);

/// The ledger objects' path in the bucket, as S3 path-style requests name them.
pub const LEDGER_PATH: &str = "/retrain-ledger/ledger/state/";

/// Which requests a rule counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// A JSON-protocol call by its `X-Amz-Target`, e.g. `SageMaker.StartPipelineExecution`.
    Target(&'static str),
    /// An S3 `PutObject` under this path prefix, e.g. `LEDGER_PATH`.
    Put(&'static str),
    /// An S3 `GetObject` under this path prefix.
    Get(&'static str),
}

/// SageMaker's start call, the one that must happen exactly once.
pub const START: Match = Match::Target("SageMaker.StartPipelineExecution");
/// Listing executions, the first SageMaker call of a decision.
pub const LIST: Match = Match::Target("SageMaker.ListPipelineExecutions");
/// Reading the pipeline's declared parameters, just before the start.
pub const DESCRIBE: Match = Match::Target("SageMaker.DescribePipeline");
/// Writing a ledger object: the claim, the record of a start, kept evidence.
pub const LEDGER_PUT: Match = Match::Put(LEDGER_PATH);
/// Reading a ledger object.
pub const LEDGER_GET: Match = Match::Get(LEDGER_PATH);

/// What the proxy does instead of forwarding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answers this status (a 5xx, or 403 for S3's `AccessDenied`) with the protocol's error body; moto never sees the request.
    Status(u16),
    /// Answers SageMaker's `ThrottlingException` (HTTP 400, `x-amzn-ErrorType`); moto never sees it.
    Throttle,
    /// Answers S3's `412 PreconditionFailed`, as a lost conditional-write race does; nothing is written.
    PreconditionFailed,
    /// Holds the connection for `HANG`, past the SDK's attempt timeout, then drops it unanswered.
    Hang,
    /// Resets the connection (TCP RST) without answering; moto never sees the request.
    Reset,
    /// Forwards the request, so it takes effect in moto, then resets instead of answering.
    ForwardThenReset,
    /// Forwards the request, so it takes effect in moto, then answers 500 instead of moto's answer.
    ForwardThenStatus(u16),
    /// Forwards the request, then sends moto's answer cut off halfway through its body.
    TruncateBody,
}

/// One request the proxy saw, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub target: Option<String>,
    /// For `StartPipelineExecution`: the token and display name it carried.
    pub client_request_token: Option<String>,
    pub display_name: Option<String>,
    /// The fault applied, if any.
    pub fault: Option<Fault>,
}

impl Seen {
    pub fn matches(&self, matcher: Match) -> bool {
        match matcher {
            Match::Target(target) => self.target.as_deref() == Some(target),
            Match::Put(prefix) => self.method == "PUT" && self.path.starts_with(prefix),
            Match::Get(prefix) => self.method == "GET" && self.path.starts_with(prefix),
        }
    }
}

#[derive(Debug)]
struct Rule {
    matcher: Match,
    /// 1-based: the first matching request this rule fails.
    first: usize,
    /// How many matching requests, from `first` on, it fails.
    times: usize,
    fault: Fault,
    /// Matching requests seen so far.
    seen: usize,
}

#[derive(Debug, Default)]
struct Script {
    rules: Vec<Rule>,
    log: Vec<Seen>,
}

/// What every connection of one proxy shares.
#[derive(Debug, Default)]
struct Shared {
    script: Mutex<Script>,
    /// Held while a conditional write is forwarded: one at a time reaches moto.
    conditional_writes: tokio::sync::Mutex<()>,
}

/// The proxy; it stops when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    pub endpoint: String,
    shared: Arc<Shared>,
    accept_loop: JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a proxy in front of `moto` on a loopback port the kernel picks.
    pub async fn start(moto: &Moto) -> Result<FaultProxy> {
        let upstream: SocketAddr = moto
            .endpoint
            .trim_start_matches("http://")
            .parse()
            .with_context(|| format!("moto endpoint {}", moto.endpoint))?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let shared = Arc::new(Shared::default());
        let accepting = Arc::clone(&shared);
        let accept_loop = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let shared = Arc::clone(&accepting);
                tokio::spawn(async move {
                    // A failed exchange is the client's to notice; the proxy just moves on.
                    let _ = serve(client, upstream, &shared).await;
                });
            }
        });
        Ok(FaultProxy {
            endpoint,
            shared,
            accept_loop,
        })
    }

    /// Fails matching requests number `first` to `first + times - 1` (1-based,
    /// counted from when the rule is set) with `fault`.
    pub fn fail(&self, matcher: Match, first: usize, times: usize, fault: Fault) {
        self.lock().rules.push(Rule {
            matcher,
            first,
            times,
            fault,
            seen: 0,
        });
    }

    /// Every request seen so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.lock().log.clone()
    }

    /// The requests seen so far that match.
    pub fn seen_matching(&self, matcher: Match) -> Vec<Seen> {
        self.seen().into_iter().filter(|seen| seen.matches(matcher)).collect()
    }

    /// The live trigger with its SDK clients pointed at this proxy: the
    /// function as deployed, with `attempts` SDK attempts per call (2 in the
    /// other tests) of at most `ATTEMPT_TIMEOUT` each.
    pub async fn trigger(&self, policy: &str, attempts: u32) -> Result<Trigger> {
        self.trigger_with(policy, attempts, ATTEMPT_TIMEOUT).await
    }

    /// `trigger` with another attempt timeout, for load where moto answers slowly.
    pub async fn trigger_with(&self, policy: &str, attempts: u32, attempt_timeout: Duration) -> Result<Trigger> {
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "testing", "testing", None, None, "tests",
            ))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(2))
                    .operation_attempt_timeout(attempt_timeout)
                    .build(),
            )
            .retry_config(RetryConfig::standard().with_max_attempts(attempts))
            .load()
            .await;
        let config = Config {
            policy: Policy::from_toml(policy)?,
            ledger: S3Location::parse(crate::LEDGER).context("ledger URI")?,
            dry_run: false,
        };
        Ok(live_trigger(config, &sdk))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Script> {
        self.shared.script.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

/// One HTTP request as read off the wire.
#[derive(Debug)]
struct Request {
    method: String,
    path: String,
    /// Header names in lower case, values trimmed.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The request as bytes for moto, asking it to close the connection after answering.
    fn to_upstream_bytes(&self) -> Vec<u8> {
        let mut head = format!("{} {} HTTP/1.1\r\n", self.method, self.path);
        for (name, value) in &self.headers {
            if !matches!(name.as_str(), "connection" | "keep-alive" | "expect") {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
        }
        head.push_str("connection: close\r\n\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

/// Serves one client connection: one request, one answer (or a fault), then close.
async fn serve(mut client: TcpStream, upstream: SocketAddr, shared: &Shared) -> Result<()> {
    let Some(request) = read_request(&mut client).await? else {
        return Ok(());
    };
    let fault = record(&shared.script, &request);
    let pass_on = |request| forward(upstream, request, shared);
    match fault {
        None => {
            let answer = pass_on(&request).await?;
            client.write_all(&answer).await?;
        }
        Some(Fault::Status(status)) => client.write_all(&error_answer(&request, status)).await?,
        Some(Fault::Throttle) => client.write_all(&throttling_answer()).await?,
        Some(Fault::PreconditionFailed) => client.write_all(&error_answer(&request, 412)).await?,
        Some(Fault::Hang) => {
            tokio::time::sleep(HANG).await;
            return Ok(());
        }
        Some(Fault::Reset) => {
            client.set_zero_linger()?;
            return Ok(());
        }
        Some(Fault::ForwardThenReset) => {
            pass_on(&request).await?;
            client.set_zero_linger()?;
            return Ok(());
        }
        Some(Fault::ForwardThenStatus(status)) => {
            pass_on(&request).await?;
            client.write_all(&error_answer(&request, status)).await?;
        }
        Some(Fault::TruncateBody) => {
            let answer = pass_on(&request).await?;
            let body_start = find(&answer, b"\r\n\r\n").map_or(answer.len(), |end| end + 4);
            let cut = body_start + (answer.len() - body_start) / 2;
            client.write_all(&answer[..cut]).await?;
        }
    }
    client.shutdown().await?;
    Ok(())
}

/// Logs the request and returns the fault the first applicable rule calls for.
fn record(script: &Mutex<Script>, request: &Request) -> Option<Fault> {
    let mut script = script.lock().unwrap_or_else(PoisonError::into_inner);
    let target = request.header("x-amz-target").map(str::to_string);
    let start: Option<serde_json::Value> = (target.as_deref() == Some("SageMaker.StartPipelineExecution"))
        .then(|| serde_json::from_slice(&request.body).ok())
        .flatten();
    let field = |name: &str| {
        start
            .as_ref()
            .and_then(|body| body.get(name))
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
    };
    let mut seen = Seen {
        method: request.method.clone(),
        path: request.path.clone(),
        target,
        client_request_token: field("ClientRequestToken"),
        display_name: field("PipelineExecutionDisplayName"),
        fault: None,
    };
    for rule in &mut script.rules {
        if !seen.matches(rule.matcher) {
            continue;
        }
        rule.seen += 1;
        if seen.fault.is_none() && rule.seen >= rule.first && rule.seen < rule.first + rule.times {
            seen.fault = Some(rule.fault);
        }
    }
    let fault = seen.fault;
    script.log.push(seen);
    fault
}

/// Reads one request: the head, then a body of `Content-Length` bytes.
/// `None` when the client closed the connection without sending one.
async fn read_request(client: &mut TcpStream) -> Result<Option<Request>> {
    let mut buffer = Vec::new();
    let head_end = loop {
        if let Some(end) = find(&buffer, b"\r\n\r\n") {
            break end;
        }
        if buffer.len() > 64 * 1024 {
            bail!("request head over 64 KiB");
        }
        if read_some(client, &mut buffer).await? == 0 {
            return Ok(None);
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
    let mut body = buffer.split_off(head_end + 4);
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
        bail!("not an HTTP request line: {request_line:?}");
    };
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    let mut request = Request {
        method: method.to_string(),
        path: path.to_string(),
        headers,
        body: Vec::new(),
    };
    if request
        .header("expect")
        .is_some_and(|value| value.eq_ignore_ascii_case("100-continue"))
    {
        client.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
    }
    if request.header("transfer-encoding").is_some() {
        // The SDK sends every body these functions write (small, in memory) with a length.
        bail!("the test proxy reads only bodies with a Content-Length");
    }
    let length: usize = request
        .header("content-length")
        .map(str::parse)
        .transpose()
        .context("content-length")?
        .unwrap_or(0);
    while body.len() < length {
        if read_some(client, &mut body).await? == 0 {
            bail!("client closed inside the body");
        }
    }
    body.truncate(length);
    request.body = body;
    Ok(Some(request))
}

/// Sends the request to moto and returns its whole answer, with `Connection: close` in its head.
/// Conditional writes go one at a time (see the module comment).
async fn forward(upstream: SocketAddr, request: &Request, shared: &Shared) -> Result<Vec<u8>> {
    let conditional_write =
        request.method == "PUT" && (request.header("if-match").is_some() || request.header("if-none-match").is_some());
    let _one_at_a_time = match conditional_write {
        true => Some(shared.conditional_writes.lock().await),
        false => None,
    };
    let exchange = async {
        let mut moto = TcpStream::connect(upstream).await?;
        moto.write_all(&request.to_upstream_bytes()).await?;
        let mut answer = Vec::new();
        moto.read_to_end(&mut answer).await?;
        anyhow::Ok(answer)
    };
    let answer = tokio::time::timeout(Duration::from_secs(60), exchange)
        .await
        .context("moto did not answer within 60 s")??;
    let Some(head_end) = find(&answer, b"\r\n\r\n") else {
        bail!("moto's answer has no complete head");
    };
    let head = String::from_utf8_lossy(&answer[..head_end]);
    let mut rewritten: Vec<&str> = head
        .split("\r\n")
        .filter(|line| {
            let name = line.split(':').next().unwrap_or_default().trim();
            !name.eq_ignore_ascii_case("connection") && !name.eq_ignore_ascii_case("keep-alive")
        })
        .collect();
    rewritten.push("Connection: close");
    let mut bytes = rewritten.join("\r\n").into_bytes();
    bytes.extend_from_slice(&answer[head_end..]);
    Ok(bytes)
}

/// An error answer in the request's protocol: JSON for SageMaker (`X-Amz-Target`), XML for S3.
fn error_answer(request: &Request, status: u16) -> Vec<u8> {
    let (reason, code) = match status {
        403 => ("Forbidden", "AccessDenied"),
        412 => ("Precondition Failed", "PreconditionFailed"),
        500 => ("Internal Server Error", "InternalFailure"),
        503 => ("Service Unavailable", "ServiceUnavailable"),
        _ => ("Error", "InjectedFault"),
    };
    let message = format!("fault injected by the test proxy: {status} {reason}");
    if request.header("x-amz-target").is_some() {
        let body = serde_json::json!({"__type": code, "message": message}).to_string();
        answer(
            status,
            reason,
            "application/x-amz-json-1.1",
            &[("x-amzn-ErrorType", code)],
            &body,
        )
    } else {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
        );
        answer(status, reason, "application/xml", &[], &body)
    }
}

/// SageMaker's answer when a caller exceeds its request rate.
fn throttling_answer() -> Vec<u8> {
    answer(
        400,
        "Bad Request",
        "application/x-amz-json-1.1",
        &[("x-amzn-ErrorType", "ThrottlingException")],
        r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
    )
}

fn answer(status: u16, reason: &str, content_type: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nx-amzn-requestid: \
         injected-fault\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("connection: close\r\n\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body.as_bytes());
    bytes
}

async fn read_some(stream: &mut (impl AsyncRead + Unpin), buffer: &mut Vec<u8>) -> Result<usize> {
    let mut chunk = [0u8; 16 * 1024];
    let read = stream.read(&mut chunk).await?;
    buffer.extend_from_slice(&chunk[..read]);
    Ok(read)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}
