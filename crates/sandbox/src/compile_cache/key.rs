//! The build key: the content address of everything that decides what a
//! compile step produces.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::Limits;
use crate::{Plan, SourceFile, Step};

/// Bumped when the key's encoding, the entry layout or what the host stores
/// for a plan changes (2: plans without artifacts store every output).
const FORMAT: u32 = 2;

/// Content address of one build: sha256 (hex) over everything that decides the
/// compiler's output.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BuildKey(String);

/// What the key hashes, serialized with serde_json: strings are quoted and
/// escaped and lists delimited, so no two different inputs encode alike.
#[derive(Serialize)]
struct KeyInput<'a> {
    format: u32,
    tag: &'a str,
    files: &'a [SourceFile],
    compile: Option<&'a Step>,
    artifacts: &'a [String],
    limits: &'a Limits,
}

impl BuildKey {
    /// From the plan's files, compile step (program, args, env, limit
    /// overrides), artifact list, the resolved compile `Limits`, and `tag` (the
    /// plugin name@version, given by the caller). The run step is left out: it
    /// does not change what the compiler produces.
    pub fn new(plan: &Plan, compile_limits: &Limits, tag: &str) -> BuildKey {
        let input = KeyInput {
            format: FORMAT,
            tag,
            files: &plan.files,
            compile: plan.compile.as_ref(),
            artifacts: &plan.artifacts,
            limits: compile_limits,
        };
        // Strings, integers, options and lists only: serialization cannot fail.
        let bytes = serde_json::to_vec(&input).expect("a build key input serializes");
        BuildKey(format!("{:x}", Sha256::digest(&bytes)))
    }

    /// The 64 lowercase hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for BuildKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a name in the store is an entry's (64 lowercase hex digits, as
/// [`BuildKey::as_str`] gives), not a lock, temporary or trash directory.
pub(super) fn is_key_name(name: &str) -> bool {
    name.len() == 64
        && name
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
