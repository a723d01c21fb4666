//! Runs a plugin's build plan inside Firejail.
pub mod outcome;
pub mod plan;

pub use outcome::{Outcome, Status};
pub use plan::{LimitOverrides, Plan, SourceFile, Step};
