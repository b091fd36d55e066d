//! Where things are in S3: a bucket and prefix (`s3://bucket/prefix`, the
//! ledger) or one object (`s3://bucket/key`, the policy).

/// A location `s3://bucket/prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    pub prefix: String,
}

impl S3Location {
    pub fn parse(uri: &str) -> Option<S3Location> {
        let rest = uri.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return None;
        }
        Some(S3Location {
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
        })
    }

    pub fn key(&self, relative: &str) -> String {
        if self.prefix.is_empty() {
            relative.to_string()
        } else {
            format!("{}/{relative}", self.prefix)
        }
    }

    /// The object at `relative` under this location.
    pub fn object(&self, relative: &str) -> S3Object {
        S3Object {
            bucket: self.bucket.clone(),
            key: self.key(relative),
        }
    }
}

/// An S3 object named by `s3://bucket/key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Object {
    pub bucket: String,
    pub key: String,
}

impl S3Object {
    pub fn parse(uri: &str) -> Option<S3Object> {
        let (bucket, key) = uri.strip_prefix("s3://")?.split_once('/')?;
        (!bucket.is_empty() && !key.is_empty()).then(|| S3Object {
            bucket: bucket.to_string(),
            key: key.to_string(),
        })
    }
}

impl std::fmt::Display for S3Object {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ledger_uris_parse() {
        let check = |uri: &str, expected: Option<(&str, &str)>| {
            let parsed = S3Location::parse(uri);
            assert_eq!(
                parsed.as_ref().map(|l| (l.bucket.as_str(), l.prefix.as_str())),
                expected,
                "{uri}"
            );
        };
        check("s3://bucket/ledger", Some(("bucket", "ledger")));
        check("s3://bucket/a/b/", Some(("bucket", "a/b")));
        check("s3://bucket", Some(("bucket", "")));
        check("s3:///x", None);
        check("https://bucket/x", None);
        assert_eq!(S3Location::parse("s3://b").unwrap().key("state/m.json"), "state/m.json");
        assert_eq!(
            S3Location::parse("s3://bucket/ledger")
                .unwrap()
                .object("state/m.json")
                .to_string(),
            "s3://bucket/ledger/state/m.json"
        );
    }
}
