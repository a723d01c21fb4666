//! The protocol suite, run against every deployment shape (embedded serve,
//! gateway + workers over Redis).
use std::time::Duration;

use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use futures::SinkExt;

use super::{http, now, sign_token, Cases, Service, Transcript, API_KEY, API_KEY_2, JWT_SECRET};

/// A hello-world per language and the text it prints.
pub const HELLO: &[(&str, &str, &str)] = &[
    ("python", "print('hello from python')\n", "hello from python"),
    (
        "javascript",
        "console.log('hello from javascript');\n",
        "hello from javascript",
    ),
    (
        "c",
        "#include <stdio.h>\nint main(void) { printf(\"hello from c\\n\"); return 0; }\n",
        "hello from c",
    ),
    (
        "cpp",
        "#include <iostream>\nint main() { std::cout << \"hello from cpp\" << std::endl; return 0; }\n",
        "hello from cpp",
    ),
    (
        "rust",
        "fn main() { println!(\"hello from rust\"); }\n",
        "hello from rust",
    ),
];

/// A program per language that prompts `name?`, reads one line and greets.
pub const ECHO: &[(&str, &str)] = &[
    ("python", "name = input('name? ')\nprint('hi ' + name)\n"),
    (
        "javascript",
        "const readline = require('readline');\n\
         const rl = readline.createInterface({ input: process.stdin, output: process.stdout });\n\
         rl.question('name? ', (name) => { console.log('hi ' + name); rl.close(); });\n",
    ),
    (
        "c",
        "#include <stdio.h>\nint main(void) {\n  char name[64];\n  printf(\"name? \");\n  fflush(stdout);\n  \
         if (scanf(\"%63s\", name) != 1) return 1;\n  printf(\"hi %s\\n\", name);\n  return 0;\n}\n",
    ),
    (
        "cpp",
        "#include <iostream>\n#include <string>\nint main() {\n  std::string name;\n  std::cout << \"name? \" << std::flush;\n  \
         std::cin >> name;\n  std::cout << \"hi \" << name << std::endl;\n  return 0;\n}\n",
    ),
    (
        "rust",
        "use std::io::{self, BufRead, Write};\nfn main() {\n    print!(\"name? \");\n    io::stdout().flush().unwrap();\n    \
         let mut name = String::new();\n    io::stdin().lock().read_line(&mut name).unwrap();\n    \
         println!(\"hi {}\", name.trim());\n}\n",
    ),
];

const LONG: Duration = Duration::from_secs(60);

/// Every case of the protocol suite, against `svc`.
pub async fn run_all(svc: &Service) {
    let mut cases = Cases::new(svc.mode);
    for (lang, code, want) in HELLO {
        cases
            .case(&format!("runs_{lang}"), async {
                let t = svc.run(lang, code).await;
                t.assert_ok();
                assert!(t.output.contains(want), "output {:?}", t.output);
                assert!(t.closed_cleanly, "no clean close after complete");
            })
            .await;
    }
    for (lang, code) in ECHO {
        cases
            .case(
                &format!("interactive_input_{lang}"),
                interactive(svc, lang, code),
            )
            .await;
    }
    cases.case("stage_messages", stage_messages(svc)).await;
    cases.case("runtime_error_status", runtime_error(svc)).await;
    cases.case("compile_error_status", compile_error(svc)).await;
    cases
        .case("validation_diagnostics", validation_diagnostics(svc))
        .await;
    cases.case("kill_message", kill_message(svc)).await;
    cases.case("resize_message", resize_message(svc)).await;
    cases.case("missing_api_key", missing_key(svc)).await;
    cases.case("wrong_api_key", wrong_key(svc)).await;
    cases.case("second_api_key_works", second_key(svc)).await;
    cases.case("forged_token", forged_token(svc)).await;
    cases.case("expired_token", expired_token(svc)).await;
    cases.case("reused_token", reused_token(svc)).await;
    cases
        .case("token_of_another_job", token_of_other_job(svc))
        .await;
    cases
        .case(
            "malformed_json",
            first_frame(svc, "{not json", "malformed JSON"),
        )
        .await;
    cases
        .case(
            "unknown_message_type",
            first_frame(svc, r#"{"type":"dance"}"#, "unknown message type"),
        )
        .await;
    cases
        .case(
            "input_before_execute",
            first_frame(svc, r#"{"type":"input","data":"x"}"#, "first message"),
        )
        .await;
    cases.case("unknown_language", unknown_language(svc)).await;
    cases.case("oversized_code", oversized_code(svc)).await;
    cases.case("oversized_input", oversized_input(svc)).await;
    cases.case("binary_frame", binary_frame(svc)).await;
    cases
        .case("bad_message_mid_job", bad_message_mid_job(svc))
        .await;
    cases
        .case("no_first_message_in_5s", silent_client(svc))
        .await;
    cases.case("languages_endpoint", languages(svc)).await;
    cases.case("health_endpoint", health(svc)).await;
    cases.case("metrics_endpoint", metrics(svc)).await;
    cases
        .case("still_serving_after_abuse", async {
            svc.run("python", "print(40 + 2)\n").await.assert_ok();
        })
        .await;
    cases.finish();
}

async fn interactive(svc: &Service, lang: &str, code: &str) {
    let t = svc.converse(lang, code, ("name?", "alice\n"), LONG).await;
    assert!(t.output.contains("hi alice"), "output {:?}", t.output);
}

async fn stage_messages(svc: &Service) {
    let t = svc
        .run(
            "c",
            "#include <stdio.h>\nint main(void){puts(\"x\");return 0;}\n",
        )
        .await;
    t.assert_ok();
    let stages: Vec<&str> = t
        .messages
        .iter()
        .filter(|m| m["type"] == "stage")
        .filter_map(|m| m["stage"].as_str())
        .collect();
    assert!(stages.contains(&"compiling"), "stages {stages:?}");
    assert!(stages.contains(&"running"), "stages {stages:?}");
}

async fn runtime_error(svc: &Service) {
    let t = svc
        .run("python", "print('bye')\nraise SystemExit(3)\n")
        .await;
    let c = t.complete.as_ref().expect("complete");
    assert_eq!(c["status"], "runtime_error", "{c}");
    assert_eq!(c["exit_code"], 3, "{c}");
}

async fn compile_error(svc: &Service) {
    let t = svc
        .run("c", "int main(void) { return undefined_thing; }\n")
        .await;
    let out = t.assert_compile_error();
    assert!(out.contains("undefined_thing"), "compile output {out:?}");
}

async fn validation_diagnostics(svc: &Service) {
    // Every built-in plugin refuses a shell-out through its own rules.
    let t = svc.run("python", "import os\nos.system('id')\n").await;
    let err = t
        .error
        .as_ref()
        .unwrap_or_else(|| panic!("not rejected: {:?}", t.messages));
    let diags = err["diagnostics"].as_array().expect("diagnostics");
    assert!(!diags.is_empty());
    assert!(diags[0]["line"].as_u64().unwrap_or(0) >= 1, "{err}");
    assert!(diags[0]["column"].as_u64().unwrap_or(0) >= 1, "{err}");
    assert!(t.closed_cleanly);
}

async fn kill_message(svc: &Service) {
    let (mut ws, mut t) = svc.start_running("python", "time.sleep(30)\n", LONG).await;
    let sent = std::time::Instant::now();
    ws.send_json(json!({"type": "kill"})).await;
    ws.finish(Duration::from_secs(10), &mut t).await;
    let c = t
        .complete
        .as_ref()
        .unwrap_or_else(|| panic!("{:?}", t.messages));
    assert_ne!(c["status"], "ok", "{c}");
    assert!(
        sent.elapsed() < Duration::from_secs(3),
        "kill took {:?}",
        sent.elapsed()
    );
}

async fn resize_message(svc: &Service) {
    let mut ws = svc
        .start_job("python", "name = input('name? ')\nprint('hi ' + name)\n")
        .await;
    let mut t = Transcript::default();
    assert!(ws.read_until_output("name?", LONG, &mut t).await);
    ws.send_json(json!({"type": "resize", "rows": 40, "cols": 120}))
        .await;
    ws.input("bob\n").await;
    ws.finish(LONG, &mut t).await;
    t.assert_ok();
    assert!(t.output.contains("hi bob"), "{:?}", t.output);
}

/// `POST /api/jobs/create` with `key` in `X-API-Key` (none: no header).
async fn create(svc: &Service, key: Option<&str>) -> reqwest::Response {
    let mut r = http().post(format!("{}/api/jobs/create", svc.http()));
    if let Some(key) = key {
        r = r.header("X-API-Key", key);
    }
    r.send().await.unwrap()
}

async fn missing_key(svc: &Service) {
    let r = create(svc, None).await;
    assert_eq!(r.status(), 401);
}

async fn wrong_key(svc: &Service) {
    let r = create(svc, Some(&format!("{API_KEY}x"))).await;
    assert_eq!(r.status(), 401);
}

async fn second_key(svc: &Service) {
    let r = create(svc, Some(API_KEY_2)).await;
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body["expires_at"].as_str().is_some(), "{body}");
}

async fn execute_with(svc: &Service, job_id: &str, token: &str) -> Transcript {
    let mut ws = svc.connect().await;
    ws.send_json(json!({
        "type": "execute", "job_id": job_id, "job_token": token,
        "code": "print(1)\n", "language": "python",
    }))
    .await;
    ws.transcript(LONG).await
}

async fn forged_token(svc: &Service) {
    let (job_id, _) = svc.create_job().await;
    let forged = sign_token("not-the-secret", &job_id, now() + 600);
    execute_with(svc, &job_id, &forged)
        .await
        .assert_error("invalid job token");
    execute_with(svc, &job_id, "garbage.token.here")
        .await
        .assert_error("invalid job token");
}

async fn expired_token(svc: &Service) {
    let (job_id, _) = svc.create_job().await;
    let expired = sign_token(JWT_SECRET, &job_id, now() - 5);
    execute_with(svc, &job_id, &expired)
        .await
        .assert_error("expired");
}

async fn reused_token(svc: &Service) {
    let (job_id, token) = svc.create_job().await;
    execute_with(svc, &job_id, &token).await.assert_ok();
    execute_with(svc, &job_id, &token)
        .await
        .assert_error("already used");
}

async fn token_of_other_job(svc: &Service) {
    let (job_a, token_a) = svc.create_job().await;
    let (job_b, _) = svc.create_job().await;
    assert_ne!(job_a, job_b);
    execute_with(svc, &job_b, &token_a)
        .await
        .assert_error("does not belong");
    execute_with(svc, &job_b, &sign_token(JWT_SECRET, &job_a, now() + 60))
        .await
        .assert_error("does not belong");
}

async fn first_frame(svc: &Service, text: &str, needle: &str) {
    let mut ws = svc.connect().await;
    ws.send_text(text).await;
    ws.transcript(LONG).await.assert_error(needle);
}

async fn unknown_language(svc: &Service) {
    let (job_id, token) = svc.create_job().await;
    let mut ws = svc.connect().await;
    ws.send_json(json!({
        "type": "execute", "job_id": job_id, "job_token": token,
        "code": "print 1", "language": "cobol",
    }))
    .await;
    ws.transcript(LONG).await.assert_error("unknown language");
}

async fn oversized_code(svc: &Service) {
    let code = format!("print('x')\n#{}\n", "a".repeat(11 * 1024));
    svc.run("python", &code)
        .await
        .assert_error("limit is 10240 bytes");
}

/// An oversized input is refused with a notice; the job goes on and takes
/// the next input.
async fn oversized_input(svc: &Service) {
    let mut ws = svc
        .start_job("python", "name = input('name? ')\nprint('hi', name)\n")
        .await;
    let mut t = Transcript::default();
    assert!(ws.read_until_output("name?", LONG, &mut t).await);
    ws.input(&"y".repeat(11 * 1024)).await;
    ws.input("bob\n").await;
    ws.finish(LONG, &mut t).await;
    let notice = t.messages.iter().find(|m| m["type"] == "notice");
    let notice = notice.unwrap_or_else(|| panic!("no notice: {:?}", t.messages));
    assert!(
        notice["message"]
            .as_str()
            .unwrap()
            .contains("limit is 10240 bytes"),
        "{notice}"
    );
    t.assert_ok();
    assert!(t.output.contains("hi bob"), "{:?}", t.output);
    assert!(
        !t.output.contains("yyy"),
        "the oversized input reached the program"
    );
}

async fn binary_frame(svc: &Service) {
    let mut ws = svc.connect().await;
    ws.ws
        .send(Message::binary(b"\x00\x01binary".to_vec()))
        .await
        .unwrap();
    ws.transcript(LONG).await.assert_error("binary frames");
}

/// Unknown types (a client's `ping`) are ignored; a malformed message gets
/// a notice; the job goes on either way.
async fn bad_message_mid_job(svc: &Service) {
    let mut ws = svc
        .start_job("python", "name = input('name? ')\nprint('hi', name)\n")
        .await;
    let mut t = Transcript::default();
    assert!(ws.read_until_output("name?", LONG, &mut t).await);
    ws.send_text(r#"{"type":"teleport"}"#).await;
    ws.send_text(r#"{"type":"ping"}"#).await;
    ws.send_text("{not json").await;
    ws.input("bob\n").await;
    ws.finish(LONG, &mut t).await;
    t.assert_ok();
    assert!(t.output.contains("hi bob"), "{:?}", t.output);
    let notices: Vec<_> = t
        .messages
        .iter()
        .filter(|m| m["type"] == "notice")
        .collect();
    assert_eq!(
        notices.len(),
        1,
        "one notice, for the malformed message: {notices:?}"
    );
    assert!(
        notices[0]["message"]
            .as_str()
            .unwrap()
            .contains("malformed JSON"),
        "{notices:?}"
    );
}

async fn silent_client(svc: &Service) {
    let mut ws = svc.connect().await;
    let start = std::time::Instant::now();
    let t = ws.transcript(Duration::from_secs(15)).await;
    t.assert_error("within 5 s");
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(4500) && took < Duration::from_secs(8),
        "closed after {took:?}"
    );
}

async fn languages(svc: &Service) {
    let r = svc.fetch("/api/languages").await;
    assert_eq!(r.status(), 200);
    let list: Vec<serde_json::Value> = r.json().await.unwrap();
    for (lang, _, _) in HELLO {
        let entry = list
            .iter()
            .find(|l| l["name"] == *lang)
            .unwrap_or_else(|| panic!("{lang} missing from {list:?}"));
        for field in ["version", "extension", "editor_mode"] {
            assert!(entry[field].is_string(), "{lang}: {field} in {entry}");
        }
        assert!(entry["aliases"].is_array(), "{entry}");
    }
}

async fn health(svc: &Service) {
    let r = svc.fetch("/health").await;
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["broker"]["ok"], true, "{body}");
    assert!(
        body["workers"]["alive"].as_u64().unwrap_or(0) >= 1,
        "{body}"
    );
}

async fn metrics(svc: &Service) {
    let r = svc.fetch("/metrics").await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    for name in [
        "codr_jobs_total",
        "codr_job_duration_seconds_bucket",
        "codr_queue_depth",
        "codr_ws_connections_active",
    ] {
        assert!(text.contains(name), "{name} missing from /metrics:\n{text}");
    }
    assert!(text.contains("language=\"python\""), "{text}");
}

/// Creates jobs until the limiter answers 429; checks Retry-After.
pub async fn rate_limited(svc: &Service, per_minute: usize) {
    for i in 0..per_minute {
        let r = create(svc, Some(API_KEY)).await;
        assert_eq!(r.status(), 200, "creation {i} refused");
    }
    let r = create(svc, Some(API_KEY)).await;
    assert_eq!(r.status(), 429);
    let retry: u64 = r
        .headers()
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
}
