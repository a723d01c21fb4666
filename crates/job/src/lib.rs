//! The job vocabulary: the types a job takes on its way through codr.
//!
//! Every crate speaks these, and nothing here knows of Firejail, Redis,
//! WebAssembly or HTTP: the plugin host turns a plugin's WIT plan into a
//! [`Plan`], the broker queues [`ExtraFile`]s and carries [`Stage`],
//! [`Stream`] and [`Outcome`], the sandbox runs the plan and reports
//! [`Event`]s, taking [`Control`]s. Only the public wire formats (WebSocket,
//! batch, Piston, Judge0) translate at the edge.
//!
//! One path rule ([`RelPath`]) serves every place a path enters a job: a
//! client's extra files, a plugin's plan files and artifacts, the files the
//! sandbox writes.
#![deny(missing_docs)]

mod event;
mod outcome;
mod path;
mod plan;

pub use event::{Control, Event, Stage, Stream};
pub use outcome::{Outcome, Status};
pub use path::{paths_clash, BadPath, ExtraFile, RelPath, MAX_PATH_BYTES};
pub use plan::{LimitOverrides, Plan, SourceFile, Step};
