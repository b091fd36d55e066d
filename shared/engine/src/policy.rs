//! The policy in force, behind a trait: fixed at cold start, or (in
//! `trigger-aws`) an S3 object re-read when it changes. The engine asks for
//! a refresh before each signal and decides under the policy it then gets.

use async_trait::async_trait;
use std::sync::Arc;
use trigger_decision::Policy;

/// What a refresh did.
#[derive(Debug, Clone, PartialEq)]
pub enum Refresh {
    /// Fixed policy, or checked less than an interval ago.
    NotDue,
    Unchanged,
    Reloaded,
    /// The new version does not parse (or could not be read); the last good policy stays.
    KeptLastGood(String),
}

/// Where the policy in force comes from.
#[async_trait]
pub trait PolicySource: Send + Sync + std::fmt::Debug {
    /// The policy in force now.
    fn current(&self) -> Arc<Policy>;

    /// Re-reads the policy if it may have changed. Never fails: a problem keeps
    /// the last good policy and is reported in the answer (and the logs).
    async fn refresh(&self) -> Refresh;
}

/// A policy read once, at cold start, and never again.
#[derive(Debug, Clone)]
pub struct FixedPolicy(Arc<Policy>);

impl FixedPolicy {
    pub fn new(policy: Policy) -> FixedPolicy {
        FixedPolicy(Arc::new(policy))
    }
}

#[async_trait]
impl PolicySource for FixedPolicy {
    fn current(&self) -> Arc<Policy> {
        Arc::clone(&self.0)
    }

    async fn refresh(&self) -> Refresh {
        Refresh::NotDue
    }
}
