//! The `filters` query parameter of Docker's list endpoints, parsed and checked: a JSON
//! object from filter key to values, in either of the two encodings clients send
//! (`{"label":{"a=b":true}}`, the CLI's, and `{"label":["a=b"]}`, older SDKs'). Values of one
//! key are alternatives (any may match); keys must all match, as in dockerd's
//! `filters.Args`. A key the endpoint does not know is refused (`invalid filter 'x'`, as
//! dockerd says it), never ignored.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::{Error, Result};

/// A parsed `filters` parameter: each key with its values.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Filters {
    by_key: BTreeMap<String, Vec<String>>,
}

impl Filters {
    /// Parses `text` (absent or empty: no filter) for an endpoint that knows the keys in
    /// `accepted`; a key outside them, or a value that is neither encoding, is a 400.
    pub fn parse(text: Option<&str>, accepted: &[&str]) -> Result<Filters> {
        let text = text.unwrap_or_default();
        if text.is_empty() {
            return Ok(Filters::default());
        }
        let object: serde_json::Map<String, Value> = serde_json::from_str(text)
            .map_err(|e| Error::Invalid(format!("filters {text:?}: {e}")))?;
        let mut by_key = BTreeMap::new();
        for (key, value) in object {
            let values: Vec<String> = match value {
                Value::Object(set) => set
                    .into_iter()
                    .filter(|(_, on)| on.as_bool() != Some(false))
                    .map(|(v, _)| v)
                    .collect(),
                Value::Array(list) => list
                    .into_iter()
                    .map(|v| match v {
                        Value::String(s) => Ok(s),
                        other => Err(Error::Invalid(format!(
                            "filters: the values of {key:?} must be strings (got {other})"
                        ))),
                    })
                    .collect::<Result<_>>()?,
                other => {
                    return Err(Error::Invalid(format!(
                        "filters: the value of {key:?} must be an object or a list (got {other})"
                    )))
                }
            };
            if values.is_empty() {
                continue;
            }
            if !accepted.contains(&key.as_str()) {
                return Err(Error::Invalid(format!("invalid filter '{key}'")));
            }
            by_key.insert(key, values);
        }
        Ok(Filters { by_key })
    }

    /// Whether no key has a value.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// The values given for `key` (none when it is not filtered on).
    pub fn values(&self, key: &str) -> &[String] {
        self.by_key.get(key).map_or(&[], Vec::as_slice)
    }

    /// Whether `key` passes: it has no value, or `matches` holds for one of its values.
    pub fn any(&self, key: &str, matches: impl Fn(&str) -> bool) -> bool {
        let values = self.values(key);
        values.is_empty() || values.iter().any(|v| matches(v))
    }

    /// Whether `labels` pass the `key` filter (`label`, or `label!` where an endpoint has
    /// it): every value must hold, `k` meaning the label is present and `k=v` that it has
    /// that value, as dockerd's `MatchKVList`.
    pub fn labels(&self, key: &str, labels: &BTreeMap<String, String>) -> bool {
        self.values(key)
            .iter()
            .all(|wanted| match wanted.split_once('=') {
                Some((k, v)) => labels.get(k).is_some_and(|have| have == v),
                None => labels.contains_key(wanted.as_str()),
            })
    }

    /// The boolean value of `key` (`dangling=true`): none when absent; a 400 for a value
    /// that is not `true`/`false`/`1`/`0`, or for both at once.
    pub fn boolean(&self, key: &str) -> Result<Option<bool>> {
        let mut answer = None;
        for v in self.values(key) {
            let b = match v.as_str() {
                "true" | "1" => true,
                "false" | "0" => false,
                other => {
                    return Err(Error::Invalid(format!(
                        "invalid filter '{key}={other}': expected true or false"
                    )))
                }
            };
            if answer.is_some_and(|a| a != b) {
                return Err(Error::Invalid(format!(
                    "invalid filter '{key}': both true and false given"
                )));
            }
            answer = Some(b);
        }
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_encodings_parse_alike() {
        let cli = Filters::parse(
            Some(r#"{"label":{"a=b":true},"name":{"web":true}}"#),
            &["label", "name"],
        )
        .unwrap();
        let sdk = Filters::parse(
            Some(r#"{"label":["a=b"],"name":["web"]}"#),
            &["label", "name"],
        )
        .unwrap();
        assert_eq!(cli, sdk);
        assert_eq!(cli.values("name"), ["web"]);
    }

    #[test]
    fn unknown_keys_are_refused_and_empty_ones_are_nothing() {
        let err = Filters::parse(Some(r#"{"colour":{"red":true}}"#), &["label"]).unwrap_err();
        assert_eq!(err.to_string(), "invalid filter 'colour'");
        assert!(Filters::parse(Some(r#"{"colour":{}}"#), &["label"])
            .unwrap()
            .is_empty());
        assert!(Filters::parse(None, &[]).unwrap().is_empty());
        assert!(Filters::parse(Some("[1]"), &[]).is_err());
        assert!(Filters::parse(Some(r#"{"label":[1]}"#), &["label"]).is_err());
    }

    #[test]
    fn labels_all_match_and_values_of_a_key_are_alternatives() {
        let f = Filters::parse(
            Some(r#"{"label":["a","b=2"],"name":["x","y"]}"#),
            &["label", "name"],
        )
        .unwrap();
        let labels = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>()
        };
        assert!(f.labels("label", &labels(&[("a", ""), ("b", "2")])));
        assert!(!f.labels("label", &labels(&[("a", ""), ("b", "3")])));
        assert!(!f.labels("label", &labels(&[("b", "2")])));
        assert!(f.any("name", |n| n == "y"));
        assert!(!f.any("name", |n| n == "z"));
        assert!(f.any("id", |_| false), "an absent key passes");
    }

    #[test]
    fn booleans() {
        let f = |t: &str| Filters::parse(Some(t), &["dangling"]).unwrap();
        assert_eq!(
            f(r#"{"dangling":["true"]}"#).boolean("dangling").unwrap(),
            Some(true)
        );
        assert_eq!(
            f(r#"{"dangling":["0"]}"#).boolean("dangling").unwrap(),
            Some(false)
        );
        assert_eq!(f("{}").boolean("dangling").unwrap(), None);
        assert!(f(r#"{"dangling":["maybe"]}"#).boolean("dangling").is_err());
        assert!(f(r#"{"dangling":["true","false"]}"#)
            .boolean("dangling")
            .is_err());
    }
}
