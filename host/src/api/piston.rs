//! Piston v2 compatibility: `GET /api/v2/runtimes` and `POST /api/v2/execute`
//! with Piston's request and response shapes, so Piston clients work
//! unchanged against a self-hosted codr (authentication stays on: send the
//! key as `X-API-Key: KEY` or `Authorization: Bearer KEY`). As Piston does:
//! every answer has a `run` stage (a failed compile's stage is copied into
//! it), errors are `{message}` (415 for a body not declared JSON), and a
//! `version` that does not match the one served is a 400. One leniency:
//! JSON declared `text/plain` by a program that is not a browser (no
//! `Origin` header) is read as JSON, because the npm `piston-client` posts
//! it so (see [`ExecuteBody`]).
//!
//! `files[0]` is the program: the plugin writes it under its own name (such
//! as `main.py`). The other files are written beside it under their names,
//! so the program can import or include them; the plugin's build command is
//! unchanged (a C program's second `.c` file is not compiled, its headers
//! are included). Their text goes through the language's rules like the
//! program's. Contents must be UTF-8 once decoded (binary files are refused
//! with a 400), and all files together stay within the code size cap.
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::Json;
use base64::Engine;
use codr_broker::ExtraFile;
use codr_job::{LimitOverrides, Outcome, Status};
use serde::{Deserialize, Serialize};

use super::batch::{self, BatchJob, Refused};
use super::checks::{self, CapError, Limit};
use super::error::{ApiError, Shape};
use super::extract::{BatchRun, Body, Piston};
use super::AppState;
use crate::languages::LanguageInfo;

/// Longest a Piston request waits for its job.
const WAIT_LIMIT: Duration = Duration::from_secs(120);

/// One runtime in `GET /api/v2/runtimes`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Runtime {
    /// Language name.
    pub language: String,
    /// Version served.
    pub version: String,
    /// Other accepted names.
    pub aliases: Vec<String>,
    /// The runtime or compiler serving the language, where Piston names one
    /// (`node` for javascript, `gcc` for c and c++); absent otherwise, as in
    /// Piston.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
}

/// `GET /api/v2/runtimes`.
#[utoipa::path(
    get,
    path = "/api/v2/runtimes",
    tag = "piston",
    responses((status = 200, description = "Installed runtimes", body = [Runtime]))
)]
pub async fn runtimes(State(state): State<Arc<AppState>>) -> Json<Vec<Runtime>> {
    let list = state
        .languages
        .list()
        .into_iter()
        .map(|l| Runtime {
            runtime: l.runtime.clone(),
            language: l.name,
            version: l.version,
            aliases: l.aliases,
        })
        .collect();
    Json(list)
}

/// One file of a Piston request.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PistonFile {
    /// File name: a relative path inside the job directory (`../x`,
    /// absolute paths and `a//b` are refused). Unused for the first file
    /// (the plugin names the program); `file<i>.code` when missing, as in
    /// Piston.
    #[serde(default)]
    pub name: Option<String>,
    /// Content, in `encoding`; UTF-8 text once decoded.
    pub content: String,
    /// `utf8` (default), `base64` or `hex`.
    #[serde(default)]
    pub encoding: Option<String>,
}

/// `POST /api/v2/execute` body, as Piston defines it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PistonRequest {
    /// Language name or alias.
    pub language: String,
    /// Version (`*` for any).
    #[serde(default)]
    pub version: Option<String>,
    /// Files; the first is the program, the others are written beside it.
    pub files: Vec<PistonFile>,
    /// Standard input.
    #[serde(default)]
    pub stdin: Option<String>,
    /// Program arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// Compile wall time, ms (-1: the language's default).
    #[serde(default)]
    pub compile_timeout: Option<i64>,
    /// Run wall time, ms.
    #[serde(default)]
    pub run_timeout: Option<i64>,
    /// Compile CPU time, ms (-1: the language's default).
    #[serde(default)]
    pub compile_cpu_time: Option<i64>,
    /// Run CPU time, ms.
    #[serde(default)]
    pub run_cpu_time: Option<i64>,
    /// Compile memory, bytes (-1: default).
    #[serde(default)]
    pub compile_memory_limit: Option<i64>,
    /// Run memory, bytes (-1: default).
    #[serde(default)]
    pub run_memory_limit: Option<i64>,
}

/// One stage (`compile` or `run`) of a Piston response.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PistonStage {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Both, interleaved as far as known (stdout then stderr).
    pub output: String,
    /// Exit code, `null` when killed by a signal.
    pub code: Option<i32>,
    /// Signal name (`SIGKILL`).
    pub signal: Option<String>,
    /// Detail on limits and errors.
    pub message: Option<String>,
    /// `RE`, `SG`, `TO`, `OL`, `XX` or `null` when fine.
    pub status: Option<String>,
    /// Peak memory, bytes.
    pub memory: u64,
    /// CPU time, ms.
    pub cpu_time: u64,
    /// Wall time, ms.
    pub wall_time: u64,
}

/// `POST /api/v2/execute` answer, as Piston gives it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PistonResponse {
    /// Canonical language name.
    pub language: String,
    /// Version served.
    pub version: String,
    /// The run stage; when the compile step failed, a copy of the compile
    /// stage (as Piston answers: its clients expect `run` on every answer).
    pub run: PistonStage,
    /// The compile stage, for compiled languages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compile: Option<PistonStage>,
}

/// `POST /api/v2/execute`.
#[utoipa::path(
    post,
    path = "/api/v2/execute",
    tag = "piston",
    request_body = PistonRequest,
    params(BatchRun<Piston>),
    responses(
        (status = 200, description = "The program ran", body = PistonResponse),
        (status = 400, description = "Bad request, an unknown language or version: `{message}`"),
        (status = 415, description = "The body is not declared JSON: `{message}` (JSON declared `text/plain` is read as JSON when the request has no `Origin` header, as the npm `piston-client` sends it)"),
        BatchRun<Piston>
    )
)]
pub async fn execute(
    State(state): State<Arc<AppState>>,
    _: BatchRun<Piston>,
    ExecuteBody(req): ExecuteBody,
) -> Result<Json<PistonResponse>, ApiError> {
    run(&state, req)
        .await
        .map(Json)
        .map_err(|e| e.in_shape(Shape::Piston))
}

/// The body of `POST /api/v2/execute`: JSON declared `application/json`, as
/// Piston takes it, or JSON declared `text/plain` by a program that is not
/// a browser. The npm `piston-client` (1.0.2, through node-fetch 2) posts
/// its JSON as a string without a content type, which node-fetch declares
/// `text/plain;charset=UTF-8`; the public Piston it was written for takes
/// that. A browser sends `Origin` with every POST, so a page still cannot
/// make one without the CORS preflight a JSON body needs: such a body is
/// refused with 415, as Piston refuses it.
pub struct ExecuteBody(pub PistonRequest);

impl FromRequest<Arc<AppState>> for ExecuteBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, ApiError> {
        let req = if plain_text_from_a_program(req.headers()) {
            let (mut parts, body) = req.into_parts();
            parts.headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            Request::from_parts(parts, body)
        } else {
            req
        };
        let Body(body, _) = Body::<PistonRequest, Piston>::from_request(req, state).await?;
        Ok(Self(body))
    }
}

/// Whether a request declares `text/plain` and comes from no web page (no
/// `Origin` header).
fn plain_text_from_a_program(headers: &HeaderMap) -> bool {
    let plain = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/plain"));
    plain && !headers.contains_key(header::ORIGIN)
}

/// Checks, queues and waits for a Piston request's job. Each check runs
/// once, in this order: language and version, files, limits, sizes, then
/// the plugin's validation.
async fn run(state: &AppState, req: PistonRequest) -> Result<PistonResponse, ApiError> {
    let lang = resolve(state, &req).map_err(ApiError::bad_request)?;
    let (code, files) = files(&req.files).map_err(ApiError::bad_request)?;
    let (limits, compile_limits) = limits(&req).map_err(ApiError::bad_request)?;
    let job = BatchJob {
        code,
        stdin: req.stdin.unwrap_or_default(),
        args: req.args,
        limits,
        compile_limits,
        files,
    };
    checks::check_sizes(&state.cfg, &job).map_err(ApiError::bad_request)?;
    let job_id = uuid::Uuid::new_v4().to_string();
    match batch::submit(state, &job_id, &lang, job).await {
        Ok(()) => {}
        Err(Refused::Http(e)) => return Err(e),
        Err(Refused::Rejected(message, _)) => return Err(ApiError::bad_request(message)),
    }
    let outcome = batch::wait_for_end(state, &job_id, &lang.name, WAIT_LIMIT).await?;
    Ok(respond(lang, outcome))
}

/// The language a request asks for, in the version asked for.
fn resolve(state: &AppState, req: &PistonRequest) -> Result<LanguageInfo, String> {
    let version = req.version.as_deref().unwrap_or("*");
    let unknown = || format!("{}-{} runtime is unknown", req.language, version);
    let lang = state.languages.resolve(&req.language).ok_or_else(unknown)?;
    // One version per language is served; a request for another is
    // refused as Piston refuses it, naming the version served.
    if !version_matches(version, &lang.version) {
        return Err(format!(
            "{} (served: {} {})",
            unknown(),
            lang.name,
            lang.version
        ));
    }
    Ok(lang)
}

/// The run and compile limits a request asks for, within the deployment's
/// caps.
fn limits(req: &PistonRequest) -> Result<(LimitOverrides, LimitOverrides), String> {
    let run = [req.run_timeout, req.run_cpu_time, req.run_memory_limit];
    let compile = [
        req.compile_timeout,
        req.compile_cpu_time,
        req.compile_memory_limit,
    ];
    Ok((step_limits("run", run)?, step_limits("compile", compile)?))
}

/// One step's limits from Piston's `<step>_timeout`, `<step>_cpu_time` and
/// `<step>_memory_limit` (-1 or nothing: the language's default).
fn step_limits(
    step: &str,
    [wall, cpu, memory]: [Option<i64>; 3],
) -> Result<LimitOverrides, String> {
    let limits = LimitOverrides {
        wall_time_ms: positive(wall),
        cpu_time_ms: positive(cpu),
        memory_bytes: positive(memory),
        ..Default::default()
    };
    checks::caps(&limits).map_err(|e| cap_message(step, e))?;
    Ok(limits)
}

/// A cap refusal naming the Piston field that asked for the limit
/// (`run_timeout`, `compile_memory_limit`).
fn cap_message(step: &str, e: CapError) -> String {
    let field = match e.limit {
        Limit::WallTime => format!("{step}_timeout"),
        Limit::CpuTime => format!("{step}_cpu_time"),
        Limit::Memory => format!("{step}_memory_limit"),
        // Piston has no output limit to ask for.
        Limit::Output => format!("limits.{}", e.limit.name()),
    };
    e.message(&field)
}

/// The program's text and the other files, decoded, with names checked.
fn files(files: &[PistonFile]) -> Result<(String, Vec<ExtraFile>), String> {
    let Some((main, rest)) = files.split_first() else {
        return Err("files must contain at least one file".into());
    };
    // Piston's default name; an empty name is no name (as in JavaScript).
    let name_of = |i: usize, f: &PistonFile| match f.name.as_deref() {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => format!("file{i}.code"),
    };
    let main_name = name_of(0, main);
    ExtraFile::check_name(&main_name)?;
    let code = decode(&main.content, main.encoding.as_deref())
        .map_err(|m| format!("file {main_name:?}: {m}"))?;
    let mut extra = Vec::with_capacity(rest.len());
    for (i, f) in rest.iter().enumerate() {
        let name = name_of(i + 1, f);
        ExtraFile::check_name(&name)?;
        let content =
            decode(&f.content, f.encoding.as_deref()).map_err(|m| format!("file {name:?}: {m}"))?;
        extra.push(ExtraFile { name, content });
    }
    checks::check_file_names(&extra)?;
    if let Some(f) = extra
        .iter()
        .find(|f| codr_job::paths_clash(&f.name, &main_name))
    {
        return Err(checks::clash(&main_name, &f.name));
    }
    Ok((code, extra))
}

/// Whether a Piston version request matches the version served, as
/// Piston's node-semver does: `*` (or nothing) matches any; a full version
/// (`3.10.0`) only itself; a partial one (`3`, `3.10`) any version it
/// begins; otherwise a range (`>=3.8`, `^3.10.0`, `3.x`). A served version
/// that is not `x.y.z` is padded with zeros (`17` is `17.0.0`).
fn version_matches(request: &str, served: &str) -> bool {
    let request = request.trim();
    if request.is_empty() || request == "*" || request == served {
        return true;
    }
    let Ok(served) = semver::Version::parse(&padded(served)) else {
        return false;
    };
    let numeric = request
        .split('.')
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if numeric {
        let parts: Vec<u64> = request.split('.').filter_map(|p| p.parse().ok()).collect();
        let have = [served.major, served.minor, served.patch];
        return parts.len() <= 3 && parts.iter().zip(have).all(|(want, have)| *want == have);
    }
    semver::VersionReq::parse(request).is_ok_and(|req| req.matches(&served))
}

/// `17` as `17.0.0`, `3.11` as `3.11.0`; anything else as it is.
fn padded(version: &str) -> String {
    match version.split('.').count() {
        1 => format!("{version}.0.0"),
        2 => format!("{version}.0"),
        _ => version.to_string(),
    }
}

/// Piston's "-1 means default".
fn positive(v: Option<i64>) -> Option<u64> {
    v.filter(|v| *v > 0).map(|v| v as u64)
}

/// Decodes a file's content.
fn decode(content: &str, encoding: Option<&str>) -> Result<String, String> {
    let bytes = match encoding.unwrap_or("utf8") {
        "utf8" | "utf-8" => return Ok(content.to_string()),
        "base64" => base64::engine::general_purpose::STANDARD
            .decode(content.trim())
            .map_err(|e| format!("content is not valid base64: {e}"))?,
        "hex" => {
            hex::decode(content.trim()).map_err(|e| format!("content is not valid hex: {e}"))?
        }
        other => return Err(format!("unknown encoding {other:?} (utf8, base64 or hex)")),
    };
    String::from_utf8(bytes).map_err(|_| {
        "content is not UTF-8 text once decoded (binary files are not supported)".into()
    })
}

/// Piston's short status of an outcome.
fn piston_status(o: &Outcome) -> Option<String> {
    let s = match o.status {
        Status::Ok => return None,
        Status::RuntimeError if o.signal.is_some() => "SG",
        Status::RuntimeError | Status::CompileError | Status::Rejected => "RE",
        // Piston has no idle status: a session that waited too long timed out.
        Status::TimeLimit | Status::IdleTimeout => "TO",
        Status::OutputLimit => "OL",
        // Piston has no status of its own for it: a write failed (ENOSPC).
        Status::DiskLimit => "RE",
        Status::MemoryLimit => "SG",
        Status::InternalError => "XX",
    };
    Some(s.to_string())
}

/// The Piston response of a finished job.
fn respond(lang: LanguageInfo, o: Outcome) -> PistonResponse {
    let compile = o.compile_output.as_ref().map(|text| {
        let failed = matches!(o.status, Status::CompileError)
            || (o
                .message
                .as_deref()
                .is_some_and(|m| m.starts_with("compile:")));
        PistonStage {
            stdout: String::new(),
            stderr: text.clone(),
            output: text.clone(),
            code: if failed { o.exit_code } else { Some(0) },
            signal: if failed { o.signal.clone() } else { None },
            message: if failed { o.message.clone() } else { None },
            status: if failed { piston_status(&o) } else { None },
            memory: if failed { o.memory_bytes } else { 0 },
            cpu_time: if failed { o.cpu_time_ms } else { 0 },
            wall_time: if failed { o.wall_time_ms } else { 0 },
        }
    });
    let failed_compile = compile.as_ref().filter(|c| c.status.is_some());
    let run = failed_compile.cloned().unwrap_or_else(|| PistonStage {
        output: format!("{}{}", o.stdout, o.stderr),
        code: if o.signal.is_some() && o.status != Status::Ok {
            None
        } else {
            o.exit_code
        },
        signal: o.signal.clone(),
        message: o.message.clone(),
        status: piston_status(&o),
        memory: o.memory_bytes,
        cpu_time: o.cpu_time_ms,
        wall_time: o.wall_time_ms,
        stdout: o.stdout,
        stderr: o.stderr,
    });
    PistonResponse {
        language: lang.name,
        version: lang.version,
        run,
        compile,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piston_file(name: Option<&str>, content: &str, encoding: Option<&str>) -> PistonFile {
        PistonFile {
            name: name.map(Into::into),
            content: content.into(),
            encoding: encoding.map(Into::into),
        }
    }

    #[test]
    fn first_file_is_the_program_the_others_go_beside() {
        let (code, extra) = files(&[
            piston_file(Some("main.py"), "import helper", None),
            piston_file(Some("helper.py"), "aGk=", Some("base64")),
            piston_file(None, "6869", Some("hex")),
        ])
        .unwrap();
        assert_eq!(code, "import helper");
        let names: Vec<_> = extra.iter().map(|f| (&*f.name, &*f.content)).collect();
        assert_eq!(names, [("helper.py", "hi"), ("file2.code", "hi")]);
    }

    #[test]
    fn bad_names_and_contents_are_refused() {
        for bad in ["../x", "/etc/x", "a/../../x", "a//b"] {
            let m = files(&[
                piston_file(None, "x", None),
                piston_file(Some(bad), "x", None),
            ])
            .unwrap_err();
            assert!(m.contains("not allowed"), "{bad}: {m}");
        }
        let m = files(&[piston_file(Some("/etc/x"), "x", None)]).unwrap_err();
        assert!(m.contains("not allowed"), "{m}");
        let clash = files(&[
            piston_file(Some("a.py"), "x", None),
            piston_file(Some("a.py"), "y", None),
        ]);
        assert!(clash.unwrap_err().contains("clash"));
        let binary = files(&[
            piston_file(None, "x", None),
            piston_file(Some("b.bin"), "ff00", Some("hex")),
        ]);
        let m = binary.unwrap_err();
        assert!(m.contains("b.bin") && m.contains("binary"), "{m}");
        assert!(files(&[]).is_err());
    }

    #[test]
    fn versions_match_as_piston_matches_them() {
        for (request, served) in [
            ("*", "3.11.2"),
            ("", "3.11.2"),
            ("3.11.2", "3.11.2"),
            ("3", "3.11.2"),
            ("3.11", "3.11.2"),
            ("3.x", "3.11.2"),
            (">=3.8", "3.11.2"),
            ("^3.10.0", "3.11.2"),
            ("17", "17"),
            ("17.0.0", "17"),
        ] {
            assert!(version_matches(request, served), "{request} ~ {served}");
        }
        for (request, served) in [
            ("3.10.0", "3.11.2"),
            ("3.10", "3.11.2"),
            ("2", "3.11.2"),
            ("<3", "3.11.2"),
            ("banana", "3.11.2"),
            ("1.2.3.4", "1.2.3"),
        ] {
            assert!(!version_matches(request, served), "{request} !~ {served}");
        }
    }

    #[test]
    fn plain_text_is_json_only_from_programs() {
        let headers = |pairs: &[(header::HeaderName, &'static str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(k, HeaderValue::from_static(v));
            }
            h
        };
        let node_fetch = || (header::CONTENT_TYPE, "text/plain;charset=UTF-8");
        assert!(plain_text_from_a_program(&headers(&[node_fetch()])));
        assert!(plain_text_from_a_program(&headers(&[(
            header::CONTENT_TYPE,
            "Text/Plain"
        )])));
        let page = (header::ORIGIN, "https://example.org");
        assert!(!plain_text_from_a_program(&headers(&[node_fetch(), page])));
        for other in [
            "application/x-www-form-urlencoded",
            "text/plainx",
            "text/html",
        ] {
            let h = headers(&[(header::CONTENT_TYPE, other)]);
            assert!(!plain_text_from_a_program(&h), "{other}");
        }
        assert!(!plain_text_from_a_program(&HeaderMap::new()));
    }

    #[test]
    fn contents_decode() {
        assert_eq!(decode("print(1)", None).unwrap(), "print(1)");
        assert_eq!(decode("cHJpbnQoMSk=", Some("base64")).unwrap(), "print(1)");
        assert_eq!(decode("7072696e74283129", Some("hex")).unwrap(), "print(1)");
        assert!(decode("zz", Some("hex")).is_err());
        assert!(decode("x", Some("rot13")).is_err());
    }
}
