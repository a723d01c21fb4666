//! Judge0's configuration in codr's terms: the defaults and maxima a
//! submission is checked against, from codr's sandbox limits, and
//! `GET /config_info`, which shows them with Judge0's switches for what
//! codr does not offer.
use codr_sandbox::Limits;
use serde_json::{json, Value};

use super::callback;
use crate::config::ApiArgs;

/// The most submissions in one batch (Judge0's default).
pub const MAX_BATCH: usize = 20;

/// Defaults and maxima in Judge0's units, from codr's sandbox limits.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Default and maximum CPU time, s.
    pub cpu_time: (f64, f64),
    /// Default and maximum extra CPU time, s.
    pub cpu_extra_time: (f64, f64),
    /// Default and maximum wall time, s.
    pub wall_time: (f64, f64),
    /// Default and maximum memory, KB.
    pub memory: (u64, u64),
    /// Default and maximum stack, KB (accepted, not enforced).
    pub stack: (u64, u64),
    /// Default and maximum processes and threads.
    pub processes: (u64, u64),
    /// Default and maximum file size, KB.
    pub file_size: (u64, u64),
}

impl Settings {
    /// codr's run defaults and the caps a request may ask for.
    pub fn codr() -> Self {
        let (d, m) = (Limits::run_defaults(), Limits::maximum_defaults());
        let s = |ms: u64| ms as f64 / 1000.0;
        Settings {
            cpu_time: (s(d.cpu_time_ms), s(m.cpu_time_ms)),
            cpu_extra_time: (0.0, 5.0),
            wall_time: (s(d.wall_time_ms), s(m.wall_time_ms)),
            memory: (d.memory_bytes >> 10, m.memory_bytes >> 10),
            stack: (64_000, 128_000),
            processes: (u64::from(d.processes), u64::from(m.processes)),
            file_size: (d.file_size_bytes >> 10, m.file_size_bytes >> 10),
        }
    }

    /// `GET /config_info`: every field Judge0 1.13 answers.
    pub fn config_info(&self, cfg: &ApiArgs) -> Value {
        let callbacks = cfg
            .judge0_callback_hosts
            .iter()
            .any(|h| !h.trim().is_empty());
        json!({
            "maintenance_mode": false,
            "enable_wait_result": true,
            "enable_compiler_options": false,
            "allowed_languages_for_compile_options": [],
            "enable_command_line_arguments": true,
            "enable_submission_delete": false,
            // Only to the hosts of --judge0-callback-hosts.
            "enable_callbacks": callbacks,
            "callbacks_max_tries": callback::TRIES,
            "callbacks_timeout": callback::TIMEOUT.as_secs_f64(),
            "enable_additional_files": true,
            // codr does not cap its queue.
            "max_queue_size": 1_000_000,
            "cpu_time_limit": self.cpu_time.0,
            "max_cpu_time_limit": self.cpu_time.1,
            "cpu_extra_time": self.cpu_extra_time.0,
            "max_cpu_extra_time": self.cpu_extra_time.1,
            "wall_time_limit": self.wall_time.0,
            "max_wall_time_limit": self.wall_time.1,
            "memory_limit": self.memory.0,
            "max_memory_limit": self.memory.1,
            "stack_limit": self.stack.0,
            "max_stack_limit": self.stack.1,
            "max_processes_and_or_threads": self.processes.0,
            "max_max_processes_and_or_threads": self.processes.1,
            "enable_per_process_and_thread_time_limit": false,
            "allow_enable_per_process_and_thread_time_limit": false,
            "enable_per_process_and_thread_memory_limit": false,
            "allow_enable_per_process_and_thread_memory_limit": false,
            "max_file_size": self.file_size.0,
            "max_max_file_size": self.file_size.1,
            "number_of_runs": 1,
            "max_number_of_runs": 1,
            "redirect_stderr_to_stdout": false,
            // KB: the code cap covers the source and the files together.
            "max_extract_size": cfg.max_code_bytes / 1024,
            "enable_batched_submissions": true,
            "max_submission_batch_size": MAX_BATCH,
            "submission_cache_duration": 0.0,
            "use_docs_as_homepage": false,
            "allow_enable_network": false,
            "enable_network": false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_info_has_every_judge0_field() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            api: ApiArgs,
        }
        let cfg = Cli::parse_from(["codr"]).api;
        let info = Settings::codr().config_info(&cfg);
        assert_eq!(info.as_object().unwrap().len(), 39);
        assert_eq!(info["enable_callbacks"], false);
        assert_eq!(info["enable_additional_files"], true);
        let cfg = Cli::parse_from(["codr", "--judge0-callback-hosts", "127.0.0.1"]).api;
        assert_eq!(Settings::codr().config_info(&cfg)["enable_callbacks"], true);
        assert_eq!(info["max_wall_time_limit"], 30.0);
        assert_eq!(info["max_submission_batch_size"], 20);
    }
}
