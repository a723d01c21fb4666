//! codr: a multi-language code sandbox executor.
//!
//! One module per concern: `cli` (the commands), `config` (flags and `CODR_*`
//! variables), `api` (HTTP + WebSocket), `worker` (runs jobs from the broker),
//! and what both of those use: `languages` (the plugins) and `metrics`.
#![deny(missing_docs)]
pub mod api;
pub mod cli;
pub mod config;
pub mod languages;
pub mod metrics;
pub mod worker;
