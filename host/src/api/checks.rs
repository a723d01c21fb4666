//! What a batch job must pass before it is queued, shared by the v1 and
//! Piston APIs: sizes, file names, and the limits a caller may ask for
//! (a [`CapError`] says which limit in structured form, and each API names
//! it by its own field).
use codr_job::{paths_clash, ExtraFile, LimitOverrides};
use codr_sandbox::Limits;

use super::batch::{BatchJob, MAX_EXTRA_FILES};
use crate::config::ApiArgs;

/// Code plus extra files within the code cap (together: they are all
/// source), stdin within the input cap, not too many files.
pub fn check_sizes(cfg: &ApiArgs, job: &BatchJob) -> Result<(), String> {
    let max = cfg.max_code_bytes;
    if job.files.is_empty() && job.code.len() > max {
        return Err(format!(
            "code is {} bytes; the limit is {max} bytes",
            job.code.len()
        ));
    }
    let total = job.code.len() + job.files.iter().map(|f| f.content.len()).sum::<usize>();
    if total > max {
        return Err(format!(
            "the files are {total} bytes together; the limit is {max} bytes (max code bytes, for all files together)"
        ));
    }
    if job.files.len() > MAX_EXTRA_FILES {
        return Err(format!(
            "{} extra files; the limit is {MAX_EXTRA_FILES}",
            job.files.len()
        ));
    }
    if job.stdin.len() > cfg.max_total_input_bytes {
        return Err(format!(
            "stdin is {} bytes; the limit is {} bytes",
            job.stdin.len(),
            cfg.max_total_input_bytes
        ));
    }
    Ok(())
}

/// Every name stays inside the job directory; no name is given twice or is
/// the directory of another (one of them could not be written).
pub fn check_file_names(files: &[ExtraFile]) -> Result<(), String> {
    for (i, file) in files.iter().enumerate() {
        ExtraFile::check_name(&file.name)?;
        if let Some(other) = files[..i].iter().find(|o| paths_clash(&o.name, &file.name)) {
            return Err(clash(&other.name, &file.name));
        }
    }
    Ok(())
}

/// The refusal of two names that clash (see [`paths_clash`]).
pub fn clash(first: &str, second: &str) -> String {
    format!("file names {first:?} and {second:?} clash: one would overwrite or contain the other")
}

/// A limit a caller may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Wall time, ms.
    WallTime,
    /// CPU time, ms.
    CpuTime,
    /// Memory, bytes.
    Memory,
    /// Output, bytes.
    Output,
}

impl Limit {
    /// The limit's name in [`LimitOverrides`] (and in the v1 API).
    pub fn name(self) -> &'static str {
        match self {
            Limit::WallTime => "wall_time_ms",
            Limit::CpuTime => "cpu_time_ms",
            Limit::Memory => "memory_bytes",
            Limit::Output => "output_bytes",
        }
    }
}

/// A requested limit this deployment does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapError {
    /// Which limit.
    pub limit: Limit,
    /// What was asked (0: not positive).
    pub asked: u64,
    /// The deployment's maximum.
    pub cap: u64,
}

impl CapError {
    /// The refusal, naming the limit as `field` (the caller's name for it).
    pub fn message(&self, field: &str) -> String {
        if self.asked == 0 {
            format!("{field} must be positive")
        } else {
            format!(
                "{field} = {} is above this deployment's cap of {}",
                self.asked, self.cap
            )
        }
    }
}

/// Refuses a limit that is zero or above the deployment's maximum.
pub fn caps(l: &LimitOverrides) -> Result<(), CapError> {
    let max = Limits::maximum_defaults();
    let checks = [
        (Limit::WallTime, l.wall_time_ms, max.wall_time_ms),
        (Limit::CpuTime, l.cpu_time_ms, max.cpu_time_ms),
        (Limit::Memory, l.memory_bytes, max.memory_bytes),
        (Limit::Output, l.output_bytes, max.output_bytes),
    ];
    for (limit, asked, cap) in checks {
        if let Some(asked) = asked.filter(|&v| v == 0 || v > cap) {
            return Err(CapError { limit, asked, cap });
        }
    }
    Ok(())
}

/// [`caps`], naming the limit as the v1 API does: `<field>.<name>`
/// (`compile_limits.wall_time_ms`).
pub fn check_caps_of(l: &LimitOverrides, field: &str) -> Result<(), String> {
    caps(l).map_err(|e| e.message(&format!("{field}.{}", e.limit.name())))
}

/// [`check_caps_of`] for the run's `limits`.
#[cfg(test)]
pub fn check_caps(l: &LimitOverrides) -> Result<(), String> {
    check_caps_of(l, "limits")
}
