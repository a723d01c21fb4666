//! End-to-end: the batch API (`/api/v1/execute`, `/api/v1/jobs/{id}`), the
//! Piston v2 compatible API and the OpenAPI document, against the real binary.
mod common;

use std::time::{Duration, Instant};

use common::{http, suite, Cases, Service, API_KEY};
use serde_json::{json, Value};

async fn post(svc: &Service, path: &str, body: Value) -> (u16, Value) {
    let r = http()
        .post(format!("{}{path}", svc.http()))
        .header("X-API-Key", API_KEY)
        .json(&body)
        .send()
        .await
        .expect("POST");
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| json!({ "raw": text }));
    (status, body)
}

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
            assert!(r.get("run").is_none(), "{r}");
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
            let start = Instant::now();
            loop {
                let r: Value = http()
                    .get(format!("{}/api/v1/jobs/{id}", svc.http()))
                    .header("X-API-Key", API_KEY)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                match r["status"].as_str() {
                    Some("queued") | Some("running") => {}
                    Some("ok") => {
                        assert_eq!(r["stdout"], "later\n", "{r}");
                        break;
                    }
                    other => panic!("unexpected {other:?}: {r}"),
                }
                assert!(start.elapsed() < Duration::from_secs(30), "never finished");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let r = http()
                .get(format!("{}/api/v1/jobs/no-such-job", svc.http()))
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
            let list: Vec<Value> = http()
                .get(format!("{}/api/v2/runtimes", svc.http()))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            for (lang, _, _) in suite::HELLO {
                assert!(
                    list.iter().any(|r| r["language"] == *lang
                        && r["version"].is_string()
                        && r["aliases"].is_array()),
                    "{lang}: {list:?}"
                );
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
            let text = http()
                .get(format!("{}/api/openapi.json", svc.http()))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
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
    cases.finish();
}
