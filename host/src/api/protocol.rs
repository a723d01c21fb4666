//! The WebSocket wire protocol, compatible with the seed clients: the names
//! and fields of `execute`, `input`, `output`, `complete` and `error` never
//! change; newer fields and messages (`stage`, `resize`, `kill`, status,
//! diagnostics) are additions.
use serde::{Deserialize, Serialize};
use serde_json::Value;

use codr_job::{Outcome, Stage, Stream};
use codr_plugin_host::Diagnostic;

/// The first message of a session.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct Execute {
    /// Job id from `POST /api/jobs/create`.
    pub job_id: String,
    /// Single-use token from the same call.
    pub job_token: String,
    /// Source code.
    pub code: String,
    /// Language name or alias.
    pub language: String,
    /// Program arguments (optional).
    #[serde(default)]
    pub args: Vec<String>,
}

/// Messages a client sends.
#[derive(Debug, Clone)]
pub enum ClientMsg {
    /// Start the job.
    Execute(Execute),
    /// Bytes for the program's stdin.
    Input(String),
    /// The terminal changed size.
    Resize {
        /// Rows.
        rows: u16,
        /// Columns.
        cols: u16,
    },
    /// Stop the program now.
    Kill,
}

/// Why a client message was refused; the text goes to the client.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    /// Not JSON.
    #[error("malformed JSON: {0}")]
    Malformed(String),
    /// JSON without a string `type`.
    #[error("message has no \"type\" field")]
    NoType,
    /// A `type` we do not know.
    #[error("unknown message type \"{0}\" (expected execute, input, resize or kill)")]
    UnknownType(String),
    /// A known type with missing or mistyped fields.
    #[error("invalid \"{0}\" message: {1}")]
    BadFields(String, String),
}

#[derive(Deserialize)]
struct InputFields {
    data: String,
}

#[derive(Deserialize)]
struct ResizeFields {
    rows: u16,
    cols: u16,
}

impl ClientMsg {
    /// Parses one text frame.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| ParseError::Malformed(e.to_string()))?;
        let kind = value
            .get("type")
            .and_then(Value::as_str)
            .ok_or(ParseError::NoType)?
            .to_string();
        let bad = |e: serde_json::Error| ParseError::BadFields(kind.clone(), e.to_string());
        match kind.as_str() {
            "execute" => Ok(Self::Execute(serde_json::from_value(value).map_err(bad)?)),
            "input" => {
                let f: InputFields = serde_json::from_value(value).map_err(bad)?;
                Ok(Self::Input(f.data))
            }
            "resize" => {
                let f: ResizeFields = serde_json::from_value(value).map_err(bad)?;
                Ok(Self::Resize {
                    rows: f.rows,
                    cols: f.cols,
                })
            }
            "kill" => Ok(Self::Kill),
            _ => Err(ParseError::UnknownType(kind)),
        }
    }
}

/// Code the language's plugin found fault with: a message naming the first
/// finding (and `place`, such as ` in file "a.h"`, or nothing for the
/// program), and every finding. `None` when there is none.
pub fn rejection(place: &str, diagnostics: Vec<Diagnostic>) -> Option<(String, Vec<Diagnostic>)> {
    let first = diagnostics.first()?;
    let message = format!(
        "code rejected{place}: {} (line {}, column {})",
        first.message, first.line, first.column
    );
    Some((message, diagnostics))
}

/// Messages the server sends.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// The job moved on: `compiling`, `running`.
    Stage {
        /// Stage name.
        stage: Stage,
    },
    /// Program output.
    Output {
        /// `stdout`, `stderr` or `compile` (a PTY merges stdout and stderr
        /// into `stdout`).
        stream: Stream,
        /// The text.
        data: String,
    },
    /// The job finished.
    Complete(Complete),
    /// The program waits for input (blocked reading its terminal, its output
    /// all sent): a frontend focuses its input. Once per wait.
    InputRequired,
    /// A message of the client was refused (an oversized `input`, a
    /// malformed message during a job); the job goes on. Not final.
    Notice {
        /// What was refused and why.
        message: String,
    },
    /// The job could not run, or the client broke the protocol.
    Error {
        /// What went wrong.
        message: String,
        /// Validation findings, when validation refused the code.
        #[serde(skip_serializing_if = "Option::is_none")]
        diagnostics: Option<Vec<Diagnostic>>,
    },
}

/// The `complete` message.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Complete {
    /// Exit code of the program (or of the compiler on a compile error).
    pub exit_code: Option<i32>,
    /// Wall time in seconds (seed clients read this).
    pub execution_time: f64,
    /// `ok`, `runtime_error`, `time_limit`, ...
    pub status: String,
    /// Signal that ended the program (`SIGKILL`).
    pub signal: Option<String>,
    /// Peak memory in bytes.
    pub memory_bytes: u64,
    /// CPU time in milliseconds.
    pub cpu_time_ms: u64,
    /// Wall time in milliseconds.
    pub wall_time_ms: u64,
    /// Compiler output, where there was a compile step.
    pub compile_output: Option<String>,
    /// Detail on limits and internal errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl From<&Outcome> for Complete {
    fn from(o: &Outcome) -> Self {
        Self {
            exit_code: o.exit_code,
            execution_time: o.wall_time_ms as f64 / 1000.0,
            status: o.status.as_str().to_string(),
            signal: o.signal.clone(),
            memory_bytes: o.memory_bytes,
            cpu_time_ms: o.cpu_time_ms,
            wall_time_ms: o.wall_time_ms,
            compile_output: o.compile_output.clone(),
            message: o.message.clone(),
        }
    }
}

impl ServerMsg {
    /// An error without diagnostics.
    pub fn error(message: impl Into<String>) -> Self {
        Self::Error {
            message: message.into(),
            diagnostics: None,
        }
    }

    /// The JSON text frame.
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| {
            r#"{"type":"error","message":"internal error: cannot encode message"}"#.to_string()
        })
    }
}

/// The OpenAPI schemas of the WebSocket messages, one per message, as
/// `/api/openapi.json` lists them under `components.schemas` (`WsExecute`
/// ... `WsError`, and `WsClientMessage` / `WsServerMessage`, one of each
/// side). `execute` and `complete` are their Rust types' schemas with the
/// `type` tag added; the others are small enough to write out here, and
/// `tests/e2e_batch.rs` checks real messages against every one of them.
pub mod schemas {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};
    use utoipa::openapi::{Ref, RefOr};
    use utoipa::PartialSchema;

    use super::{Complete, Execute};

    /// The client's messages: (component name, `type`).
    pub const CLIENT: [(&str, &str); 4] = [
        ("WsExecute", "execute"),
        ("WsInput", "input"),
        ("WsResize", "resize"),
        ("WsKill", "kill"),
    ];

    /// The server's messages: (component name, `type`).
    pub const SERVER: [(&str, &str); 6] = [
        ("WsStage", "stage"),
        ("WsOutput", "output"),
        ("WsInputRequired", "input_required"),
        ("WsNotice", "notice"),
        ("WsComplete", "complete"),
        ("WsError", "error"),
    ];

    /// Every schema, by component name.
    pub fn all() -> Vec<(String, RefOr<Schema>)> {
        let mut all = vec![
            tagged(
                "execute",
                "Client, first message, within 5 s of connecting: starts the job.",
                Execute::schema(),
            ),
            message(
                "input",
                "Client: text for the program's terminal (at most 10 KB per message, 1 MB per job; more gets a `notice`).",
                &[("data", field(Type::String, "The text, as typed (`\\n` ends a line)"), true)],
            ),
            message(
                "resize",
                "Client: the terminal changed size.",
                &[
                    ("rows", field(Type::Integer, "Rows (0 to 65535)"), true),
                    ("cols", field(Type::Integer, "Columns (0 to 65535)"), true),
                ],
            ),
            message("kill", "Client: stop the program now.", &[]),
            message(
                "stage",
                "Server: the job moved on.",
                &[("stage", one_of_strings(&["queued", "compiling", "running"], "The stage reached"), true)],
            ),
            message(
                "output",
                "Server: output of the program or the compiler.",
                &[
                    (
                        "stream",
                        one_of_strings(
                            &["stdout", "stderr", "compile"],
                            "`stdout` (the terminal merges stderr into it), `compile` for the compiler's output",
                        ),
                        true,
                    ),
                    ("data", field(Type::String, "The text"), true),
                ],
            ),
            message(
                "input_required",
                "Server: the program waits for input (blocked reading its terminal, its output all sent). Once per wait; a program that never reads never gets one.",
                &[],
            ),
            message(
                "notice",
                "Server: a message of the client was refused and the job goes on. Not final.",
                &[("message", field(Type::String, "What was refused and why"), true)],
            ),
            tagged(
                "complete",
                "Server, final: the job finished. The socket closes after it.",
                Complete::schema(),
            ),
            message(
                "error",
                "Server, final: the job could not run, or the client broke the protocol before it started. The socket closes after it.",
                &[
                    ("message", field(Type::String, "What went wrong"), true),
                    (
                        "diagnostics",
                        ArrayBuilder::new()
                            .items(Ref::from_schema_name("Diagnostic"))
                            .description(Some("Validation findings, when the language's rules refused the code"))
                            .into(),
                        false,
                    ),
                ],
            ),
        ];
        let names: Vec<&str> = CLIENT
            .iter()
            .chain(&SERVER)
            .map(|(name, _)| *name)
            .collect();
        let mut named: Vec<(String, RefOr<Schema>)> = names
            .iter()
            .map(|n| n.to_string())
            .zip(all.drain(..))
            .collect();
        named.push(either(
            "WsClientMessage",
            "What a client sends on `/ws/execute`",
            &CLIENT,
        ));
        named.push(either(
            "WsServerMessage",
            "What the server sends on `/ws/execute`",
            &SERVER,
        ));
        named
    }

    /// A schema that is one of `messages`.
    fn either(name: &str, description: &str, messages: &[(&str, &str)]) -> (String, RefOr<Schema>) {
        let mut one_of = OneOfBuilder::new().description(Some(description));
        for (component, _) in messages {
            one_of = one_of.item(Ref::from_schema_name(*component));
        }
        (name.to_string(), one_of.into())
    }

    /// The `type` tag of message `kind`.
    fn tag(kind: &str) -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some([kind]))
            .description(Some("The message's kind"))
            .into()
    }

    /// A message of `kind` with `fields` (name, schema, required).
    fn message(
        kind: &str,
        description: &str,
        fields: &[(&str, RefOr<Schema>, bool)],
    ) -> RefOr<Schema> {
        let mut object = ObjectBuilder::new()
            .description(Some(description))
            .property("type", tag(kind))
            .required("type");
        for (name, schema, required) in fields {
            object = object.property(*name, schema.clone());
            if *required {
                object = object.required(*name);
            }
        }
        object.into()
    }

    /// A type's own schema with the `type` tag of `kind` added.
    fn tagged(kind: &str, description: &str, schema: RefOr<Schema>) -> RefOr<Schema> {
        match schema {
            RefOr::T(Schema::Object(mut object)) => {
                object.properties.insert("type".into(), tag(kind));
                object.required.insert(0, "type".into());
                object.description = Some(description.into());
                RefOr::T(Schema::Object(object))
            }
            other => other,
        }
    }

    /// A field of type `ty`.
    fn field(ty: Type, description: &str) -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(ty)
            .description(Some(description))
            .into()
    }

    /// A string field taking one of `values`.
    fn one_of_strings(values: &[&str], description: &str) -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(values.iter().copied()))
            .description(Some(description))
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_seed_messages() {
        let m = ClientMsg::parse(
            r#"{"type":"execute","job_id":"j","job_token":"t","code":"print(1)","language":"python"}"#,
        )
        .unwrap();
        assert!(matches!(m, ClientMsg::Execute(e) if e.language == "python" && e.args.is_empty()));
        assert!(matches!(
            ClientMsg::parse(r#"{"type":"input","data":"x\n"}"#),
            Ok(ClientMsg::Input(d)) if d == "x\n"
        ));
        assert!(matches!(
            ClientMsg::parse(r#"{"type":"resize","rows":40,"cols":120}"#),
            Ok(ClientMsg::Resize {
                rows: 40,
                cols: 120
            })
        ));
        assert!(matches!(
            ClientMsg::parse(r#"{"type":"kill"}"#),
            Ok(ClientMsg::Kill)
        ));
    }

    #[test]
    fn refuses_bad_messages_with_a_reason() {
        assert!(matches!(
            ClientMsg::parse("{nope"),
            Err(ParseError::Malformed(_))
        ));
        assert_eq!(
            ClientMsg::parse(r#"{"a":1}"#).unwrap_err(),
            ParseError::NoType
        );
        assert_eq!(
            ClientMsg::parse(r#"{"type":"dance"}"#).unwrap_err(),
            ParseError::UnknownType("dance".into())
        );
        assert!(matches!(
            ClientMsg::parse(r#"{"type":"input"}"#),
            Err(ParseError::BadFields(t, _)) if t == "input"
        ));
    }

    #[test]
    fn server_messages_keep_the_seed_names() {
        let out = ServerMsg::Output {
            stream: Stream::Stdout,
            data: "hi".into(),
        };
        assert_eq!(
            out.to_text(),
            r#"{"type":"output","stream":"stdout","data":"hi"}"#
        );
        assert_eq!(
            ServerMsg::error("boom").to_text(),
            r#"{"type":"error","message":"boom"}"#
        );
    }
}
