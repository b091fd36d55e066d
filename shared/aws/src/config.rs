//! Cold-start configuration from the environment: the policy, the ledger
//! location and dry-run. Read once; any problem fails the cold start.

use crate::location::S3Location;
use trigger_decision::Policy;
use trigger_engine::TriggerError;

/// The function's configuration after validation.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub policy: Policy,
    pub ledger: S3Location,
    pub dry_run: bool,
}

impl Config {
    /// Reads `RETRAIN_POLICY` or `RETRAIN_POLICY_FILE`, `RETRAIN_LEDGER` and
    /// `RETRAIN_DRY_RUN` through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, TriggerError> {
        let set = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let policy_text = match (set("RETRAIN_POLICY"), set("RETRAIN_POLICY_FILE")) {
            (Some(_), Some(_)) => {
                return Err(TriggerError::Config(
                    "both RETRAIN_POLICY and RETRAIN_POLICY_FILE are set; set only one".to_string(),
                ))
            }
            (Some(inline), None) => inline,
            (None, Some(path)) => std::fs::read_to_string(&path)
                .map_err(|error| TriggerError::Config(format!("RETRAIN_POLICY_FILE={path} cannot be read: {error}")))?,
            (None, None) => {
                return Err(TriggerError::Config(
                    "no policy: set RETRAIN_POLICY to inline TOML, RETRAIN_POLICY_FILE to a path, or \
                     RETRAIN_POLICY_URI to s3://bucket/key"
                        .to_string(),
                ))
            }
        };
        let policy = Policy::from_toml(&policy_text).map_err(|error| TriggerError::Config(error.to_string()))?;
        Config::with_policy(policy, lookup)
    }

    /// The rest of the configuration (`RETRAIN_LEDGER`, `RETRAIN_DRY_RUN`) around
    /// a policy loaded elsewhere, such as from `RETRAIN_POLICY_URI`.
    pub fn with_policy(policy: Policy, lookup: impl Fn(&str) -> Option<String>) -> Result<Config, TriggerError> {
        let set = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let ledger_uri = set("RETRAIN_LEDGER").ok_or_else(|| {
            TriggerError::Config("RETRAIN_LEDGER is not set; set it to s3://bucket/prefix".to_string())
        })?;
        let ledger = S3Location::parse(&ledger_uri).ok_or_else(|| {
            TriggerError::Config(format!(
                "RETRAIN_LEDGER={ledger_uri} is not an S3 URI; use s3://bucket/prefix"
            ))
        })?;
        let dry_run = match set("RETRAIN_DRY_RUN")
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("false" | "0" | "no") => false,
            Some("true" | "1" | "yes") => true,
            Some(other) => {
                return Err(TriggerError::Config(format!(
                    "RETRAIN_DRY_RUN={other} is not a boolean; use true or false"
                )))
            }
        };
        Ok(Config {
            policy,
            ledger,
            dry_run,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const POLICY: &str = "[[model]]\nname = \"m\"\npipeline = \"p\"\nalarms = [\"a\"]\n";

    fn load(pairs: &[(&str, &str)]) -> Result<Config, String> {
        let env: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|name| env.get(name).cloned()).map_err(|error| error.to_string())
    }

    #[test]
    fn a_complete_environment_loads() {
        let config = load(&[
            ("RETRAIN_POLICY", POLICY),
            ("RETRAIN_LEDGER", "s3://b/l"),
            ("RETRAIN_DRY_RUN", "TRUE"),
        ])
        .unwrap();
        assert_eq!(config.policy.models[0].pipeline, "p");
        assert_eq!(
            config.ledger,
            S3Location {
                bucket: "b".into(),
                prefix: "l".into()
            }
        );
        assert!(config.dry_run);
    }

    #[test]
    fn the_policy_may_come_from_a_file() {
        let path = std::env::temp_dir().join(format!("retrain-policy-{}.toml", std::process::id()));
        std::fs::write(&path, POLICY).unwrap();
        let config = load(&[
            ("RETRAIN_POLICY_FILE", path.to_str().unwrap()),
            ("RETRAIN_LEDGER", "s3://b"),
        ])
        .unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(config.policy.models[0].name, "m");
        assert!(!config.dry_run);
    }

    #[test]
    fn each_misconfiguration_is_named() {
        let check = |pairs: &[(&str, &str)], fragment: &str| {
            let error = load(pairs).unwrap_err();
            assert!(error.contains(fragment), "{error:?} lacks {fragment:?}");
        };
        check(&[("RETRAIN_LEDGER", "s3://b")], "no policy");
        check(
            &[
                ("RETRAIN_POLICY", POLICY),
                ("RETRAIN_POLICY_FILE", "/x"),
                ("RETRAIN_LEDGER", "s3://b"),
            ],
            "only one",
        );
        check(
            &[
                ("RETRAIN_POLICY_FILE", "/nonexistent/policy.toml"),
                ("RETRAIN_LEDGER", "s3://b"),
            ],
            "/nonexistent/policy.toml",
        );
        check(&[("RETRAIN_POLICY", POLICY)], "RETRAIN_LEDGER is not set");
        check(
            &[("RETRAIN_POLICY", POLICY), ("RETRAIN_LEDGER", "bucket/x")],
            "not an S3 URI",
        );
        check(
            &[
                ("RETRAIN_POLICY", POLICY),
                ("RETRAIN_LEDGER", "s3://b"),
                ("RETRAIN_DRY_RUN", "maybe"),
            ],
            "RETRAIN_DRY_RUN",
        );
        check(
            &[
                (
                    "RETRAIN_POLICY",
                    "[[model]]\nname = \"m\"\npipeline = \"p\"\ncooldown = \"x\"",
                ),
                ("RETRAIN_LEDGER", "s3://b"),
            ],
            "model \"m\"",
        );
    }
}
