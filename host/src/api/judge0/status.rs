//! Judge0's fourteen statuses, and how a codr [`Outcome`] maps onto them:
//! the verdict of a finished run as Judge0 reports it (status, output,
//! `time` and `wall_time` in seconds as decimal strings, `memory` in KB,
//! isolate-like messages), with `expected_output` compared as Judge0
//! compares it.
use codr_job::{Outcome, Status};

/// A Judge0 status: its id and its description, as `GET /statuses` lists
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Judge0Status {
    /// The id (1 to 14).
    pub id: u8,
    /// Judge0's description (`Accepted`).
    pub description: &'static str,
}

const fn status(id: u8, description: &'static str) -> Judge0Status {
    Judge0Status { id, description }
}

/// Waiting for a worker.
pub const IN_QUEUE: Judge0Status = status(1, "In Queue");
/// Compiling or running.
pub const PROCESSING: Judge0Status = status(2, "Processing");
/// Ran, and the output matches `expected_output` (or none was given).
pub const ACCEPTED: Judge0Status = status(3, "Accepted");
/// Ran, and the output does not match `expected_output`.
pub const WRONG_ANSWER: Judge0Status = status(4, "Wrong Answer");
/// A time limit was reached.
pub const TIME_LIMIT_EXCEEDED: Judge0Status = status(5, "Time Limit Exceeded");
/// The compile step failed (or codr's rules refused the code).
pub const COMPILATION_ERROR: Judge0Status = status(6, "Compilation Error");
/// Killed by SIGSEGV.
pub const SIGSEGV: Judge0Status = status(7, "Runtime Error (SIGSEGV)");
/// Killed by SIGXFSZ (codr: the output or disk limit).
pub const SIGXFSZ: Judge0Status = status(8, "Runtime Error (SIGXFSZ)");
/// Killed by SIGFPE.
pub const SIGFPE: Judge0Status = status(9, "Runtime Error (SIGFPE)");
/// Killed by SIGABRT.
pub const SIGABRT: Judge0Status = status(10, "Runtime Error (SIGABRT)");
/// Exited with a non-zero code.
pub const NZEC: Judge0Status = status(11, "Runtime Error (NZEC)");
/// Killed by another signal (codr: the memory limit too).
pub const OTHER: Judge0Status = status(12, "Runtime Error (Other)");
/// The host failed, not the program.
pub const INTERNAL_ERROR: Judge0Status = status(13, "Internal Error");
/// Judge0's status for a binary the kernel cannot execute (never given by
/// codr; listed because Judge0 lists it).
pub const EXEC_FORMAT_ERROR: Judge0Status = status(14, "Exec Format Error");

/// Every status, in id order, as `GET /statuses` answers.
pub const ALL: [Judge0Status; 14] = [
    IN_QUEUE,
    PROCESSING,
    ACCEPTED,
    WRONG_ANSWER,
    TIME_LIMIT_EXCEEDED,
    COMPILATION_ERROR,
    SIGSEGV,
    SIGXFSZ,
    SIGFPE,
    SIGABRT,
    NZEC,
    OTHER,
    INTERNAL_ERROR,
    EXEC_FORMAT_ERROR,
];

/// What a finished submission reports, in Judge0's units. `None` is JSON
/// `null`, as Judge0 gives for empty output and for what a failed compile
/// never measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The status.
    pub status: Judge0Status,
    /// Standard output (with standard error appended when redirected).
    pub stdout: Option<String>,
    /// Standard error.
    pub stderr: Option<String>,
    /// The compiler's output.
    pub compile_output: Option<String>,
    /// Detail: isolate-like (`Exited with error status 1`) or codr's own.
    pub message: Option<String>,
    /// Exit code (0 when killed by a signal, as Judge0 reports it).
    pub exit_code: Option<i32>,
    /// The number of the signal that ended the program.
    pub exit_signal: Option<i32>,
    /// CPU time, seconds, as a decimal string (`"0.002"`).
    pub time: Option<String>,
    /// Wall time, seconds, as a decimal string.
    pub wall_time: Option<String>,
    /// Peak memory, KB.
    pub memory: Option<u64>,
}

/// How a submission asked to be judged.
#[derive(Debug, Clone, Copy, Default)]
pub struct Judging<'a> {
    /// `expected_output`, compared with the output as Judge0 compares them.
    pub expected_output: Option<&'a str>,
    /// `redirect_stderr_to_stdout`.
    pub redirect_stderr_to_stdout: bool,
    /// `cpu_time_limit` in ms when given: a run killed only after the extra
    /// time (`cpu_extra_time`) still exceeded it.
    pub cpu_time_limit_ms: Option<u64>,
}

/// The verdict of a finished codr job.
pub fn verdict(o: &Outcome, judging: Judging<'_>) -> Verdict {
    let compile_output = o.compile_output.clone().filter(|c| !c.is_empty());
    let compile_failed = o.status == Status::CompileError
        || o.status == Status::Rejected
        || (o.status != Status::Ok
            && o.message
                .as_deref()
                .is_some_and(|m| m.starts_with("compile:")));
    if compile_failed {
        let text = match (o.status, compile_output) {
            (Status::TimeLimit, _) => Some("Compilation time limit exceeded.".to_string()),
            (_, Some(text)) => Some(text),
            (_, None) => o.message.clone(),
        };
        return Verdict {
            status: COMPILATION_ERROR,
            stdout: None,
            stderr: None,
            compile_output: text,
            message: None,
            exit_code: None,
            exit_signal: None,
            time: None,
            wall_time: None,
            memory: None,
        };
    }
    let (mut stdout, mut stderr) = (o.stdout.clone(), o.stderr.clone());
    if judging.redirect_stderr_to_stdout {
        stdout.push_str(&std::mem::take(&mut stderr));
    }
    let stdout = Some(stdout).filter(|s| !s.is_empty());
    let stderr = Some(stderr).filter(|s| !s.is_empty());
    let exit_signal = o.signal.as_deref().and_then(signal_number);
    let over_cpu = judging
        .cpu_time_limit_ms
        .is_some_and(|limit| o.cpu_time_ms > limit);
    let (status, message) = match o.status {
        Status::Ok if over_cpu => (TIME_LIMIT_EXCEEDED, Some("Time limit exceeded".into())),
        Status::Ok => {
            let matches = match judging.expected_output {
                None => true,
                Some(expected) => same_output(expected, stdout.as_deref()),
            };
            (if matches { ACCEPTED } else { WRONG_ANSWER }, None)
        }
        // Judge0 runs no sessions; an idle one would be a time limit.
        Status::TimeLimit | Status::IdleTimeout => (TIME_LIMIT_EXCEEDED, o.message.clone()),
        Status::RuntimeError => match (o.signal.as_deref(), exit_signal) {
            (Some(name), number) => (
                signal_status(name),
                Some(match number {
                    Some(n) => format!("Caught fatal signal {n}"),
                    None => format!("Caught fatal signal {name}"),
                }),
            ),
            (None, _) => (
                NZEC,
                Some(format!(
                    "Exited with error status {}",
                    o.exit_code.unwrap_or(1)
                )),
            ),
        },
        Status::MemoryLimit => (OTHER, o.message.clone()),
        Status::OutputLimit | Status::DiskLimit => (SIGXFSZ, o.message.clone()),
        Status::InternalError => (INTERNAL_ERROR, o.message.clone()),
        // Handled above with the compile failures.
        Status::CompileError | Status::Rejected => (COMPILATION_ERROR, None),
    };
    Verdict {
        status,
        stdout,
        stderr,
        compile_output,
        message,
        exit_code: Some(o.exit_code.unwrap_or(0)),
        exit_signal,
        time: Some(seconds(o.cpu_time_ms)),
        wall_time: Some(seconds(o.wall_time_ms)),
        memory: Some(o.memory_bytes / 1024),
    }
}

/// The verdict of a job that failed outside the program (Internal Error).
pub fn internal_error(message: &str) -> Verdict {
    Verdict {
        status: INTERNAL_ERROR,
        stdout: None,
        stderr: None,
        compile_output: None,
        message: Some(message.to_string()),
        exit_code: None,
        exit_signal: None,
        time: None,
        wall_time: None,
        memory: None,
    }
}

/// The Runtime Error status of a signal, by name: 7 to 10, else 12.
fn signal_status(name: &str) -> Judge0Status {
    match name {
        "SIGSEGV" => SIGSEGV,
        "SIGXFSZ" => SIGXFSZ,
        "SIGFPE" => SIGFPE,
        "SIGABRT" => SIGABRT,
        _ => OTHER,
    }
}

/// The number of a signal named as codr names it (`SIGKILL`).
fn signal_number(name: &str) -> Option<i32> {
    let n = match name {
        "SIGHUP" => libc::SIGHUP,
        "SIGINT" => libc::SIGINT,
        "SIGQUIT" => libc::SIGQUIT,
        "SIGILL" => libc::SIGILL,
        "SIGTRAP" => libc::SIGTRAP,
        "SIGABRT" => libc::SIGABRT,
        "SIGBUS" => libc::SIGBUS,
        "SIGFPE" => libc::SIGFPE,
        "SIGKILL" => libc::SIGKILL,
        "SIGUSR1" => libc::SIGUSR1,
        "SIGSEGV" => libc::SIGSEGV,
        "SIGUSR2" => libc::SIGUSR2,
        "SIGPIPE" => libc::SIGPIPE,
        "SIGALRM" => libc::SIGALRM,
        "SIGTERM" => libc::SIGTERM,
        "SIGXCPU" => libc::SIGXCPU,
        "SIGXFSZ" => libc::SIGXFSZ,
        "SIGSYS" => libc::SIGSYS,
        _ => return None,
    };
    Some(n)
}

/// Milliseconds as Judge0's decimal seconds: `"0.002"`, `"1.5"`, `"2.0"`.
pub fn seconds(ms: u64) -> String {
    let text = format!("{}.{:03}", ms / 1000, ms % 1000);
    let trimmed = text.trim_end_matches('0');
    if trimmed.ends_with('.') {
        format!("{trimmed}0")
    } else {
        trimmed.to_string()
    }
}

/// Whether the output matches the expected output as Judge0 decides it:
/// trailing whitespace of each line and trailing blank lines do not count.
/// Empty output is no output (`null`), which matches no expected output,
/// not even an empty one (as in Judge0).
pub fn same_output(expected: &str, stdout: Option<&str>) -> bool {
    stdout.is_some_and(|out| normalized(expected) == normalized(out))
}

/// Judge0's `strip`: each line without trailing whitespace, joined with
/// `\n`, without trailing whitespace.
fn normalized(text: &str) -> String {
    let lines: Vec<&str> = text.split('\n').map(trim_end).collect();
    trim_end(&lines.join("\n")).to_string()
}

/// Ruby's `rstrip`: whitespace and NUL.
fn trim_end(s: &str) -> &str {
    s.trim_end_matches(|c: char| c.is_ascii_whitespace() || c == '\0' || c == '\x0b')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(status: Status) -> Outcome {
        Outcome {
            status,
            exit_code: Some(0),
            signal: None,
            stdout: "hi\n".into(),
            stderr: String::new(),
            compile_output: None,
            wall_time_ms: 12,
            cpu_time_ms: 2,
            memory_bytes: 4096 * 1024,
            message: None,
        }
    }

    fn judged(o: &Outcome) -> Verdict {
        verdict(o, Judging::default())
    }

    #[test]
    fn statuses_are_judge0s_fourteen_in_order() {
        for (i, s) in ALL.iter().enumerate() {
            assert_eq!(usize::from(s.id), i + 1);
        }
        assert_eq!(NZEC.description, "Runtime Error (NZEC)");
        assert_eq!(INTERNAL_ERROR.id, 13);
    }

    #[test]
    fn accepted_and_wrong_answer_compare_as_judge0() {
        let o = outcome(Status::Ok);
        let v = judged(&o);
        assert_eq!(v.status, ACCEPTED);
        assert_eq!(v.time.as_deref(), Some("0.002"));
        assert_eq!(v.wall_time.as_deref(), Some("0.012"));
        assert_eq!(v.memory, Some(4096));
        assert_eq!(
            (v.exit_code, v.exit_signal, v.message),
            (Some(0), None, None)
        );
        let expect = |e: &'static str| Judging {
            expected_output: Some(e),
            ..Judging::default()
        };
        assert_eq!(verdict(&o, expect("hi")).status, ACCEPTED);
        assert_eq!(verdict(&o, expect("hi  \n\n \n")).status, ACCEPTED);
        assert_eq!(verdict(&o, expect("hi\nthere")).status, WRONG_ANSWER);
        assert_eq!(verdict(&o, expect(" hi")).status, WRONG_ANSWER);
        let silent = Outcome {
            stdout: String::new(),
            ..o
        };
        assert_eq!(verdict(&silent, expect("")).status, WRONG_ANSWER);
        assert_eq!(judged(&silent).stdout, None);
    }

    #[test]
    fn lines_compare_without_trailing_whitespace() {
        assert!(same_output("a\nb", Some("a \r\nb\t\n")));
        assert!(!same_output("a\n\nb", Some("a\nb")));
        assert!(!same_output("x", None));
    }

    #[test]
    fn runtime_errors_by_signal_and_exit_code() {
        let signalled = |name: &str| Outcome {
            signal: Some(name.into()),
            exit_code: None,
            ..outcome(Status::RuntimeError)
        };
        for (name, status, number) in [
            ("SIGSEGV", SIGSEGV, 11),
            ("SIGXFSZ", SIGXFSZ, 25),
            ("SIGFPE", SIGFPE, 8),
            ("SIGABRT", SIGABRT, 6),
            ("SIGKILL", OTHER, 9),
        ] {
            let v = judged(&signalled(name));
            assert_eq!(v.status, status, "{name}");
            assert_eq!(v.exit_signal, Some(number), "{name}");
            assert_eq!(v.exit_code, Some(0), "{name}");
            assert_eq!(v.message, Some(format!("Caught fatal signal {number}")));
        }
        let nzec = Outcome {
            exit_code: Some(3),
            ..outcome(Status::RuntimeError)
        };
        let v = judged(&nzec);
        assert_eq!(v.status, NZEC);
        assert_eq!(v.message.as_deref(), Some("Exited with error status 3"));
        assert_eq!(v.exit_code, Some(3));
    }

    #[test]
    fn limits_and_failures() {
        assert_eq!(
            judged(&outcome(Status::TimeLimit)).status,
            TIME_LIMIT_EXCEEDED
        );
        assert_eq!(judged(&outcome(Status::MemoryLimit)).status, OTHER);
        assert_eq!(judged(&outcome(Status::OutputLimit)).status, SIGXFSZ);
        assert_eq!(judged(&outcome(Status::DiskLimit)).status, SIGXFSZ);
        assert_eq!(
            judged(&outcome(Status::InternalError)).status,
            INTERNAL_ERROR
        );
        assert_eq!(internal_error("lost").message.as_deref(), Some("lost"));
        // Killed only after the extra time: still over the limit asked for.
        let slow = Outcome {
            cpu_time_ms: 1500,
            ..outcome(Status::Ok)
        };
        let judging = Judging {
            cpu_time_limit_ms: Some(1000),
            ..Judging::default()
        };
        assert_eq!(verdict(&slow, judging).status, TIME_LIMIT_EXCEEDED);
    }

    #[test]
    fn compile_errors_measure_nothing() {
        let failed = Outcome {
            compile_output: Some("main.c:1: error: nope".into()),
            exit_code: Some(1),
            ..outcome(Status::CompileError)
        };
        let v = judged(&failed);
        assert_eq!(v.status, COMPILATION_ERROR);
        assert_eq!(v.compile_output.as_deref(), Some("main.c:1: error: nope"));
        assert_eq!(
            (v.time, v.memory, v.stdout, v.exit_code),
            (None, None, None, None)
        );
        let slow = Outcome {
            message: Some("compile: time limit".into()),
            ..outcome(Status::TimeLimit)
        };
        let v = judged(&slow);
        assert_eq!(v.status, COMPILATION_ERROR);
        assert_eq!(
            v.compile_output.as_deref(),
            Some("Compilation time limit exceeded.")
        );
        let refused = Outcome {
            message: Some("import of os is not allowed".into()),
            ..outcome(Status::Rejected)
        };
        let v = judged(&refused);
        assert_eq!(v.status, COMPILATION_ERROR);
        assert_eq!(
            v.compile_output.as_deref(),
            Some("import of os is not allowed")
        );
    }

    #[test]
    fn redirected_stderr_follows_stdout() {
        let o = Outcome {
            stderr: "warn\n".into(),
            ..outcome(Status::Ok)
        };
        let judging = Judging {
            redirect_stderr_to_stdout: true,
            ..Judging::default()
        };
        let v = verdict(&o, judging);
        assert_eq!((v.stdout.as_deref(), v.stderr), (Some("hi\nwarn\n"), None));
    }

    #[test]
    fn seconds_are_decimal_strings() {
        assert_eq!(seconds(0), "0.0");
        assert_eq!(seconds(2), "0.002");
        assert_eq!(seconds(1500), "1.5");
        assert_eq!(seconds(2000), "2.0");
        assert_eq!(seconds(12345), "12.345");
    }
}
