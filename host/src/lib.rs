//! codr: a multi-language code sandbox executor.
//!
//! One module per concern: `cli` (the commands), `config` (flags and `CODR_*`
//! variables), `api` (HTTP + WebSocket), `worker` (runs jobs from the broker).
pub mod api;
pub mod cli;
pub mod config;
pub mod worker;
