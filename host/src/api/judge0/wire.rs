//! Judge0's submission as it is kept and as it is answered: the stored
//! [`Submission`], the `fields` a client may ask for, Base64 as Judge0
//! writes it, and the JSON of a submission at any point of its life.
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine};
use codr_job::{ExtraFile, LimitOverrides};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::status::{self, Judge0Status, Verdict};

/// A submission as created: what the client asked for, with Judge0's
/// defaults filled in (as `fields=*` shows them), and what codr runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    /// The token (the codr job id).
    pub token: String,
    /// The Judge0 language id asked for.
    pub language_id: i64,
    /// The Judge0 name of that language (`Python (3.11)`).
    pub language_name: String,
    /// The codr language that runs it.
    pub language: String,
    /// The program.
    pub source_code: String,
    /// Standard input.
    pub stdin: Option<String>,
    /// The output a correct program prints.
    pub expected_output: Option<String>,
    /// Runs (always 1).
    pub number_of_runs: u64,
    /// CPU time limit, s.
    pub cpu_time_limit: f64,
    /// Extra CPU time before the program is killed, s.
    pub cpu_extra_time: f64,
    /// Wall time limit, s.
    pub wall_time_limit: f64,
    /// Memory limit, KB.
    pub memory_limit: u64,
    /// Stack limit, KB (accepted, not enforced).
    pub stack_limit: u64,
    /// Processes and threads.
    pub max_processes_and_or_threads: u64,
    /// Largest file the program may write, KB.
    pub max_file_size: u64,
    /// Compiler options (always empty: refused).
    pub compiler_options: Option<String>,
    /// The arguments as sent.
    pub command_line_arguments: Option<String>,
    /// Standard error appended to standard output.
    pub redirect_stderr_to_stdout: bool,
    /// When it was created (`2024-04-18T12:34:56.789Z`).
    pub created_at: String,
    /// When its end was seen.
    pub finished_at: Option<String>,
    /// The arguments codr passes (split as a shell would).
    pub args: Vec<String>,
    /// The run limits codr applies: only those the client asked for.
    pub limits: LimitOverrides,
    /// `cpu_time_limit` in ms when the client gave one (the judged limit).
    pub judged_cpu_ms: Option<u64>,
    /// Where the submission is `PUT` when it ends (see [`super::callback`]).
    #[serde(default)]
    pub callback_url: Option<String>,
    /// The zip archive as sent (Base64), answered as sent.
    #[serde(default)]
    pub additional_files: Option<String>,
    /// Whether it was created with `base64_encoded=true` (its callback is).
    #[serde(default)]
    pub base64_encoded: bool,
    /// The files of the archive, for the job (not kept in the record).
    #[serde(skip)]
    pub files: Vec<ExtraFile>,
}

/// Where a submission is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Not taken by a worker yet.
    Queued,
    /// Compiling or running.
    Running,
    /// Ended: its verdict.
    Done(Verdict),
}

/// Every attribute `fields` may name, in Judge0's column order.
pub const AVAILABLE: [&str; 35] = [
    "source_code",
    "language_id",
    "stdin",
    "expected_output",
    "stdout",
    "status_id",
    "created_at",
    "finished_at",
    "time",
    "memory",
    "stderr",
    "token",
    "number_of_runs",
    "cpu_time_limit",
    "cpu_extra_time",
    "wall_time_limit",
    "memory_limit",
    "stack_limit",
    "max_processes_and_or_threads",
    "enable_per_process_and_thread_time_limit",
    "enable_per_process_and_thread_memory_limit",
    "max_file_size",
    "compile_output",
    "exit_code",
    "exit_signal",
    "message",
    "wall_time",
    "compiler_options",
    "command_line_arguments",
    "redirect_stderr_to_stdout",
    "callback_url",
    "additional_files",
    "enable_network",
    "status",
    "language",
];

/// The attributes answered without `fields`.
pub const DEFAULT_FIELDS: [&str; 8] = [
    "token",
    "time",
    "memory",
    "stdout",
    "stderr",
    "compile_output",
    "message",
    "status",
];

/// The attributes a request asked for (`fields=a,b`; `*` for all; none or
/// only unknown names for the default eight). `Err` lists the unknown
/// names, which Judge0 refuses with a 400.
pub fn fields(requested: Option<&str>) -> Result<Vec<&'static str>, String> {
    let names: Vec<&str> = requested
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    let invalid: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| *n != "*" && !AVAILABLE.contains(n))
        .collect();
    if !invalid.is_empty() {
        return Err(format!("invalid fields: [{}]", invalid.join(", ")));
    }
    let mut chosen: Vec<&'static str> = if names.contains(&"*") {
        AVAILABLE.to_vec()
    } else {
        AVAILABLE
            .iter()
            .copied()
            .filter(|a| names.contains(a))
            .collect()
    };
    if chosen.is_empty() {
        chosen = DEFAULT_FIELDS.to_vec();
    }
    Ok(chosen)
}

/// Base64 as Ruby's `encode64` writes it (Judge0's answers): lines of 60
/// characters, each ended by a newline.
pub fn encode64(text: &str) -> String {
    let encoded = STANDARD.encode(text.as_bytes());
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 60 + 1);
    for chunk in encoded.as_bytes().chunks(60) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// Decodes Base64 from a client (line breaks and missing padding allowed);
/// the text must be UTF-8 once decoded (codr runs text).
pub fn decode64(text: &str) -> Result<String, &'static str> {
    let bytes = decode64_bytes(text)?;
    String::from_utf8(bytes).map_err(|_| "is not UTF-8 text once decoded")
}

/// Decodes Base64 from a client (line breaks and missing padding allowed)
/// into bytes.
pub fn decode64_bytes(text: &str) -> Result<Vec<u8>, &'static str> {
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    LENIENT
        .decode(compact.as_bytes())
        .map_err(|_| "is not valid Base64")
}

/// A Judge0 decimal (`5.0`, `2.5`): Rails answers decimals as strings.
pub fn decimal(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

/// The JSON of a submission: the attributes `fields` names, the text ones
/// in Base64 when `base64` is set.
pub fn render(sub: &Submission, progress: &Progress, fields: &[&str], base64: bool) -> Value {
    let text = |t: Option<&str>| match t {
        None => Value::Null,
        Some(t) if base64 => Value::String(encode64(t)),
        Some(t) => Value::String(t.to_string()),
    };
    let verdict = match progress {
        Progress::Done(v) => Some(v),
        _ => None,
    };
    let status: Judge0Status = match progress {
        Progress::Queued => status::IN_QUEUE,
        Progress::Running => status::PROCESSING,
        Progress::Done(v) => v.status,
    };
    let of = |f: fn(&Verdict) -> Value| verdict.map_or(Value::Null, f);
    let mut out = Map::new();
    for &field in fields {
        let value = match field {
            "source_code" => text(Some(&sub.source_code)),
            "language_id" => json!(sub.language_id),
            "stdin" => text(sub.stdin.as_deref()),
            "expected_output" => text(sub.expected_output.as_deref()),
            "stdout" => text(verdict.and_then(|v| v.stdout.as_deref())),
            "stderr" => text(verdict.and_then(|v| v.stderr.as_deref())),
            "compile_output" => text(verdict.and_then(|v| v.compile_output.as_deref())),
            "message" => text(verdict.and_then(|v| v.message.as_deref())),
            "status_id" => json!(status.id),
            "status" => json!({ "id": status.id, "description": status.description }),
            "created_at" => json!(sub.created_at),
            "finished_at" => json!(verdict.and(sub.finished_at.as_deref())),
            "time" => of(|v| json!(v.time)),
            "wall_time" => of(|v| json!(v.wall_time)),
            "memory" => of(|v| json!(v.memory)),
            "exit_code" => of(|v| json!(v.exit_code)),
            "exit_signal" => of(|v| json!(v.exit_signal)),
            "token" => json!(sub.token),
            "number_of_runs" => json!(sub.number_of_runs),
            "cpu_time_limit" => json!(decimal(sub.cpu_time_limit)),
            "cpu_extra_time" => json!(decimal(sub.cpu_extra_time)),
            "wall_time_limit" => json!(decimal(sub.wall_time_limit)),
            "memory_limit" => json!(sub.memory_limit),
            "stack_limit" => json!(sub.stack_limit),
            "max_processes_and_or_threads" => json!(sub.max_processes_and_or_threads),
            "max_file_size" => json!(sub.max_file_size),
            "enable_per_process_and_thread_time_limit"
            | "enable_per_process_and_thread_memory_limit"
            | "enable_network" => json!(false),
            "redirect_stderr_to_stdout" => json!(sub.redirect_stderr_to_stdout),
            "compiler_options" => json!(sub.compiler_options),
            "command_line_arguments" => json!(sub.command_line_arguments),
            "callback_url" => json!(sub.callback_url),
            // Base64 whatever `base64_encoded` says, as Judge0 answers it.
            "additional_files" => json!(sub.additional_files),
            "language" => json!({ "id": sub.language_id, "name": sub.language_name }),
            _ => continue,
        };
        out.insert(field.to_string(), value);
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn submission() -> Submission {
        Submission {
            token: "t".into(),
            language_id: 71,
            language_name: "Python (3.11)".into(),
            language: "python".into(),
            source_code: "print(input())".into(),
            stdin: Some("hi".into()),
            expected_output: None,
            number_of_runs: 1,
            cpu_time_limit: 7.0,
            cpu_extra_time: 0.5,
            wall_time_limit: 7.0,
            memory_limit: 307200,
            stack_limit: 64000,
            max_processes_and_or_threads: 64,
            max_file_size: 1024,
            compiler_options: None,
            command_line_arguments: None,
            redirect_stderr_to_stdout: false,
            created_at: "2024-04-18T12:34:56.789Z".into(),
            finished_at: Some("2024-04-18T12:34:57.001Z".into()),
            args: Vec::new(),
            limits: LimitOverrides::default(),
            judged_cpu_ms: None,
            callback_url: None,
            additional_files: None,
            base64_encoded: false,
            files: Vec::new(),
        }
    }

    #[test]
    fn fields_are_checked_and_defaulted() {
        assert_eq!(fields(None).unwrap(), DEFAULT_FIELDS);
        assert_eq!(fields(Some("")).unwrap(), DEFAULT_FIELDS);
        assert_eq!(fields(Some("stdout,token")).unwrap(), ["stdout", "token"]);
        assert_eq!(fields(Some("*")).unwrap().len(), 35);
        assert_eq!(
            fields(Some("stdout,nope,worse")).unwrap_err(),
            "invalid fields: [nope, worse]"
        );
    }

    #[test]
    fn base64_as_ruby_writes_it() {
        assert_eq!(encode64("hello, Judge0\n"), "aGVsbG8sIEp1ZGdlMAo=\n");
        assert_eq!(encode64(""), "");
        let long = "x".repeat(50);
        let e = encode64(&long);
        assert_eq!(e.lines().next().unwrap().len(), 60);
        assert_eq!(decode64(&e).unwrap(), long);
        assert_eq!(decode64("aGk").unwrap(), "hi");
        assert!(decode64("not base64!").is_err());
        assert!(decode64("/w==").is_err(), "0xff is not UTF-8");
    }

    #[test]
    fn a_finished_submission_renders_judge0s_json() {
        let verdict = status::verdict(
            &codr_job::Outcome {
                status: codr_job::Status::Ok,
                exit_code: Some(0),
                signal: None,
                stdout: "hi\n".into(),
                stderr: String::new(),
                compile_output: None,
                wall_time_ms: 30,
                cpu_time_ms: 20,
                memory_bytes: 8 << 20,
                message: None,
            },
            status::Judging::default(),
        );
        let sub = submission();
        let all = fields(Some("*")).unwrap();
        let v = render(&sub, &Progress::Done(verdict), &all, false);
        assert_eq!(v["status"], json!({"id": 3, "description": "Accepted"}));
        assert_eq!(v["stdout"], "hi\n");
        assert_eq!(v["stderr"], Value::Null);
        assert_eq!(v["time"], "0.02");
        assert_eq!(v["memory"], 8192);
        assert_eq!(v["cpu_extra_time"], "0.5");
        assert_eq!(v["wall_time_limit"], "7.0");
        assert_eq!(v["language"], json!({"id": 71, "name": "Python (3.11)"}));
        assert_eq!(v["finished_at"], "2024-04-18T12:34:57.001Z");
        let queued = render(&sub, &Progress::Queued, &DEFAULT_FIELDS, true);
        assert_eq!(queued["status"]["id"], 1);
        assert_eq!(queued["stdout"], Value::Null);
        let v = render(&sub, &Progress::Running, &["stdin", "finished_at"], true);
        assert_eq!(v, json!({"stdin": "aGk=\n", "finished_at": null}));
    }
}
