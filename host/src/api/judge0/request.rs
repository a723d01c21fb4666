//! A Judge0 submission request, read and checked as Judge0 checks it:
//! each refusal names its field (`{"wall_time_limit": ["must be less than
//! or equal to 30.0"]}`, a 422), and the limits are codr's (see
//! [`Settings`], which `GET /config_info` shows).
use std::collections::BTreeMap;

use codr_job::LimitOverrides;
use serde_json::{Map, Value};

pub use super::config::{Settings, MAX_BATCH};

use super::languages::Judge0Language;
use super::wire::{decode64, Submission};
use super::{callback, files};
use crate::config::ApiArgs;

/// Refusals by field, as Judge0 answers a 422.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// The longest `command_line_arguments` (Judge0's).
const MAX_ARGUMENTS_LEN: usize = 512;

/// Reads one submission of a request. `find` resolves a Judge0 language
/// id; `token` and `now` name and date the new submission.
pub fn parse(
    body: &Value,
    base64: bool,
    cfg: &ApiArgs,
    find: impl Fn(i64) -> Option<Judge0Language>,
    token: &str,
    now: &str,
) -> Result<Submission, FieldErrors> {
    let empty = Map::new();
    let body = body.as_object().unwrap_or(&empty);
    let mut r = Reader {
        body,
        errors: FieldErrors::new(),
    };
    let s = Settings::codr();
    let text = |r: &mut Reader, name: &str| r.text(name, base64);
    let source_code = text(&mut r, "source_code").filter(|c| !c.trim().is_empty());
    if source_code.is_none() && !r.errors.contains_key("source_code") {
        r.refuse("source_code", "can't be blank".into());
    }
    let stdin = text(&mut r, "stdin");
    let expected_output = text(&mut r, "expected_output");
    let language = match r.number("language_id") {
        None if !r.errors.contains_key("language_id") => {
            r.refuse("language_id", "can't be blank".into());
            None
        }
        None => None,
        Some(id) => {
            let id = id as i64;
            let found = find(id);
            if found.is_none() {
                r.refuse(
                    "language_id",
                    format!("language with id {id} doesn't exist"),
                );
            }
            found
        }
    };
    let cpu_time_limit = r.bounded("cpu_time_limit", 0.0, s.cpu_time.1);
    let cpu_extra_time = r.bounded("cpu_extra_time", 0.0, s.cpu_extra_time.1);
    let wall_time_limit = r.bounded("wall_time_limit", 1.0, s.wall_time.1);
    let memory_limit = r.bounded("memory_limit", 2048.0, s.memory.1 as f64);
    let stack_limit = r.bounded("stack_limit", 0.0, s.stack.1 as f64);
    let processes = r.above_zero("max_processes_and_or_threads", s.processes.1);
    let max_file_size = r.bounded("max_file_size", 0.0, s.file_size.1 as f64);
    let number_of_runs = r.above_zero("number_of_runs", 1);
    for (field, message) in [
        (
            "enable_per_process_and_thread_time_limit",
            "this option cannot be enabled",
        ),
        (
            "enable_per_process_and_thread_memory_limit",
            "this option cannot be enabled",
        ),
        ("enable_network", "enabling network is not allowed"),
    ] {
        if r.flag(field) {
            r.refuse(field, message.into());
        }
    }
    let redirect_stderr_to_stdout = r.flag("redirect_stderr_to_stdout");
    if r.text("compiler_options", false)
        .is_some_and(|v| !v.trim().is_empty())
    {
        let m = "setting compiler options is not allowed";
        r.refuse("compiler_options", m.into());
    }
    // Plain text whatever `base64_encoded` says (as in Judge0).
    let callback_url = r
        .text("callback_url", false)
        .filter(|u| !u.trim().is_empty());
    if let Some(url) = &callback_url {
        if let Err(m) = callback::check(url, &cfg.judge0_callback_hosts) {
            r.refuse("callback_url", m);
        }
    }
    // Always Base64 (as in Judge0): decoded and extracted here.
    let additional_files = r
        .text("additional_files", false)
        .filter(|f| !f.trim().is_empty());
    let files = match &additional_files {
        None => Vec::new(),
        Some(archive) => {
            let code_len = source_code.as_deref().map_or(0, str::len);
            let room = cfg.max_code_bytes.saturating_sub(code_len);
            match files::extract(archive, cfg.max_total_input_bytes, room) {
                Ok(files) => files,
                Err(m) => {
                    r.refuse("additional_files", m);
                    Vec::new()
                }
            }
        }
    };
    let command_line_arguments = r.text("command_line_arguments", false);
    let args = match command_line_arguments.as_deref().map(split_arguments) {
        Some(Err(m)) => {
            r.refuse("command_line_arguments", m.into());
            Vec::new()
        }
        Some(Ok(args)) => args,
        None => Vec::new(),
    };
    if command_line_arguments
        .as_deref()
        .is_some_and(|a| a.chars().count() > MAX_ARGUMENTS_LEN)
    {
        let m = format!("is too long (maximum is {MAX_ARGUMENTS_LEN} characters)");
        r.refuse("command_line_arguments", m);
    }
    let too_long =
        |len: usize, max: usize| format!("is too long ({len} bytes; the maximum is {max} bytes)");
    if let Some(code) = source_code
        .as_deref()
        .filter(|c| c.len() > cfg.max_code_bytes)
    {
        r.refuse("source_code", too_long(code.len(), cfg.max_code_bytes));
    }
    if let Some(stdin) = stdin
        .as_deref()
        .filter(|s| s.len() > cfg.max_total_input_bytes)
    {
        r.refuse("stdin", too_long(stdin.len(), cfg.max_total_input_bytes));
    }
    let errors = r.errors;
    let (Some(source_code), Some(language), true) = (source_code, language, errors.is_empty())
    else {
        return Err(errors);
    };
    let ms = |s: f64| (s * 1000.0).round() as u64;
    let limits = LimitOverrides {
        // The kill comes after the extra time; the verdict holds the limit.
        cpu_time_ms: cpu_time_limit
            .filter(|t| *t > 0.0)
            .map(|t| ms(t + cpu_extra_time.unwrap_or(0.0)).min(ms(s.cpu_time.1))),
        wall_time_ms: wall_time_limit.map(ms),
        memory_bytes: memory_limit.map(|kb| (kb as u64) << 10),
        processes: processes.map(|p| p as u32),
        file_size_bytes: max_file_size.map(|kb| (kb as u64) << 10),
        ..LimitOverrides::default()
    };
    Ok(Submission {
        token: token.to_string(),
        language_id: language.id,
        language_name: language.name,
        language: language.language.name,
        source_code,
        stdin,
        expected_output,
        number_of_runs: number_of_runs.unwrap_or(1),
        cpu_time_limit: cpu_time_limit.unwrap_or(s.cpu_time.0),
        cpu_extra_time: cpu_extra_time.unwrap_or(s.cpu_extra_time.0),
        wall_time_limit: wall_time_limit.unwrap_or(s.wall_time.0),
        memory_limit: memory_limit.map_or(s.memory.0, |v| v as u64),
        stack_limit: stack_limit.map_or(s.stack.0, |v| v as u64),
        max_processes_and_or_threads: processes.unwrap_or(s.processes.0),
        max_file_size: max_file_size.map_or(s.file_size.0, |v| v as u64),
        compiler_options: None,
        command_line_arguments,
        redirect_stderr_to_stdout,
        created_at: now.to_string(),
        finished_at: None,
        args,
        limits,
        judged_cpu_ms: cpu_time_limit.filter(|t| *t > 0.0).map(ms),
        callback_url,
        additional_files,
        base64_encoded: base64,
        files,
    })
}

/// Reads a request's fields, collecting refusals.
struct Reader<'a> {
    body: &'a Map<String, Value>,
    errors: FieldErrors,
}

impl Reader<'_> {
    fn refuse(&mut self, field: &str, message: String) {
        self.errors
            .entry(field.to_string())
            .or_default()
            .push(message);
    }

    /// A field's value; `null` is no value (Judge0 then takes its default).
    fn get(&self, field: &str) -> Option<&Value> {
        self.body.get(field).filter(|v| !v.is_null())
    }

    /// A text field, decoded from Base64 when `base64`.
    fn text(&mut self, field: &str, base64: bool) -> Option<String> {
        let raw = match self.get(field)? {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => {
                self.refuse(field, "is not text".into());
                return None;
            }
        };
        if !base64 {
            return Some(raw);
        }
        match decode64(&raw) {
            Ok(text) => Some(text),
            Err(m) => {
                self.refuse(field, m.into());
                None
            }
        }
    }

    /// A number field (a JSON number or a numeric string, as Rails casts).
    fn number(&mut self, field: &str) -> Option<f64> {
        let v = match self.get(field)? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        match v.filter(|v| v.is_finite()) {
            Some(v) => Some(v),
            None => {
                self.refuse(field, "is not a number".into());
                None
            }
        }
    }

    /// A number in `min..=max`, refused with Rails' messages.
    fn bounded(&mut self, field: &str, min: f64, max: f64) -> Option<f64> {
        let v = self.number(field)?;
        if v < min {
            self.refuse(
                field,
                format!("must be greater than or equal to {}", show(min)),
            );
            None
        } else if v > max {
            self.refuse(
                field,
                format!("must be less than or equal to {}", show(max)),
            );
            None
        } else {
            Some(v)
        }
    }

    /// A whole number in `1..=max`.
    fn above_zero(&mut self, field: &str, max: u64) -> Option<u64> {
        let v = self.number(field)?;
        if v <= 0.0 {
            self.refuse(field, "must be greater than 0".into());
            None
        } else if v > max as f64 {
            self.refuse(field, format!("must be less than or equal to {max}"));
            None
        } else {
            Some(v as u64)
        }
    }

    /// A boolean field (`true`, `"true"`, `1`, ...); absent is false.
    fn flag(&mut self, field: &str) -> bool {
        match self.get(field) {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(Value::Number(n)) => n.as_f64() != Some(0.0),
            Some(Value::String(s)) => matches!(s.trim(), "true" | "1" | "t" | "on" | "yes"),
            Some(_) => {
                self.refuse(field, "is not a boolean".into());
                false
            }
        }
    }
}

/// A limit as Rails prints it in a refusal: `20`, `2.5`.
fn show(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// Splits `command_line_arguments` as Judge0's shell does, after removing
/// the characters Judge0 removes (`$&;<>|` and backquote): words separated
/// by blanks, with single quotes, double quotes and backslashes.
pub fn split_arguments(line: &str) -> Result<Vec<String>, &'static str> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line
        .chars()
        .filter(|c| !matches!(c, '$' | '&' | ';' | '<' | '>' | '|' | '`'));
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err("has an unterminated quote"),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\')) => w.push(c),
                            Some(c) => {
                                w.push('\\');
                                w.push(c);
                            }
                            None => return Err("has an unterminated quote"),
                        },
                        Some(c) => w.push(c),
                        None => return Err("has an unterminated quote"),
                    }
                }
            }
            '\\' => {
                if let Some(c) = chars.next() {
                    word.get_or_insert_with(String::new).push(c);
                }
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::languages::LanguageInfo;
    use serde_json::json;

    fn cfg() -> ApiArgs {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            api: ApiArgs,
        }
        Cli::parse_from(["codr"]).api
    }

    fn python(id: i64) -> Option<Judge0Language> {
        (id == 71).then(|| Judge0Language {
            id: 71,
            name: "Python (3.11)".into(),
            language: LanguageInfo {
                name: "python".into(),
                version: "3.11".into(),
                aliases: Vec::new(),
                extension: "py".into(),
                editor_mode: "python".into(),
                ..Default::default()
            },
        })
    }

    fn read(body: Value, base64: bool) -> Result<Submission, FieldErrors> {
        parse(
            &body,
            base64,
            &cfg(),
            python,
            "tok",
            "2024-01-01T00:00:00.000Z",
        )
    }

    fn refusal(body: Value) -> FieldErrors {
        read(body, false).unwrap_err()
    }

    #[test]
    fn a_plain_submission_gets_judge0s_defaults() {
        let s = read(
            json!({"source_code": "print(1)", "language_id": "71", "stdin": "x"}),
            false,
        )
        .unwrap();
        assert_eq!(
            (s.language.as_str(), s.language_id, s.stdin.as_deref()),
            ("python", 71, Some("x"))
        );
        assert_eq!(s.cpu_time_limit, Settings::codr().cpu_time.0);
        assert_eq!(
            s.limits,
            LimitOverrides::default(),
            "defaults are the worker's"
        );
    }

    #[test]
    fn limits_become_codr_limits() {
        let s = read(
            json!({"source_code": "x", "language_id": 71, "cpu_time_limit": 1, "cpu_extra_time": 0.5,
                   "wall_time_limit": 2.5, "memory_limit": 65536, "max_file_size": 16,
                   "command_line_arguments": "a 'b c' \"d\\\"\" $(e);"}),
            false,
        )
        .unwrap();
        assert_eq!(s.limits.cpu_time_ms, Some(1500));
        assert_eq!(s.judged_cpu_ms, Some(1000));
        assert_eq!(s.limits.wall_time_ms, Some(2500));
        assert_eq!(s.limits.memory_bytes, Some(64 << 20));
        assert_eq!(s.limits.file_size_bytes, Some(16 << 10));
        assert_eq!(s.args, ["a", "b c", "d\"", "(e)"]);
    }

    #[test]
    fn refusals_name_their_field() {
        let e = refusal(json!({}));
        assert_eq!(e["source_code"], ["can't be blank"]);
        assert_eq!(e["language_id"], ["can't be blank"]);
        let e = refusal(json!({"source_code": "x", "language_id": 150000}));
        assert_eq!(e["language_id"], ["language with id 150000 doesn't exist"]);
        let e = refusal(json!({"source_code": "x", "language_id": 71, "wall_time_limit": 1000}));
        assert_eq!(e["wall_time_limit"], ["must be less than or equal to 30"]);
        let e = refusal(json!({"source_code": "x", "language_id": 71, "memory_limit": 100}));
        assert_eq!(e["memory_limit"], ["must be greater than or equal to 2048"]);
        let e = refusal(
            json!({"source_code": "x", "language_id": 71, "number_of_runs": 3,
                               "enable_network": true, "callback_url": "http://x", "cpu_time_limit": "fast"}),
        );
        assert_eq!(e["number_of_runs"], ["must be less than or equal to 1"]);
        assert_eq!(e["enable_network"], ["enabling network is not allowed"]);
        assert!(e["callback_url"][0].contains("--judge0-callback-hosts"));
        assert_eq!(e["cpu_time_limit"], ["is not a number"]);
        let e = read(json!({"source_code": "%%%", "language_id": 71}), true).unwrap_err();
        assert_eq!(e["source_code"], ["is not valid Base64"]);
        assert_eq!(e.len(), 1);
    }

    #[test]
    fn base64_fields_are_decoded() {
        let s = read(
            json!({"source_code": "cHJpbnQoMSk=\n", "language_id": 71, "stdin": "aGk=",
                            "expected_output": "MQ=="}),
            true,
        )
        .unwrap();
        assert_eq!(
            (s.source_code.as_str(), s.stdin.as_deref()),
            ("print(1)", Some("hi"))
        );
        assert_eq!(s.expected_output.as_deref(), Some("1"));
    }

    #[test]
    fn additional_files_and_callbacks_are_read() {
        use base64::{engine::general_purpose::STANDARD, Engine};
        use std::io::Write;
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        w.start_file("data.txt", zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(b"21\n").unwrap();
        let archive = STANDARD.encode(w.finish().unwrap().into_inner());
        let body = json!({"source_code": "print(1)", "language_id": 71,
                          "additional_files": archive, "callback_url": "http://127.0.0.1:9/cb"});
        let mut cfg = cfg();
        let e = parse(&body, false, &cfg, python, "t", "now").unwrap_err();
        assert_eq!(e.keys().collect::<Vec<_>>(), ["callback_url"]);
        cfg.judge0_callback_hosts = vec!["127.0.0.1".into()];
        // Always Base64, whatever base64_encoded says.
        let e = parse(&body, true, &cfg, python, "t", "now").unwrap_err();
        assert!(!e.contains_key("additional_files"), "{e:?}");
        let s = parse(&body, false, &cfg, python, "t", "now").unwrap();
        assert_eq!(s.files.len(), 1);
        assert_eq!(
            (s.files[0].name.as_str(), s.files[0].content.as_str()),
            ("data.txt", "21\n")
        );
        assert_eq!(s.callback_url.as_deref(), Some("http://127.0.0.1:9/cb"));
        cfg.max_code_bytes = 10;
        let e = parse(&body, false, &cfg, python, "t", "now").unwrap_err();
        assert!(e["additional_files"][0].contains("once extracted"), "{e:?}");
    }

    #[test]
    fn arguments_split_as_a_shell_splits_them() {
        assert_eq!(split_arguments("  a  b ").unwrap(), ["a", "b"]);
        assert_eq!(split_arguments("'' x").unwrap(), ["", "x"]);
        assert_eq!(split_arguments("a\\ b").unwrap(), ["a b"]);
        assert!(split_arguments("'open").is_err());
    }
}
