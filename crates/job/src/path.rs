//! The one path rule, and the files a client sends beside its source.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Longest path inside a job directory, in bytes.
pub const MAX_PATH_BYTES: usize = 1024;

/// A path that stays inside the job directory: relative, made only of plain
/// names (no `.`, `..` or empty component), no backslash, no NUL, no leading
/// `~`, at most [`MAX_PATH_BYTES`].
///
/// The one rule for every path that enters a job: a client's extra files,
/// a plugin's plan files and artifacts, and what the sandbox writes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RelPath(String);

/// Why a path is not a [`RelPath`]; its `Display` is `"<path> <why>"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path:?} {why}")]
pub struct BadPath {
    /// The path refused.
    pub path: String,
    /// Why, as a phrase: `"is absolute"`, "contains `..`", ...
    pub why: &'static str,
}

impl RelPath {
    /// Checks `path` against the rule.
    pub fn new(path: impl Into<String>) -> Result<RelPath, BadPath> {
        let path = path.into();
        match why_bad(&path) {
            None => Ok(RelPath(path)),
            Some(why) => Err(BadPath { path, why }),
        }
    }

    /// Checks `path` without keeping it.
    pub fn check(path: &str) -> Result<(), BadPath> {
        match why_bad(path) {
            None => Ok(()),
            Some(why) => Err(BadPath {
                path: path.to_owned(),
                why,
            }),
        }
    }

    /// The path's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path, to join onto a job directory.
    pub fn as_path(&self) -> &Path {
        Path::new(&self.0)
    }
}

impl fmt::Display for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn why_bad(path: &str) -> Option<&'static str> {
    let parts = || path.split('/');
    if path.is_empty() {
        Some("is empty")
    } else if path.len() > MAX_PATH_BYTES {
        Some("is too long")
    } else if path.starts_with('/') || path.starts_with('~') {
        Some("is absolute")
    } else if path.contains('\0') {
        Some("contains a NUL byte")
    } else if path.contains('\\') {
        Some("contains a backslash")
    } else if parts().any(|p| p == "..") {
        Some("contains `..`")
    } else if parts().any(|p| p.is_empty() || p == ".") {
        Some("has an empty or `.` component")
    } else {
        None
    }
}

/// Two relative paths that cannot both be written as files: equal, or one
/// the parent directory of the other.
pub fn paths_clash(a: &str, b: &str) -> bool {
    let under = |inner: &str, outer: &str| {
        inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.starts_with('/'))
    };
    a == b || under(a, b) || under(b, a)
}

/// A file the client sends along with the main source: written into the job
/// directory under `name` before any step. Content is UTF-8 text (what the
/// sandbox writes); gateways refuse binary content.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ExtraFile {
    /// Path relative to the job directory (see [`ExtraFile::check_name`]).
    pub name: String,
    /// The file's text.
    pub content: String,
}

impl ExtraFile {
    /// Refuses a name that is not a [`RelPath`], with a message for the
    /// client. The gateway and the worker apply the same rule.
    pub fn check_name(name: &str) -> Result<(), String> {
        RelPath::check(name).map_err(|e| {
            format!(
                "file name {name:?} is not allowed: it must be a relative path that stays inside the job directory ({})",
                e.why
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_file_names_stay_inside() {
        for ok in ["main.py", "src/helper.h", "a.b.c", "..x", "x.."] {
            assert!(ExtraFile::check_name(ok).is_ok(), "{ok}");
        }
        let long = "a".repeat(MAX_PATH_BYTES + 1);
        for bad in [
            "",
            "../x",
            "/etc/x",
            "a/../../x",
            "~/x",
            "a\\b",
            "a//b",
            "a/",
            "./a",
            "a/./b",
            "..",
            "a\0b",
            &long,
        ] {
            assert!(ExtraFile::check_name(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn plain_relative_paths_pass() {
        for ok in [
            "main.py",
            "src/main.rs",
            "inc/a.h",
            ".hidden",
            "a..b",
            "x y",
        ] {
            assert!(RelPath::new(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn paths_that_could_leave_the_job_directory_are_refused() {
        let long = "a".repeat(MAX_PATH_BYTES + 1);
        for (bad, why) in [
            ("", "is empty"),
            (long.as_str(), "is too long"),
            ("/etc/passwd", "is absolute"),
            ("~/x", "is absolute"),
            ("x\0y", "contains a NUL byte"),
            ("a\\b", "contains a backslash"),
            ("../x", "contains `..`"),
            ("a/../../b", "contains `..`"),
            ("a/..", "contains `..`"),
            ("..", "contains `..`"),
            ("./a", "has an empty or `.` component"),
            ("a//b", "has an empty or `.` component"),
            ("a/", "has an empty or `.` component"),
            (".", "has an empty or `.` component"),
        ] {
            let err = RelPath::new(bad).unwrap_err();
            assert_eq!(err.why, why, "{bad:?}");
        }
        assert_eq!(
            RelPath::check("../evil").unwrap_err().to_string(),
            "\"../evil\" contains `..`"
        );
    }

    #[test]
    fn clashing_paths() {
        assert!(paths_clash("a.h", "a.h"));
        assert!(paths_clash("inc", "inc/a.h"));
        assert!(paths_clash("inc/a.h", "inc"));
        assert!(!paths_clash("inc/a.h", "inc/b.h"));
        assert!(!paths_clash("inc", "include/a.h"));
        assert!(!paths_clash("a", "ab"));
    }

    #[test]
    fn extra_file_names_name_the_rule() {
        let m = ExtraFile::check_name("../x").unwrap_err();
        assert!(
            m.contains("not allowed") && m.contains("contains `..`"),
            "{m}"
        );
        assert!(ExtraFile::check_name("data/in.txt").is_ok());
    }
}
