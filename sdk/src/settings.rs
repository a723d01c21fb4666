//! Operator settings as a plugin reads them.

use crate::Setting;

/// The operator's settings for a language (`key = value` pairs from the
/// host's configuration), with helpers for the common shapes.
///
/// Keys are the plugin's own, except `disable-rules` (a comma-separated list
/// of rule ids that [`crate::rules::RuleSet`] skips).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    list: Vec<Setting>,
}

impl Settings {
    /// Settings from the host's list. When a key appears twice, the last one
    /// wins (later configuration overrides earlier).
    pub fn new(list: Vec<Setting>) -> Self {
        Self { list }
    }

    /// Convenience for tests: settings from `(key, value)` pairs.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Self::new(
            pairs
                .iter()
                .map(|(k, v)| Setting {
                    key: (*k).to_string(),
                    value: (*v).to_string(),
                })
                .collect(),
        )
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.list
            .iter()
            .rev()
            .find(|s| s.key == key)
            .map(|s| s.value.as_str())
    }

    /// The value of `key` as a comma-separated list: parts trimmed, empty
    /// parts dropped; empty when unset.
    pub fn list(&self, key: &str) -> Vec<&str> {
        self.get(key)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether the operator disabled rule `rule_id` (setting `disable-rules`).
    pub fn is_rule_disabled(&self, rule_id: &str) -> bool {
        self.list("disable-rules").contains(&rule_id)
    }

    /// All settings as the host passed them.
    pub fn all(&self) -> &[Setting] {
        &self.list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_list_and_disabled_rules() {
        let s = Settings::from_pairs(&[
            ("allow-modules", " sys, ,math ,"),
            ("disable-rules", "blocked-call"),
            ("x", "1"),
            ("x", "2"),
        ]);
        assert_eq!(s.get("x"), Some("2"));
        assert_eq!(s.get("missing"), None);
        assert_eq!(s.list("allow-modules"), vec!["sys", "math"]);
        assert!(s.list("missing").is_empty());
        assert!(s.is_rule_disabled("blocked-call"));
        assert!(!s.is_rule_disabled("blocked-import"));
    }
}
