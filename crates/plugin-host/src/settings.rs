//! Operator settings beside a plugin: `<name>.toml` next to `<name>.wasm`.
//!
//! ```toml
//! # python.toml, next to python.wasm
//! [settings]
//! allow-modules = "sys, math"
//! disable-rules = "blocked-call"
//! ```
//!
//! The only top-level key is `settings`, a table of strings (lists are
//! comma-separated strings, as plugins read them). Anything else is refused
//! with a message naming the file and the key, so a typo never silently
//! leaves a rule as it was.

use std::path::{Path, PathBuf};

use crate::PluginError;

/// The settings file of the plugin at `wasm`: same folder, same stem, `.toml`.
pub fn settings_path(wasm: &Path) -> PathBuf {
    wasm.with_extension("toml")
}

/// Reads the settings beside `wasm`; no file means no settings. Keys come in
/// file order.
pub fn read_settings(wasm: &Path) -> Result<Vec<(String, String)>, PluginError> {
    let path = settings_path(wasm);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(settings_error(&path, format!("cannot read it: {e}"))),
    };
    parse_settings(&text).map_err(|reason| settings_error(&path, reason))
}

fn settings_error(path: &Path, reason: String) -> PluginError {
    PluginError::Settings {
        path: path.to_path_buf(),
        reason,
    }
}

/// Parses a settings file; `Err` is a one-line reason.
pub(crate) fn parse_settings(text: &str) -> Result<Vec<(String, String)>, String> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| format!("not valid TOML: {}", e.message().trim()))?;
    let mut settings = Vec::new();
    for (key, value) in table {
        if key != "settings" {
            return Err(format!(
                "unknown top-level key `{key}` (the only one allowed is the [settings] table)"
            ));
        }
        let toml::Value::Table(entries) = value else {
            return Err(
                "`settings` must be a table: write [settings] and key = \"value\" lines below it"
                    .into(),
            );
        };
        for (name, value) in entries {
            let toml::Value::String(text) = value else {
                return Err(format!(
                    "setting `{name}` must be a string, not {} (write {name} = \"...\"; lists are comma-separated strings)",
                    value.type_str()
                ));
            };
            settings.push((name, text));
        }
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_under_settings_are_read_in_order() {
        let got = parse_settings(
            "# comment\n[settings]\nallow-modules = \"sys, math\"\ndisable-rules = \"blocked-call\"\n",
        )
        .unwrap();
        assert_eq!(
            got,
            vec![
                ("allow-modules".to_string(), "sys, math".to_string()),
                ("disable-rules".to_string(), "blocked-call".to_string()),
            ]
        );
        assert!(parse_settings("").unwrap().is_empty());
    }

    #[test]
    fn unknown_keys_and_non_strings_are_refused_with_the_reason() {
        let err = parse_settings("allow-modules = \"sys\"\n").unwrap_err();
        assert!(
            err.contains("unknown top-level key `allow-modules`"),
            "{err}"
        );
        let err = parse_settings("[settings]\ndisable-rules = [\"a\", \"b\"]\n").unwrap_err();
        assert!(
            err.contains("setting `disable-rules` must be a string, not array"),
            "{err}"
        );
        let err = parse_settings("[settings]\nmax = 3\n").unwrap_err();
        assert!(err.contains("must be a string, not integer"), "{err}");
        let err = parse_settings("settings = \"x\"\n").unwrap_err();
        assert!(err.contains("must be a table"), "{err}");
        let err = parse_settings("[settings\n").unwrap_err();
        assert!(err.starts_with("not valid TOML"), "{err}");
    }

    #[test]
    fn a_missing_file_is_no_settings_and_a_bad_one_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let wasm = dir.path().join("python.wasm");
        assert!(read_settings(&wasm).unwrap().is_empty());
        std::fs::write(dir.path().join("python.toml"), "[setting]\n").unwrap();
        let err = read_settings(&wasm).unwrap_err().to_string();
        assert!(err.contains("python.toml"), "{err}");
        assert!(err.contains("unknown top-level key `setting`"), "{err}");
    }
}
