//! End-to-end: the batch API (`/api/v1/execute`, `/api/v1/jobs/{id}`), the
//! Piston v2 compatible API and the OpenAPI document, against the real binary.
mod common;

use std::time::Duration;

use common::{answer, assert_piston_error, http, post, suite, Cases, Service, API_KEY};
use serde_json::{json, Value};

async fn v1(svc: &Service, body: Value) -> (u16, Value) {
    post(svc, "/api/v1/execute", body).await
}

async fn v2(svc: &Service, body: Value) -> (u16, Value) {
    post(svc, "/api/v2/execute", body).await
}

/// A program per language that reads one line of stdin and greets.
const STDIN: &[(&str, &str)] = &[
    ("python", "print('hi ' + input())\n"),
    (
        "javascript",
        "let d = '';\nprocess.stdin.on('data', c => d += c);\nprocess.stdin.on('end', () => console.log('hi ' + d.trim()));\n",
    ),
    (
        "c",
        "#include <stdio.h>\nint main(void){char s[64]; if (scanf(\"%63s\", s) != 1) return 1; printf(\"hi %s\\n\", s); return 0;}\n",
    ),
    (
        "cpp",
        "#include <iostream>\n#include <string>\nint main(){std::string s; std::cin >> s; std::cout << \"hi \" << s << std::endl;}\n",
    ),
    (
        "rust",
        "fn main(){ let mut s = String::new(); std::io::stdin().read_line(&mut s).unwrap(); println!(\"hi {}\", s.trim()); }\n",
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn batch_and_piston_apis() {
    let svc = Service::embedded(&[]);
    svc.wait_healthy(Duration::from_secs(30)).await;
    let mut cases = Cases::new("batch");
    for (lang, code, want) in suite::HELLO {
        cases
            .case(&format!("v1_runs_{lang}"), async {
                let (status, r) = v1(&svc, json!({"language": lang, "code": code})).await;
                assert_eq!(status, 200, "{r}");
                assert_eq!(r["status"], "ok", "{r}");
                assert_eq!(r["exit_code"], 0, "{r}");
                assert!(r["stdout"].as_str().unwrap().contains(want), "{r}");
                for field in [
                    "signal",
                    "stderr",
                    "compile_output",
                    "wall_time_ms",
                    "cpu_time_ms",
                    "memory_bytes",
                ] {
                    assert!(r.get(field).is_some(), "{field} missing: {r}");
                }
            })
            .await;
        cases
            .case(&format!("v2_runs_{lang}"), async {
                let (status, r) = v2(
                    &svc,
                    json!({"language": lang, "version": "*", "files": [{"content": code}]}),
                )
                .await;
                assert_eq!(status, 200, "{r}");
                assert_eq!(r["language"], *lang, "{r}");
                assert!(r["version"].is_string(), "{r}");
                assert_eq!(r["run"]["code"], 0, "{r}");
                assert!(r["run"]["stdout"].as_str().unwrap().contains(want), "{r}");
                assert!(r["run"]["output"].as_str().unwrap().contains(want), "{r}");
                assert!(r["run"]["status"].is_null(), "{r}");
                let compiled = matches!(*lang, "c" | "cpp" | "rust");
                assert_eq!(r.get("compile").is_some(), compiled, "{r}");
            })
            .await;
    }
    for (lang, code) in STDIN {
        cases
            .case(&format!("stdin_{lang}"), async {
                let (_, r) = v1(
                    &svc,
                    json!({"language": lang, "code": code, "stdin": "bob\n"}),
                )
                .await;
                assert_eq!(r["status"], "ok", "{r}");
                assert_eq!(r["stdout"].as_str().unwrap().trim(), "hi bob", "{r}");
                let (_, r) = v2(
                    &svc,
                    json!({"language": lang, "files": [{"content": code}], "stdin": "eve\n"}),
                )
                .await;
                assert_eq!(r["run"]["stdout"].as_str().unwrap().trim(), "hi eve", "{r}");
            })
            .await;
    }
    cases
        .case("stdout_and_stderr_apart_with_exit_code", async {
            let code = "#include <stdio.h>\nint main(void){ printf(\"out\\n\"); fflush(stdout); fprintf(stderr, \"err\\n\"); return 4; }\n";
            let (_, r) = v1(&svc, json!({"language": "c", "code": code})).await;
            assert_eq!(r["status"], "runtime_error", "{r}");
            assert_eq!(r["exit_code"], 4, "{r}");
            assert_eq!(r["stdout"], "out\n", "{r}");
            assert_eq!(r["stderr"], "err\n", "{r}");
            let (_, r) = v2(&svc, json!({"language": "c", "files": [{"content": code}]})).await;
            assert_eq!(r["run"]["code"], 4, "{r}");
            assert_eq!(r["run"]["status"], "RE", "{r}");
            assert_eq!(r["run"]["stdout"], "out\n", "{r}");
            assert_eq!(r["run"]["stderr"], "err\n", "{r}");
        })
        .await;
    cases
        .case("compile_error_in_compile", async {
            let code = "int main(void) { return nope; }\n";
            let (_, r) = v1(&svc, json!({"language": "c", "code": code})).await;
            assert_eq!(r["status"], "compile_error", "{r}");
            assert!(
                r["compile_output"].as_str().unwrap().contains("nope"),
                "{r}"
            );
            let (status, r) = v2(
                &svc,
                json!({"language": "c", "files": [{"name": "main.c", "content": code}]}),
            )
            .await;
            assert_eq!(status, 200, "{r}");
            assert_ne!(r["compile"]["code"], 0, "{r}");
            assert!(
                r["compile"]["output"].as_str().unwrap().contains("nope"),
                "{r}"
            );
            // As Piston answers: the run stage is the failed compile's.
            assert_eq!(r["run"], r["compile"], "{r}");
        })
        .await;
    cases
        .case("time_limit", async {
            let (_, r) = v1(&svc, json!({"language": "python", "code": "while True:\n    pass\n", "limits": {"wall_time_ms": 1000, "cpu_time_ms": 1000}})).await;
            assert_eq!(r["status"], "time_limit", "{r}");
            let (_, r) = v2(&svc, json!({"language": "python", "files": [{"content": "while True:\n    pass\n"}], "run_timeout": 1000})).await;
            assert_eq!(r["run"]["status"], "TO", "{r}");
        })
        .await;
    cases
        .case("output_limit", async {
            let code = "while True:\n    print('x' * 1000)\n";
            let (_, r) = v1(
                &svc,
                json!({"language": "python", "code": code, "limits": {"output_bytes": 10000}}),
            )
            .await;
            assert_eq!(r["status"], "output_limit", "{r}");
            assert!(r["stdout"].as_str().unwrap().len() <= 10000 + 1000, "{r}");
        })
        .await;
    cases
        .case("memory_limit", async {
            let code = "x = bytearray(400 * 1024 * 1024)\nprint(len(x))\n";
            let (_, r) = v1(&svc, json!({"language": "python", "code": code, "limits": {"memory_bytes": 64 * 1024 * 1024}})).await;
            assert!(
                r["status"] == "memory_limit" || (r["status"] == "runtime_error" && r["stderr"].as_str().unwrap_or("").contains("MemoryError")),
                "{r}"
            );
        })
        .await;
    cases
        .case("oversized_code_400", async {
            let code = format!("print(1)\n#{}\n", "a".repeat(11 * 1024));
            let (status, r) = v1(&svc, json!({"language": "python", "code": code})).await;
            assert_eq!(status, 400, "{r}");
            assert!(r["message"].as_str().unwrap().contains("10240"), "{r}");
            let (status, r) = v2(
                &svc,
                json!({"language": "python", "files": [{"content": code}]}),
            )
            .await;
            assert_eq!(status, 400, "{r}");
            assert!(r["message"].is_string(), "{r}");
        })
        .await;
    cases
        .case("limit_above_cap_400_names_cap", async {
            let (status, r) = v1(&svc, json!({"language": "python", "code": "print(1)", "limits": {"wall_time_ms": 999999999}})).await;
            assert_eq!(status, 400, "{r}");
            assert!(r["message"].as_str().unwrap().contains("cap of 30000"), "{r}");
            let (status, r) = v2(&svc, json!({"language": "python", "files": [{"content": "print(1)"}], "run_timeout": 999999999})).await;
            assert_eq!(status, 400, "{r}");
            assert!(r["message"].as_str().unwrap().contains("run_timeout"), "{r}");
        })
        .await;
    cases
        .case("unknown_language_400", async {
            let (status, r) = v1(&svc, json!({"language": "cobol", "code": "x"})).await;
            assert_eq!(status, 400, "{r}");
            assert!(
                r["message"].as_str().unwrap().contains("unknown language"),
                "{r}"
            );
            let (status, r) = v2(
                &svc,
                json!({"language": "cobol", "version": "*", "files": [{"content": "x"}]}),
            )
            .await;
            assert_eq!(status, 400, "{r}");
            assert_eq!(r["message"], "cobol-* runtime is unknown", "{r}");
        })
        .await;
    cases
        .case("piston_slashes_errors_and_versions", async {
            // aiopyston calls every route with a trailing slash.
            let (status, _, list) = answer(svc.get("/api/v2/runtimes/")).await;
            assert_eq!(status, 200, "{list}");
            let (status, r) = post(
                &svc,
                "/api/v2/execute/",
                json!({"language": "python", "version": "3", "files": [{"content": "print(1)"}]}),
            )
            .await;
            assert_eq!((status, &r["run"]["stdout"]), (200, &json!("1\n")), "{r}");
            // Piston's error shape: `{message}` alone, 415 for a body that
            // is not declared JSON, the key refused in the same shape.
            let form = http()
                .post(format!("{}/api/v2/execute", svc.http()))
                .header("X-API-Key", API_KEY)
                .body("language=python");
            let (status, _, body) = answer(form).await;
            assert_eq!(status, 415, "{body}");
            assert_piston_error(&body);
            let run = json!({"language": "python", "files": [{"content": "print(1)"}]});
            let wrong_key = keyless(&svc, "/api/v2/execute", &run).header("X-API-Key", "wrong");
            let (status, _, body) = answer(wrong_key).await;
            assert_eq!(status, 401, "{body}");
            assert_piston_error(&body);
            // A version that is not served: 400 naming the one that is.
            let (status, r) = v2(
                &svc,
                json!({"language": "python", "version": "2.7", "files": [{"content": "print(1)"}]}),
            )
            .await;
            assert_eq!(status, 400, "{r}");
            assert!(
                r["message"].as_str().unwrap().contains("served: python "),
                "{r}"
            );
        })
        .await;
    cases
        .case("piston_text_plain_json_from_programs_only", async {
            // The npm piston-client posts its JSON as text/plain (node-fetch's
            // type for a string body) and sends no Origin: read as JSON. A web
            // page always sends Origin: 415, as Piston answers.
            let run =
                json!({"language": "python", "version": "*", "files": [{"content": "print(1)"}]});
            let plain = || {
                http()
                    .post(format!("{}/api/v2/execute", svc.http()))
                    .header("X-API-Key", API_KEY)
                    .header("Content-Type", "text/plain;charset=UTF-8")
                    .body(run.to_string())
            };
            let (status, _, body) = answer(plain()).await;
            assert_eq!(
                (status, &body["run"]["stdout"]),
                (200, &json!("1\n")),
                "{body}"
            );
            let (status, _, body) = answer(plain().header("Origin", "https://example.org")).await;
            assert_eq!(status, 415, "{body}");
            assert_piston_error(&body);
            // Not JSON at all: a 400 in Piston's shape.
            let broken = plain().body("language=python");
            let (status, _, body) = answer(broken).await;
            assert_eq!(status, 400, "{body}");
            assert_piston_error(&body);
        })
        .await;
    cases
        .case("everyday_stdin_idioms_pass_the_rules", async {
            for (language, code) in [
                ("javascript", "const s = require('fs').readFileSync(0, 'utf8');\nconsole.log('hi ' + s.trim());\n"),
                ("python", "import sys\nsys.setrecursionlimit(5000)\nprint('hi ' + sys.stdin.readline().strip())\n"),
            ] {
                let (status, r) = v1(&svc, json!({"language": language, "code": code, "stdin": "eve\n"})).await;
                assert_eq!(status, 200, "{r}");
                assert_eq!((&r["status"], &r["stdout"]), (&json!("ok"), &json!("hi eve\n")), "{language}: {r}");
            }
        })
        .await;
    cases
        .case("rejected_code_has_diagnostics", async {
            let (status, r) = v1(&svc, json!({"language": "python", "code": "import os\n"})).await;
            assert_eq!(status, 200, "{r}");
            assert_eq!(r["status"], "rejected", "{r}");
            assert_eq!(r["diagnostics"][0]["line"], 1, "{r}");
        })
        .await;
    cases
        .case("wait_false_then_poll", async {
            let (status, r) = v1(
                &svc,
                json!({"language": "python", "code": "print('later')", "wait": false}),
            )
            .await;
            assert_eq!(status, 202, "{r}");
            let id = r["job_id"].as_str().unwrap().to_string();
            let r = svc.v1_result(&id, Duration::from_secs(30)).await;
            assert_eq!(r["status"], "ok", "{r}");
            assert_eq!(r["stdout"], "later\n", "{r}");
            let r = svc
                .get("/api/v1/jobs/no-such-job")
                .header("X-API-Key", API_KEY)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 404);
        })
        .await;
    cases
        .case("piston_doc_request_unchanged", async {
            // From Piston's README (api/v2/execute), byte for byte.
            let body: Value = serde_json::from_str(
                r#"{
                    "language": "js",
                    "version": "15.10.0",
                    "files": [
                        {
                            "name": "my_cool_code.js",
                            "content": "console.log(process.argv)"
                        }
                    ],
                    "stdin": "",
                    "args": ["1", "2", "3"],
                    "compile_timeout": 10000,
                    "run_timeout": 3000,
                    "compile_cpu_time": 10000,
                    "run_cpu_time": 3000,
                    "compile_memory_limit": -1,
                    "run_memory_limit": -1
                }"#,
            )
            .unwrap();
            // It pins Node 15.10.0; codr serves another, and Piston answers
            // a version it does not have with a 400 naming the request.
            let (status, r) = v2(&svc, body.clone()).await;
            assert_eq!(status, 400, "{r}");
            let m = r["message"].as_str().unwrap();
            assert!(
                m.starts_with("js-15.10.0 runtime is unknown (served: javascript "),
                "{m}"
            );
            assert_piston_error(&r);
            let mut body = body;
            body["version"] = json!("*");
            let (status, r) = v2(&svc, body).await;
            assert_eq!(status, 200, "{r}");
            assert_eq!(r["language"], "javascript", "{r}");
            let out = r["run"]["stdout"].as_str().unwrap();
            for arg in ["'1'", "'2'", "'3'"] {
                assert!(out.contains(arg), "{arg} not in {out:?}");
            }
        })
        .await;
    cases
        .case("piston_runtimes_and_aliases", async {
            let list: Vec<Value> = svc.get_json("/api/v2/runtimes").await;
            for (lang, _, _) in suite::HELLO {
                assert!(
                    list.iter().any(|r| r["language"] == *lang
                        && r["version"].is_string()
                        && r["aliases"].is_array()),
                    "{lang}: {list:?}"
                );
            }
            // Piston's `runtime` where Piston has one (its node and gcc
            // packages), absent elsewhere as in Piston.
            for (lang, runtime) in [
                ("javascript", json!("node")),
                ("c", json!("gcc")),
                ("cpp", json!("gcc")),
                ("python", Value::Null),
                ("rust", Value::Null),
            ] {
                let entry = list.iter().find(|r| r["language"] == lang).unwrap();
                assert_eq!(
                    entry.get("runtime").cloned().unwrap_or(Value::Null),
                    runtime,
                    "{entry}"
                );
                assert_ne!(entry.get("runtime"), Some(&Value::Null), "{entry}");
            }
            for alias in ["py", "python3", "js", "node", "c++", "cpp", "rs"] {
                let (status, r) = v2(
                    &svc,
                    json!({"language": alias, "version": "*", "files": [{"content": "x"}]}),
                )
                .await;
                assert_ne!(
                    r["message"]
                        .as_str()
                        .map(|m| m.contains("runtime is unknown")),
                    Some(true),
                    "{alias}: {status} {r}"
                );
            }
        })
        .await;
    cases
        .case("piston_encodings_and_file_names", async {
            let (_, r) = v2(&svc, json!({"language": "python", "files": [{"content": "cHJpbnQoJ2I2NCcp", "encoding": "base64"}]})).await;
            assert_eq!(r["run"]["stdout"], "b64\n", "{r}");
            let (_, r) = v2(&svc, json!({"language": "python", "files": [{"content": "7072696e742827686578272900", "encoding": "hex"}]})).await;
            assert!(r["run"].is_object() || r["message"].is_string(), "{r}");
            for name in ["../x.py", "/etc/x.py", "a/../../x.py"] {
                let (status, r) = v2(&svc, json!({"language": "python", "files": [{"name": name, "content": "print(1)"}]})).await;
                assert_eq!(status, 400, "{name}: {r}");
                assert!(r["message"].as_str().unwrap().contains("not allowed"), "{r}");
            }
        })
        .await;
    piston_files_and_compile_limits(&svc, &mut cases).await;
    piston_documented_requests(&svc, &mut cases).await;
    cases
        .case("batch_needs_a_key", async {
            let r = http()
                .post(format!("{}/api/v1/execute", svc.http()))
                .json(&json!({"language": "python", "code": "print(1)"}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 401);
            let r = http()
                .post(format!("{}/api/v2/execute", svc.http()))
                .header("Authorization", format!("Bearer {API_KEY}"))
                .json(&json!({"language": "python", "files": [{"content": "print(1)"}]}))
                .send()
                .await
                .unwrap();
            assert_eq!(
                r.status(),
                200,
                "Authorization: Bearer KEY works for Piston clients"
            );
        })
        .await;
    cases
        .case("openapi_document_lists_every_route", async {
            let text = svc.get_text("/api/openapi.json").await;
            let doc = oas3::from_json(&text).expect("a valid OpenAPI 3.1 document");
            let paths = doc.paths.expect("paths");
            let routes = [
                "/api/jobs/create",
                "/api/languages",
                "/health",
                "/metrics",
                "/ws/execute",
                "/api/v1/execute",
                "/api/v1/jobs/{id}",
                "/api/v2/runtimes",
                "/api/v2/execute",
                "/api/openapi.json",
                // Judge0 CE 1.13 at the root (host/src/api/judge0/).
                "/about",
                "/config_info",
                "/statuses",
                "/languages",
                "/languages/{id}",
                "/submissions",
                "/submissions/batch",
                "/submissions/{token}",
            ];
            for route in routes {
                assert!(
                    paths.contains_key(route),
                    "{route} missing from the document"
                );
            }
            assert_eq!(
                paths.len(),
                routes.len(),
                "undocumented or unknown routes: {:?}",
                paths.keys()
            );
            // Every documented route is served (no 404 from the router).
            for route in routes {
                let url = format!("{}{}", svc.http(), route.replace("{id}", "x"));
                let r = http().get(url).send().await.unwrap();
                let body = r.status().as_u16();
                assert!(body != 404 || route.contains("{id}"), "{route} not served");
            }
        })
        .await;
    cases
        .case("openapi_websocket_message_schemas", async {
            let doc: Value = svc.get_json("/api/openapi.json").await;
            let described = doc["paths"]["/ws/execute"]["get"]["description"].as_str().unwrap();
            for name in WS_SCHEMAS.iter().chain(["WsClientMessage", "WsServerMessage"].iter()) {
                assert!(doc["components"]["schemas"][name].is_object(), "{name} missing");
                let reference = format!("#/components/schemas/{name}");
                assert!(described.contains(&reference), "{reference} not in {described:?}");
            }
            // Real messages of real jobs, each against its schema: both
            // sides, every server message but `stage: compiling`.
            let mut seen = std::collections::BTreeSet::new();
            let mut check = |msg: &Value| {
                let kind = msg["type"].as_str().unwrap().to_string();
                conforms(&doc, msg).unwrap_or_else(|e| panic!("{msg} does not fit its schema: {e}"));
                seen.insert(kind);
            };
            let (job_id, token) = svc.create_job().await;
            let mut ws = svc.connect().await;
            let code = "import time\nname = input('name? ')\nprint('hi', name, flush=True)\ntime.sleep(30)\n";
            let sent = [
                json!({"type": "execute", "job_id": job_id, "job_token": token, "code": code,
                       "language": "python", "args": ["a"]}),
                json!({"type": "resize", "rows": 30, "cols": 100}),
                json!({"type": "input", "data": "x".repeat(11 * 1024)}),
                json!({"type": "input", "data": "eve\n"}),
            ];
            let mut t = common::Transcript::default();
            ws.send_json(sent[0].clone()).await;
            loop {
                let msg = ws.next(Duration::from_secs(30), &mut t).await.expect("input_required");
                if msg["type"] == "input_required" {
                    break;
                }
            }
            for msg in &sent[1..] {
                ws.send_json(msg.clone()).await;
            }
            assert!(ws.read_until_output("hi eve", Duration::from_secs(30), &mut t).await, "{:?}", t.messages);
            let kill = json!({"type": "kill"});
            ws.send_json(kill.clone()).await;
            ws.finish(Duration::from_secs(30), &mut t).await;
            for msg in sent.iter().chain([&kill]) {
                check(msg);
            }
            for msg in &t.messages {
                check(msg);
            }
            let refused = svc.run("python", "import os\n").await;
            assert!(refused.error.as_ref().unwrap()["diagnostics"].is_array(), "{:?}", refused.messages);
            for msg in &refused.messages {
                check(msg);
            }
            for kind in ["execute", "input", "resize", "kill", "stage", "output", "input_required", "notice", "complete", "error"] {
                assert!(seen.contains(kind), "no {kind} message checked: {:?}", t.messages);
            }
        })
        .await;
    cases.finish();
}

/// The schema of each WebSocket message in `/api/openapi.json`.
const WS_SCHEMAS: [&str; 10] = [
    "WsExecute",
    "WsInput",
    "WsResize",
    "WsKill",
    "WsStage",
    "WsOutput",
    "WsInputRequired",
    "WsNotice",
    "WsComplete",
    "WsError",
];

/// Whether the WebSocket message `msg` fits the schema of its `type` in
/// the OpenAPI document `doc`: every required field present, no field the
/// schema does not name, each of the JSON type (and in the values) it
/// gives; array items that are references checked against theirs.
fn conforms(doc: &Value, msg: &Value) -> Result<(), String> {
    let kind = msg["type"].as_str().ok_or("no type")?;
    let name = WS_SCHEMAS
        .iter()
        .find(|n| doc["components"]["schemas"][**n]["properties"]["type"]["enum"] == json!([kind]))
        .ok_or_else(|| format!("no schema has type {kind:?}"))?;
    fits(doc, &doc["components"]["schemas"][*name], msg).map_err(|e| format!("{name}: {e}"))
}

fn fits(doc: &Value, schema: &Value, value: &Value) -> Result<(), String> {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        return fits(doc, &doc["components"]["schemas"][name], value);
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let typed = |t: &str| match t {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "null" => value.is_null(),
        _ => true,
    };
    if !types.is_empty() && !types.iter().any(|t| typed(t)) {
        return Err(format!("{value} is not {types:?}"));
    }
    if let Some(values) = schema["enum"].as_array() {
        if !values.contains(value) {
            return Err(format!("{value} is not one of {values:?}"));
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for item in array {
            fits(doc, items, item)?;
        }
    }
    if let (Some(props), Some(object)) = (schema["properties"].as_object(), value.as_object()) {
        for required in schema["required"].as_array().into_iter().flatten() {
            let key = required.as_str().unwrap();
            if !object.contains_key(key) {
                return Err(format!("required field {key:?} missing"));
            }
        }
        for (key, field) in object {
            let spec = props
                .get(key)
                .ok_or_else(|| format!("field {key:?} is not in the schema"))?;
            fits(doc, spec, field).map_err(|e| format!("{key}: {e}"))?;
        }
    }
    Ok(())
}

/// A C++ program no compile cache has seen (a tiny compile limit must meet
/// a real compiler, not a cached binary).
fn fresh_cpp(body: &str) -> String {
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("// {nonce}\n#include <iostream>\n#include <vector>\n#include <map>\nint main(){{ {body} }}\n")
}

/// Piston's `files[1..]` (written beside the program) and the compile
/// limits (`compile_timeout`, v1 `compile_limits`) reaching the sandbox.
async fn piston_files_and_compile_limits(svc: &Service, cases: &mut Cases) {
    cases
        .case("piston_python_imports_a_second_file", async {
            let (status, r) = v2(
                svc,
                json!({"language": "python", "version": "*", "files": [
                    {"name": "main.py", "content": "import helper\nfrom lib import util\nprint(helper.greet(), util.N)\n"},
                    {"name": "helper.py", "content": "def greet():\n    return 'from helper'\n"},
                    {"name": "lib/util.py", "content": "N = 7\n"}
                ]}),
            )
            .await;
            assert_eq!(status, 200, "{r}");
            assert_eq!(r["run"]["stdout"], "from helper 7\n", "{r}");
            assert_eq!(r["run"]["code"], 0, "{r}");
        })
        .await;
    cases
        .case("piston_c_includes_a_header", async {
            let main = "#include <stdio.h>\n#include \"answer.h\"\nint main(void){ printf(\"%d\\n\", answer()); return 0; }\n";
            let header = "#ifndef ANSWER_H\n#define ANSWER_H\nstatic int answer(void) { return 6 * 7; }\n#endif\n";
            let (status, r) = v2(
                svc,
                json!({"language": "c", "files": [
                    {"name": "main.c", "content": main},
                    {"name": "answer.h", "content": header}
                ]}),
            )
            .await;
            assert_eq!(status, 200, "{r}");
            assert_eq!(r["compile"]["code"], 0, "{r}");
            assert_eq!(r["run"]["stdout"], "42\n", "{r}");
            // Without the header the same program does not compile: the
            // header really came from files[1].
            let (_, r) = v2(svc, json!({"language": "c", "files": [{"content": main}]})).await;
            assert_ne!(r["compile"]["code"], 0, "{r}");
            assert!(r["compile"]["output"].as_str().unwrap().contains("answer.h"), "{r}");
        })
        .await;
    cases
        .case("piston_c_and_cpp_compile_every_source_file", async {
            // As Piston's gcc package: every .c (C) or .cpp/.cc/.cxx (C++)
            // file sent is compiled with the program.
            let c_main = "#include <stdio.h>\nint twice(int n);\nint main(void){ printf(\"%d\\n\", twice(21)); return 0; }\n";
            let (status, r) = v2(
                svc,
                json!({"language": "c", "version": "*", "files": [
                    {"name": "main.c", "content": c_main},
                    {"name": "twice.c", "content": "int twice(int n) { return 2 * n; }\n"}
                ]}),
            )
            .await;
            assert_eq!(status, 200, "{r}");
            assert_eq!((&r["compile"]["code"], &r["run"]["stdout"]), (&json!(0), &json!("42\n")), "{r}");
            let cpp_main = "#include <iostream>\n#include \"lib/twice.hpp\"\nint main(){ std::cout << twice(21) << std::endl; }\n";
            let (status, r) = v2(
                svc,
                json!({"language": "cpp", "version": "*", "files": [
                    {"name": "main.cpp", "content": cpp_main},
                    {"name": "lib/twice.hpp", "content": "int twice(int n);\n"},
                    {"name": "lib/twice.cc", "content": "#include \"twice.hpp\"\nint twice(int n) { return 2 * n; }\n"}
                ]}),
            )
            .await;
            assert_eq!(status, 200, "{r}");
            assert_eq!((&r["compile"]["code"], &r["run"]["stdout"]), (&json!(0), &json!("42\n")), "{r}");
            // A second source the program includes itself (the way before
            // codr compiled them) is not compiled twice.
            let (_, r) = v2(
                svc,
                json!({"language": "c", "version": "*", "files": [
                    {"name": "main.c", "content": "#include <stdio.h>\n#include \"twice.c\"\nint main(void){ printf(\"%d\\n\", twice(21)); return 0; }\n"},
                    {"name": "twice.c", "content": "int twice(int n) { return 2 * n; }\n"}
                ]}),
            )
            .await;
            assert_eq!(r["run"]["stdout"], "42\n", "{r}");
        })
        .await;
    cases
        .case("piston_c_reads_a_data_file", async {
            // input.txt does not parse as C: as data it is not refused for
            // that, while a .c file that does not parse still is.
            let main = "#include <stdio.h>\nint main(void){ FILE *f = fopen(\"input.txt\", \"r\"); int a, b; if (!f || fscanf(f, \"%d %d\", &a, &b) != 2) return 1; printf(\"%d\\n\", a + b); return 0; }\n";
            let data = "3 4\nnot C at all {\n";
            let (status, r) = v2(
                svc,
                json!({"language": "c", "files": [
                    {"name": "main.c", "content": main},
                    {"name": "input.txt", "content": data}
                ]}),
            )
            .await;
            assert_eq!(status, 200, "{r}");
            assert_eq!(r["run"]["stdout"], "7\n", "{r}");
            let (status, r) = v2(
                svc,
                json!({"language": "c", "files": [
                    {"name": "main.c", "content": main},
                    {"name": "extra.c", "content": data}
                ]}),
            )
            .await;
            assert_ne!(status, 200, "{r}");
            assert!(r["message"].as_str().unwrap().contains("\"extra.c\""), "{r}");
            // The rules still read a data file: what they refuse in source
            // they refuse there (a C program can #include any file).
            let (status, r) = v2(
                svc,
                json!({"language": "c", "files": [
                    {"name": "main.c", "content": main},
                    {"name": "input.txt", "content": "#pragma redefine_extname f system\n"}
                ]}),
            )
            .await;
            assert_ne!(status, 200, "{r}");
            assert!(r["message"].as_str().unwrap().contains("redefine_extname"), "{r}");
        })
        .await;
    // (case, language, main file, helper file): the program prints 2 * 21
    // through the helper, which only files[1] provides.
    let two_files = [
        (
            "piston_rust_uses_a_second_file",
            "rust",
            ("main.rs", "mod helper;\nfn main() { println!(\"{}\", helper::twice(21)); }\n"),
            ("helper.rs", "pub fn twice(x: i32) -> i32 { 2 * x }\n"),
        ),
        (
            "piston_javascript_requires_a_second_file",
            "javascript",
            ("main.js", "const h = require('./helper.js');\nconsole.log(h.twice(21));\n"),
            ("helper.js", "module.exports = { twice: (x) => 2 * x };\n"),
        ),
        (
            "piston_java_uses_a_second_class_and_an_anonymous_one",
            "java",
            ("Main.java", "public class Main { public static void main(String[] a) { Runnable r = new Runnable() { public void run() { System.out.println(Helper.twice(21)); } }; r.run(); } }\n"),
            ("Helper.java", "public class Helper { static int twice(int x) { return 2 * x; } }\n"),
        ),
    ];
    for (case, language, (main_name, main), (helper_name, helper)) in two_files {
        cases
            .case(case, async {
                let (status, r) = v2(
                    svc,
                    json!({"language": language, "files": [
                        {"name": main_name, "content": main},
                        {"name": helper_name, "content": helper}
                    ]}),
                )
                .await;
                assert_eq!(status, 200, "{r}");
                assert_eq!(r["run"]["stdout"], "42\n", "{r}");
            })
            .await;
    }
    cases
        .case("piston_extra_files_base64_and_hex", async {
            use base64::Engine;
            let b64 = base64::engine::general_purpose::STANDARD.encode("WORD = 'b64'\n");
            let hex = hex::encode("WORD = 'hex'\n");
            let (status, r) = v2(
                svc,
                json!({"language": "python", "files": [
                    {"content": "import a, b\nprint(a.WORD, b.WORD)\n"},
                    {"name": "a.py", "content": b64, "encoding": "base64"},
                    {"name": "b.py", "content": hex, "encoding": "hex"}
                ]}),
            )
            .await;
            assert_eq!(status, 200, "{r}");
            assert_eq!(r["run"]["stdout"], "b64 hex\n", "{r}");
        })
        .await;
    cases
        .case("piston_extra_file_names_leaving_the_directory_400", async {
            for name in ["../x", "/etc/x", "a/../../x", "a//x", "~/x"] {
                let (status, r) = v2(
                    svc,
                    json!({"language": "python", "files": [
                        {"content": "print(1)"}, {"name": name, "content": "x"}
                    ]}),
                )
                .await;
                assert_eq!(status, 400, "{name}: {r}");
                let m = r["message"].as_str().unwrap();
                assert!(m.contains("not allowed") && m.contains(name), "{name}: {r}");
            }
        })
        .await;
    cases
        .case("piston_extra_files_refused_400", async {
            let main = json!({"content": "import helper\n"});
            let tries = [
                // Binary content (not UTF-8 once decoded).
                (
                    json!({"name": "blob.bin", "content": "ff00fe", "encoding": "hex"}),
                    "binary",
                ),
                // All files together over the code cap (each alone is under it).
                (
                    json!({"name": "big.py", "content": format!("#{}\n", "a".repeat(10_300))}),
                    "10240",
                ),
                // The language's rules apply to every file, not only the first.
                (
                    json!({"name": "helper.py", "content": "import os\n"}),
                    "in file \"helper.py\"",
                ),
                (
                    json!({"name": "x.py", "content": "!!", "encoding": "rot13"}),
                    "unknown encoding",
                ),
            ];
            for (extra, needle) in tries {
                let (status, r) = v2(
                    svc,
                    json!({"language": "python", "files": [main.clone(), extra.clone()]}),
                )
                .await;
                assert_eq!(status, 400, "{extra}: {r}");
                assert!(
                    r["message"].as_str().unwrap().contains(needle),
                    "{needle}: {r}"
                );
            }
            let (status, r) = v2(
                svc,
                json!({"language": "python", "files": [
                    main.clone(), {"name": "h.py", "content": "x"}, {"name": "h.py", "content": "y"}
                ]}),
            )
            .await;
            assert_eq!(status, 400, "{r}");
            assert!(r["message"].as_str().unwrap().contains("clash"), "{r}");
        })
        .await;
    cases
        .case("piston_file_named_like_the_plugins_fails_clearly", async {
            // The Python plugin writes the program as main.py: a second file
            // of that name cannot be written, and the job says so.
            let (status, r) = v2(
                svc,
                json!({"language": "python", "files": [
                    {"name": "solution.py", "content": "print('main')\n"},
                    {"name": "main.py", "content": "print('other')\n"}
                ]}),
            )
            .await;
            assert_ne!(status, 200, "{r}");
            let m = r["message"].as_str().unwrap();
            assert!(m.contains("\"main.py\"") && m.contains("clashes"), "{r}");
        })
        .await;
    cases
        .case("piston_compile_timeout_applied", async {
            let code = fresh_cpp("std::map<int, std::vector<int>> m; m[1].push_back(2); std::cout << m[1][0] << std::endl;");
            let (status, r) = v2(
                svc,
                json!({"language": "c++", "files": [{"content": code}], "compile_timeout": 1}),
            )
            .await;
            assert_eq!(status, 200, "{r}");
            assert_eq!(r["compile"]["status"], "TO", "{r}");
            assert!(r["compile"]["message"].as_str().unwrap().contains("time limit"), "{r}");
            // As Piston answers: the run stage is the failed compile's.
            assert_eq!(r["run"], r["compile"], "{r}");
            // The same program with room to compile runs.
            let (_, r) = v2(
                svc,
                json!({"language": "c++", "files": [{"content": code}], "compile_timeout": 20000}),
            )
            .await;
            assert!(r["compile"]["status"].is_null(), "{r}");
            assert_eq!(r["run"]["stdout"], "2\n", "{r}");
        })
        .await;
    cases
        .case("piston_run_timeout_still_applied", async {
            let code = fresh_cpp("volatile unsigned long n = 0; for (;;) n++;");
            let (_, r) = v2(
                svc,
                json!({"language": "cpp", "files": [{"content": code}],
                       "compile_timeout": 20000, "run_timeout": 1000, "run_cpu_time": 1000}),
            )
            .await;
            assert!(r["compile"]["status"].is_null(), "{r}");
            assert_eq!(r["run"]["status"], "TO", "{r}");
            assert!(r["run"]["wall_time"].as_u64().unwrap() < 5000, "{r}");
        })
        .await;
    cases
        .case("v1_compile_limits", async {
            let code = fresh_cpp("std::cout << 1 << std::endl;");
            let (status, r) = v1(
                svc,
                json!({"language": "cpp", "code": code, "compile_limits": {"wall_time_ms": 1}}),
            )
            .await;
            assert_eq!(status, 200, "{r}");
            assert_eq!(r["status"], "time_limit", "{r}");
            assert!(r["message"].as_str().unwrap().starts_with("compile:"), "{r}");
            let (status, r) = v1(
                svc,
                json!({"language": "cpp", "code": code, "compile_limits": {"wall_time_ms": 999999999}}),
            )
            .await;
            assert_eq!(status, 400, "{r}");
            let m = r["message"].as_str().unwrap();
            assert!(m.contains("compile_limits.wall_time_ms") && m.contains("cap of 30000"), "{r}");
        })
        .await;
}

/// The version `/api/v2/runtimes` lists for `language`.
async fn served_version(svc: &Service, language: &str) -> String {
    let (_, _, list) = answer(svc.get("/api/v2/runtimes")).await;
    let entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["language"] == language);
    entry.unwrap_or_else(|| panic!("{language} not in {list}"))["version"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Every request shape Piston's own documentation shows (its readme's
/// "Execute Endpoint" and docs/api-v2.md), field by field, sent as the
/// documentation writes it. The readme's full example is
/// `piston_doc_request_unchanged` above.
async fn piston_documented_requests(svc: &Service, cases: &mut Cases) {
    cases
        .case("piston_doc_api_v2_example", async {
            // docs/api-v2.md's example, byte for byte (no cpu_time fields).
            let doc = r#"{
              "language": "js",
              "version": "15.10.0",
              "files": [
                {
                  "name": "my_cool_code.js",
                  "content": "console.log(process.argv)"
                }
              ],
              "stdin": "",
              "args": ["1", "2", "3"],
              "compile_timeout": 10000,
              "run_timeout": 3000,
              "compile_memory_limit": -1,
              "run_memory_limit": -1
            }"#;
            let mut body: Value = serde_json::from_str(doc).unwrap();
            let (status, r) = v2(svc, body.clone()).await;
            assert_eq!(status, 400, "{r}");
            assert!(
                r["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("js-15.10.0 runtime is unknown"),
                "{r}"
            );
            // The same request for the version served, in its exact form.
            let served = served_version(svc, "javascript").await;
            body["version"] = json!(served);
            let (status, r) = v2(svc, body).await;
            assert_eq!(status, 200, "{r}");
            assert_eq!(
                (&r["language"], &r["version"]),
                (&json!("javascript"), &json!(served)),
                "{r}"
            );
            let out = r["run"]["stdout"].as_str().unwrap();
            // Node prints the array on one line or several, by its length.
            let flat: String = out.split_whitespace().collect();
            assert!(flat.ends_with("'1','2','3']"), "{out:?}");
            assert_eq!(r["run"]["output"], r["run"]["stdout"], "{r}");
            // Every field the documented response has, and no compile stage
            // for an interpreted language.
            for field in [
                "stdout",
                "stderr",
                "output",
                "code",
                "signal",
                "message",
                "status",
                "cpu_time",
                "wall_time",
                "memory",
            ] {
                assert!(r["run"].get(field).is_some(), "run.{field} missing: {r}");
            }
            assert_eq!(
                (&r["run"]["code"], &r["run"]["signal"]),
                (&json!(0), &Value::Null),
                "{r}"
            );
            assert!(r.get("compile").is_none(), "{r}");
        })
        .await;
    cases
        .case("piston_doc_unknown_runtime_400", async {
            // The readme's error example, word for word.
            let (status, r) = v2(
                svc,
                json!({"language": "html", "version": "5.0.0", "files": [{"content": "<p>"}]}),
            )
            .await;
            assert_eq!(
                (status, r),
                (400, json!({"message": "html-5.0.0 runtime is unknown"}))
            );
        })
        .await;
    cases
        .case("piston_doc_version_selectors", async {
            // "a SemVer selector for the version or the specific version
            // number to use".
            let served = served_version(svc, "python").await;
            let major: u64 = served.split('.').next().unwrap().parse().unwrap();
            let good = [
                served.clone(),
                "*".into(),
                format!("{major}"),
                format!("{major}.x"),
                format!(">={major}"),
                format!("^{major}.0.0"),
            ];
            for version in good {
                let body = json!({"language": "python", "version": version, "files": [{"content": "print(1)"}]});
                let (status, r) = v2(svc, body).await;
                assert_eq!((status, &r["run"]["stdout"]), (200, &json!("1\n")), "{version}: {r}");
                assert_eq!(r["version"], served, "{r}");
            }
            for version in [format!("{}.x", major - 1), format!(">{major}.999"), "banana".into()] {
                let body = json!({"language": "py", "version": version, "files": [{"content": "print(1)"}]});
                let (status, r) = v2(svc, body).await;
                assert_eq!(status, 400, "{version}: {r}");
                assert_piston_error(&r);
                let m = r["message"].as_str().unwrap();
                assert!(m.starts_with(&format!("py-{version} runtime is unknown")), "{m}");
            }
        })
        .await;
    cases
        .case("piston_doc_files_named_unnamed_and_encoded", async {
            // `files[0]` is the main file; `name`, `content` and `encoding`
            // (utf8, base64, hex) as documented; an unnamed file is written
            // as `file<i>.code`, as Piston's job.js names it.
            let main = "for name in ['data.txt', 'file2.code', 'notes.txt']:\n    print(open(name).read().strip())\n";
            let body = json!({"language": "python", "version": "*", "files": [
                {"name": "my_cool_code.py", "content": main, "encoding": "utf8"},
                {"name": "data.txt", "content": "ZnJvbSBiYXNlNjQK", "encoding": "base64"},
                {"content": "unnamed\n"},
                {"name": "notes.txt", "content": "66726f6d206865780a", "encoding": "hex"}
            ]});
            let (status, r) = v2(svc, body).await;
            assert_eq!(status, 200, "{r}");
            assert_eq!(r["run"]["stdout"], "from base64\nunnamed\nfrom hex\n", "{r}");
        })
        .await;
    cases
        .case("piston_doc_stdin_and_args", async {
            let code = "import sys\nprint([l.strip() for l in sys.stdin], sys.argv[1:])\n";
            let body = json!({"language": "python", "version": "*", "files": [{"content": code}],
                              "stdin": "a\nb\n", "args": ["x", "y z"]});
            let (_, r) = v2(svc, body).await;
            assert_eq!(r["run"]["stdout"], "['a', 'b'] ['x', 'y z']\n", "{r}");
            // Both optional: blank stdin and no arguments by default.
            let body = json!({"language": "python", "version": "*", "files": [{"content": code}]});
            let (_, r) = v2(svc, body).await;
            assert_eq!(r["run"]["stdout"], "[] []\n", "{r}");
        })
        .await;
    cases
        .case("piston_doc_run_timeout_and_cpu_time", async {
            let spin = json!([{"content": "while True:\n    pass\n"}]);
            let body =
                json!({"language": "python", "version": "*", "files": spin, "run_timeout": 1000});
            let (_, r) = v2(svc, body).await;
            let run = &r["run"];
            assert_eq!(
                (&run["status"], &run["code"], &run["signal"]),
                (&json!("TO"), &Value::Null, &json!("SIGKILL")),
                "{r}"
            );
            assert!(run["wall_time"].as_u64().unwrap() < 5000, "{r}");
            let body = json!({"language": "python", "version": "*", "files": spin,
                              "run_timeout": 10000, "run_cpu_time": 500});
            let (_, r) = v2(svc, body).await;
            assert_eq!(r["run"]["status"], "TO", "{r}");
            assert!(
                r["run"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("cpu time limit (500 ms)"),
                "{r}"
            );
        })
        .await;
    cases
        .case("piston_doc_compile_cpu_time", async {
            let code = fresh_cpp("std::cout << 1 << std::endl;");
            let body = json!({"language": "cpp", "version": "*", "files": [{"content": code}],
                              "compile_timeout": 10000, "compile_cpu_time": 1});
            let (status, r) = v2(svc, body).await;
            assert_eq!(status, 200, "{r}");
            assert_eq!(r["compile"]["status"], "TO", "{r}");
            assert!(
                r["compile"]["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("compile: cpu time limit"),
                "{r}"
            );
            assert_eq!(r["run"], r["compile"], "{r}");
            let body = json!({"language": "cpp", "version": "*", "files": [{"content": code}],
                              "compile_timeout": 20000, "compile_cpu_time": 20000});
            let (_, r) = v2(svc, body).await;
            assert_eq!(
                (&r["compile"]["code"], &r["run"]["stdout"]),
                (&json!(0), &json!("1\n")),
                "{r}"
            );
        })
        .await;
    cases
        .case("piston_doc_memory_limits", async {
            let grab = |mib: u32| json!([{"content": format!("x = bytearray({mib} * 1024 * 1024)\nprint(len(x) >> 20)\n")}]);
            let body = json!({"language": "python", "version": "*", "files": grab(200), "run_memory_limit": 50_000_000});
            let (_, r) = v2(svc, body).await;
            assert_eq!(r["run"]["status"], "SG", "{r}");
            assert!(r["run"]["message"].as_str().unwrap().contains("memory limit (50000000 bytes)"), "{r}");
            // -1: the language's own limit.
            let body = json!({"language": "python", "version": "*", "files": grab(100), "run_memory_limit": -1});
            let (_, r) = v2(svc, body).await;
            assert_eq!(r["run"]["stdout"], "100\n", "{r}");
            let code = fresh_cpp("std::map<int, std::vector<int>> m; std::cout << m.size() << std::endl;");
            let body = json!({"language": "cpp", "version": "*", "files": [{"content": code}],
                              "compile_timeout": 20000, "compile_memory_limit": 20_000_000});
            let (_, r) = v2(svc, body).await;
            assert_eq!(r["compile"]["status"], "SG", "{r}");
            assert!(r["compile"]["message"].as_str().unwrap().starts_with("compile: memory limit"), "{r}");
            let body = json!({"language": "cpp", "version": "*", "files": [{"content": code}],
                              "compile_timeout": 20000, "compile_memory_limit": -1});
            let (_, r) = v2(svc, body).await;
            assert_eq!(r["run"]["stdout"], "0\n", "{r}");
        })
        .await;
    cases
        .case("piston_doc_limit_fields_checked", async {
            // "Must be a number", "less than or equal to the configured
            // maximum": a 400 `{message}` naming the field.
            for (field, value) in [
                ("run_timeout", json!("3000")),
                ("run_timeout", json!(999_999_999)),
                ("compile_timeout", json!(999_999_999)),
                ("run_cpu_time", json!(999_999_999)),
                ("compile_memory_limit", json!(999_999_999_999u64)),
                ("run_memory_limit", json!(999_999_999_999u64)),
            ] {
                let mut body = json!({"language": "python", "version": "*", "files": [{"content": "print(1)"}]});
                body[field] = value.clone();
                let (status, r) = v2(svc, body).await;
                assert_eq!(status, 400, "{field} = {value}: {r}");
                assert_piston_error(&r);
                assert!(r["message"].as_str().unwrap().contains(field), "{field}: {r}");
            }
        })
        .await;
}

/// A POST of `body` to `path` without an API key.
fn keyless(svc: &Service, path: &str, body: &Value) -> reqwest::RequestBuilder {
    http().post(format!("{}{path}", svc.http())).json(body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_runs_have_a_rate_limit_of_their_own() {
    let svc = Service::embedded(&["--batch-rate-limit", "3"]);
    svc.wait_healthy(Duration::from_secs(30)).await;
    let run = json!({"language": "python", "files": [{"content": "print(1)"}]});
    for _ in 0..3 {
        let (status, r) = v2(&svc, run.clone()).await;
        assert_eq!(status, 200, "{r}");
    }
    let (status, retry_after, body) =
        answer(keyless(&svc, "/api/v2/execute", &run).header("X-API-Key", API_KEY)).await;
    assert_eq!(status, 429, "{body}");
    assert!(retry_after.is_some());
    assert_piston_error(&body);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("too many batch runs"),
        "{body}"
    );
    let (status, _) = v1(&svc, json!({"language": "python", "code": "print(1)"})).await;
    assert_eq!(status, 429, "v1 shares the batch budget");
    // Interactive job creation has its own budget.
    let (job_id, _) = svc.create_job().await;
    assert!(!job_id.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn piston_routes_can_be_opened_to_clients_without_a_key() {
    let run = json!({"language": "python", "files": [{"content": "print(1)"}]});
    // Closed by default.
    let svc = Service::embedded(&[]);
    svc.wait_healthy(Duration::from_secs(30)).await;
    let (status, _, body) = answer(keyless(&svc, "/api/v2/execute", &run)).await;
    assert_eq!(status, 401, "{body}");
    drop(svc);
    // Open: no key needed on the Piston routes, the others keep theirs, and
    // /health says so.
    let svc = Service::embedded(&["--piston-open", "--batch-rate-limit", "2"]);
    svc.wait_healthy(Duration::from_secs(30)).await;
    for _ in 0..2 {
        let (status, _, body) = answer(keyless(&svc, "/api/v2/execute", &run)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["run"]["stdout"], "1\n", "{body}");
    }
    // The per-address budget guards them.
    let (status, _, body) = answer(keyless(&svc, "/api/v2/execute", &run)).await;
    assert_eq!(status, 429, "{body}");
    let v1_run = json!({"language": "python", "code": "print(1)"});
    let (status, _, body) = answer(keyless(&svc, "/api/v1/execute", &v1_run)).await;
    assert_eq!(status, 401, "v1 still needs a key: {body}");
    let (_, _, health) = answer(svc.get("/health")).await;
    assert_eq!(health["piston_open"], true, "{health}");
}
