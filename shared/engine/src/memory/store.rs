//! SageMaker Pipelines in memory, as the engine sees them through
//! `PipelineStore`: declared pipelines, executions with states a test or a
//! replay moves along the clock, at most one execution per
//! `ClientRequestToken` (as SageMaker, unlike moto), and scripted failures.

use crate::clock::Clock;
use crate::error::TriggerError;
use crate::store::{ListedExecution, PipelineStore};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use trigger_decision::{ExecutionStatus, RequestToken, Span, StartRequest, Timestamp};

/// A call of the store, for scripting failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreCall {
    /// `recent_executions` (ListPipelineExecutions).
    List,
    /// `declared_parameters` (DescribePipeline).
    Describe,
    /// `start` (StartPipelineExecution).
    Start,
}

/// How a scripted call fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreFault {
    /// Throttled or 5xx after the SDK's retries: `Transient`, and nothing happens.
    Transient,
    /// Refused (a missing pipeline, access denied): `Misconfigured`, and nothing happens.
    Refused,
    /// The call takes effect, then its answer is lost: `Transient`.
    AnswerLost,
}

#[derive(Debug)]
struct StoreRule {
    call: StoreCall,
    first: usize,
    times: usize,
    fault: StoreFault,
    seen: usize,
}

/// One execution, as the store keeps it.
#[derive(Debug, Clone)]
struct Run {
    pipeline: String,
    arn: String,
    display_name: Option<String>,
    token: Option<RequestToken>,
    /// When it entered the listing; `recent_executions` filters on this, as SageMaker's `CreatedAfter`.
    created_at: Timestamp,
    started_at: Option<Timestamp>,
    status: ExecutionStatus,
    /// When the execution ends and with which status; until then it has `status`.
    ends: Option<(Timestamp, ExecutionStatus)>,
}

impl Run {
    fn listed(&self, now: Timestamp) -> ListedExecution {
        let status = match &self.ends {
            Some((at, status)) if *at <= now => status.clone(),
            _ => self.status.clone(),
        };
        ListedExecution {
            arn: self.arn.clone(),
            status,
            started_at: self.started_at,
            display_name: self.display_name.clone(),
        }
    }
}

#[derive(Debug, Default)]
struct Pipelines {
    /// Declared parameter names, by pipeline. A pipeline not here does not exist.
    declared: HashMap<String, Vec<String>>,
    /// How long an execution started through `start` runs, by pipeline; absent: it succeeds at once, like moto's.
    durations: HashMap<String, Span>,
    runs: Vec<Run>,
    /// Every start request received, in order, repeated ones included.
    requests: Vec<StartRequest>,
    /// Scripted failures of calls `first..first + times` of a kind (1-based,
    /// counted from when each was scripted), and how many of that kind each has seen.
    rules: Vec<StoreRule>,
    /// Calls received, by kind.
    calls: HashMap<StoreCall, usize>,
}

/// SageMaker Pipelines in memory.
#[derive(Debug)]
pub struct MemoryStore {
    clock: Arc<dyn Clock>,
    pipelines: Mutex<Pipelines>,
}

impl MemoryStore {
    /// An empty store: no pipeline exists until it is declared.
    pub fn new(clock: Arc<dyn Clock>) -> MemoryStore {
        MemoryStore {
            clock,
            pipelines: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Pipelines> {
        self.pipelines.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Creates `pipeline` (or redefines it) declaring these parameter names.
    pub fn declare(&self, pipeline: &str, parameters: &[&str]) {
        let names = parameters.iter().map(|name| name.to_string()).collect();
        self.lock().declared.insert(pipeline.to_string(), names);
    }

    /// Executions of `pipeline` started from now on run for `duration` (`Executing`), then succeed.
    pub fn set_duration(&self, pipeline: &str, duration: Span) {
        self.lock().durations.insert(pipeline.to_string(), duration);
    }

    /// Adds an execution someone else started, listed from its start time
    /// (or from now, when it has none). Returns its ARN.
    pub fn add_execution(&self, pipeline: &str, status: ExecutionStatus, started_at: Option<Timestamp>) -> String {
        let now = self.clock.now();
        let mut pipelines = self.lock();
        let arn = execution_arn(pipeline, pipelines.runs.len());
        pipelines.runs.push(Run {
            pipeline: pipeline.to_string(),
            arn: arn.clone(),
            display_name: None,
            token: None,
            created_at: started_at.unwrap_or(now),
            started_at,
            status,
            ends: None,
        });
        arn
    }

    /// Sets an execution's status from now on.
    pub fn set_status(&self, arn: &str, status: ExecutionStatus) {
        if let Some(run) = self.lock().runs.iter_mut().find(|run| run.arn == arn) {
            run.status = status;
            run.ends = None;
        }
    }

    /// Ends an execution at `at` with `status`; until then it keeps its status.
    pub fn finish_at(&self, arn: &str, at: Timestamp, status: ExecutionStatus) {
        if let Some(run) = self.lock().runs.iter_mut().find(|run| run.arn == arn) {
            run.ends = Some((at, status));
        }
    }

    /// Fails calls of kind `call` number `first` to `first + times - 1`
    /// (1-based, counted from now) with `fault`.
    pub fn fail(&self, call: StoreCall, first: usize, times: usize, fault: StoreFault) {
        self.lock().rules.push(StoreRule {
            call,
            first,
            times,
            fault,
            seen: 0,
        });
    }

    /// Every execution of `pipeline`, as a listing would show it now.
    pub fn executions(&self, pipeline: &str) -> Vec<ListedExecution> {
        let now = self.clock.now();
        self.lock()
            .runs
            .iter()
            .filter(|run| run.pipeline == pipeline)
            .map(|run| run.listed(now))
            .collect()
    }

    /// How many executions `start` created, across pipelines (repeats of a token create none).
    pub fn starts(&self) -> usize {
        self.lock().runs.iter().filter(|run| run.token.is_some()).count()
    }

    /// Every start request received, in order, repeated ones included.
    pub fn start_requests(&self) -> Vec<StartRequest> {
        self.lock().requests.clone()
    }

    /// How many calls of kind `call` the store received.
    pub fn calls(&self, call: StoreCall) -> usize {
        self.lock().calls.get(&call).copied().unwrap_or(0)
    }

    /// Counts the call and takes the failure scripted for it, if any.
    fn begin(&self, call: StoreCall) -> Option<StoreFault> {
        let mut pipelines = self.lock();
        *pipelines.calls.entry(call).or_default() += 1;
        let mut found = None;
        for rule in pipelines.rules.iter_mut().filter(|rule| rule.call == call) {
            rule.seen += 1;
            if found.is_none() && rule.seen >= rule.first && rule.seen < rule.first + rule.times {
                found = Some(rule.fault);
            }
        }
        found
    }

    fn exists(&self, pipeline: &str, operation: &str) -> Result<(), TriggerError> {
        if self.lock().declared.contains_key(pipeline) {
            return Ok(());
        }
        Err(TriggerError::misconfigured(
            format!("SageMaker {operation} {pipeline}"),
            format!("ResourceNotFound: pipeline {pipeline} does not exist"),
            None,
        ))
    }

    /// Starts (or, for a token already used, finds) the execution.
    fn start_now(&self, request: &StartRequest) -> String {
        let now = self.clock.now();
        let mut pipelines = self.lock();
        pipelines.requests.push(request.clone());
        let repeated = pipelines
            .runs
            .iter()
            .find(|run| run.pipeline == request.pipeline && run.token.as_ref() == Some(&request.client_request_token));
        if let Some(run) = repeated {
            return run.arn.clone();
        }
        let arn = execution_arn(&request.pipeline, pipelines.runs.len());
        let (status, ends) = match pipelines.durations.get(&request.pipeline) {
            Some(duration) => (
                ExecutionStatus::Executing,
                Some((now.plus(*duration), ExecutionStatus::Succeeded)),
            ),
            None => (ExecutionStatus::Succeeded, None),
        };
        pipelines.runs.push(Run {
            pipeline: request.pipeline.clone(),
            arn: arn.clone(),
            display_name: Some(request.display_name.clone()),
            token: Some(request.client_request_token.clone()),
            created_at: now,
            started_at: Some(now),
            status,
            ends,
        });
        arn
    }
}

fn execution_arn(pipeline: &str, index: usize) -> String {
    format!("arn:aws:sagemaker:us-east-1:123456789012:pipeline/{pipeline}/execution/{index:012}")
}

/// The error a scripted failure gives for `operation`.
fn failure(operation: String, fault: StoreFault) -> TriggerError {
    match fault {
        StoreFault::Transient => TriggerError::transient(operation, "ThrottlingException: Rate exceeded"),
        StoreFault::AnswerLost => TriggerError::transient(operation, "connection reset before the answer arrived"),
        StoreFault::Refused => TriggerError::misconfigured(operation, "AccessDeniedException: not authorized", None),
    }
}

#[async_trait]
impl PipelineStore for MemoryStore {
    async fn recent_executions(&self, pipeline: &str, since: Timestamp) -> Result<Vec<ListedExecution>, TriggerError> {
        let operation = format!("SageMaker ListPipelineExecutions {pipeline}");
        let fault = self.begin(StoreCall::List);
        self.exists(pipeline, "ListPipelineExecutions")?;
        if let Some(fault) = fault {
            return Err(failure(operation, fault));
        }
        let now = self.clock.now();
        let pipelines = self.lock();
        let mut listed: Vec<&Run> = pipelines
            .runs
            .iter()
            .filter(|run| run.pipeline == pipeline && run.created_at >= since)
            .collect();
        // Newest first, as the SDK store asks SageMaker for them.
        listed.sort_by_key(|run| std::cmp::Reverse(run.created_at));
        Ok(listed.into_iter().map(|run| run.listed(now)).collect())
    }

    async fn declared_parameters(&self, pipeline: &str) -> Result<Vec<String>, TriggerError> {
        let fault = self.begin(StoreCall::Describe);
        self.exists(pipeline, "DescribePipeline")?;
        if let Some(fault) = fault {
            return Err(failure(format!("SageMaker DescribePipeline {pipeline}"), fault));
        }
        Ok(self.lock().declared.get(pipeline).cloned().unwrap_or_default())
    }

    async fn start(&self, request: &StartRequest) -> Result<String, TriggerError> {
        let operation = format!("SageMaker StartPipelineExecution {}", request.pipeline);
        let fault = self.begin(StoreCall::Start);
        self.exists(&request.pipeline, "StartPipelineExecution")?;
        match fault {
            None => Ok(self.start_now(request)),
            Some(StoreFault::AnswerLost) => {
                self.start_now(request);
                Err(failure(operation, StoreFault::AnswerLost))
            }
            Some(fault) => Err(failure(operation, fault)),
        }
    }
}
