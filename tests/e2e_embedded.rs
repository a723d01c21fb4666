//! End-to-end: `codr serve` (everything in one process, in-process broker),
//! driven over real HTTP and WebSockets with real plugins and Firejail.
mod common;

use std::time::{Duration, Instant};

use common::{suite, Service, Transcript};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn protocol_suite_on_embedded_serve() {
    let svc = Service::embedded(&[]);
    svc.wait_healthy(Duration::from_secs(30)).await;
    suite::run_all(&svc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_creation_is_rate_limited_with_retry_after() {
    let svc = Service::embedded(&["--rate-limit", "3"]);
    suite::rate_limited(&svc, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_leaves_gets_its_job_killed_within_2s() {
    let svc = Service::embedded(&[]);
    let (ws, _) = svc
        .start_running("python", "time.sleep(30)\n", Duration::from_secs(30))
        .await;
    assert_eq!(running_jobs(&svc).await, 1.0);
    drop(ws);
    let left = Instant::now();
    while running_jobs(&svc).await > 0.0 {
        assert!(
            left.elapsed() < Duration::from_secs(2),
            "job still running 2 s after the client left"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_prints_a_fresh_api_key_that_works() {
    common::setup_sandbox();
    let out = common::codr_in(&common::repo_root(), &["serve", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--listen",
        "--redis",
        "--api-keys",
        "--jwt-secret",
        "--rate-limit",
        "--cors-origins",
        "--max-jobs",
        "CODR_API_KEYS",
    ] {
        assert!(help.contains(flag), "{flag} missing from serve --help");
    }
    let svc = common::Service::embedded_without_key();
    let r = common::http()
        .post(format!("{}/api/jobs/create", svc.0.http()))
        .header("X-API-Key", &svc.1)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_allows_configured_origins_only() {
    let svc = Service::embedded(&["--cors-origins", "https://app.example"]);
    let ask = |origin: &'static str| {
        common::http()
            .request(
                reqwest::Method::OPTIONS,
                format!("{}/api/jobs/create", svc.http()),
            )
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "x-api-key")
            .send()
    };
    let ok = ask("https://app.example").await.unwrap();
    assert_eq!(
        ok.headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap()),
        Some("https://app.example")
    );
    let other = ask("https://evil.example").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_a_running_job_then_exits() {
    let mut svc = Service::embedded(&[]);
    let (mut ws, mut t) = svc
        .start_running(
            "python",
            "time.sleep(1)\nprint('finished')\n",
            Duration::from_secs(30),
        )
        .await;
    svc.front.sigterm().unwrap();
    ws.finish(Duration::from_secs(20), &mut t).await;
    t.assert_ok();
    assert!(t.output.contains("finished"), "{:?}", t.output);
    assert!(
        svc.front.terminate(Duration::from_secs(10)),
        "serve did not exit after SIGTERM"
    );
}

async fn running_jobs(svc: &Service) -> f64 {
    let text = svc.get_text("/metrics").await;
    text.lines()
        .find(|l| l.starts_with("codr_worker_jobs_running"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// Java is a dropped-in plugin (issue 5): records and streams, typed input,
/// and javac's message on a compile error, all over the WebSocket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_runs_over_the_websocket() {
    let svc = Service::embedded(&[]);
    svc.wait_healthy(Duration::from_secs(30)).await;
    let long = Duration::from_secs(60);

    let records = "import java.util.*;\nimport java.util.stream.*;\n\
        public class Main {\n  record Point(int x, int y) {}\n\
        public static void main(String[] args) {\n\
        var sum = Stream.of(new Point(1, 2), new Point(3, 4)).mapToInt(p -> p.x() * p.y()).sum();\n\
        System.out.println(\"sum \" + sum);\n  }\n}\n";
    let t = svc.run("java", records).await;
    t.assert_ok();
    assert!(t.output.contains("sum 14"), "output {:?}", t.output);

    let echo = "import java.util.Scanner;\npublic class Echo {\n\
        public static void main(String[] args) {\n\
        System.out.print(\"name? \");\n    System.out.flush();\n\
        Scanner in = new Scanner(System.in);\n\
        System.out.println(\"hi \" + in.nextLine());\n  }\n}\n";
    let t = svc.converse("java", echo, ("name?", "alice\n"), long).await;
    assert!(t.output.contains("hi alice"), "output {:?}", t.output);

    let broken = "public class Main {\n  public static void main(String[] a) {\n    int x = \"no\";\n  }\n}\n";
    let t = svc.run("java", broken).await;
    let out = t.assert_compile_error();
    assert!(out.contains("incompatible types"), "javac said {out:?}");
}

/// Runs `code`, answering each `input_required` with the next of
/// `answers`; returns the transcript and how many times input was asked.
async fn answer_each_wait(
    svc: &Service,
    language: &str,
    code: &str,
    answers: &[&str],
) -> (Transcript, usize) {
    let mut ws = svc.start_job(language, code).await;
    let mut t = Transcript::default();
    let mut waits = 0;
    while let Some(m) = ws.next(Duration::from_secs(30), &mut t).await {
        match m["type"].as_str() {
            Some("input_required") => {
                let answer = answers.get(waits).unwrap_or_else(|| {
                    panic!(
                        "{language}: asked for input {} times: {:?}",
                        waits + 1,
                        t.messages
                    )
                });
                waits += 1;
                ws.input(answer).await;
            }
            Some("complete" | "error") => break,
            _ => {}
        }
    }
    (t, waits)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn input_required_once_per_wait_in_every_language() {
    let svc = Service::embedded(&[]);
    svc.wait_healthy(Duration::from_secs(30)).await;
    let cases: [(&str, &str, &str); 5] = [
        (
            "python",
            "name = input('name? ')\nage = input('age? ')\nprint('hi', name, age)\n",
            "hi bob 7",
        ),
        (
            "c",
            "#include <stdio.h>\nint main(void) {\n  char n[32]; int a;\n  printf(\"name? \"); fflush(stdout);\n  if (scanf(\"%31s\", n) != 1) return 1;\n  printf(\"age? \"); fflush(stdout);\n  if (scanf(\"%d\", &a) != 1) return 1;\n  printf(\"hi %s %d\\n\", n, a);\n  return 0;\n}\n",
            "hi bob 7",
        ),
        (
            "javascript",
            "const rl = require('readline').createInterface({ input: process.stdin, output: process.stdout });\nrl.question('name? ', n => rl.question('age? ', a => { console.log('hi ' + n + ' ' + a); rl.close(); }));\n",
            "hi bob 7",
        ),
        (
            "java",
            "import java.util.Scanner;\npublic class Main {\n  public static void main(String[] args) {\n    Scanner in = new Scanner(System.in);\n    System.out.print(\"name? \"); System.out.flush();\n    String n = in.nextLine();\n    System.out.print(\"age? \"); System.out.flush();\n    String a = in.nextLine();\n    System.out.println(\"hi \" + n + \" \" + a);\n  }\n}\n",
            "hi bob 7",
        ),
        (
            "rust",
            "use std::io::{self, Write};\nfn main() {\n  let mut n = String::new(); let mut a = String::new();\n  print!(\"name? \"); io::stdout().flush().unwrap();\n  io::stdin().read_line(&mut n).unwrap();\n  print!(\"age? \"); io::stdout().flush().unwrap();\n  io::stdin().read_line(&mut a).unwrap();\n  println!(\"hi {} {}\", n.trim(), a.trim());\n}\n",
            "hi bob 7",
        ),
    ];
    for (language, code, want) in cases {
        let (t, waits) = answer_each_wait(&svc, language, code, &["bob\n", "7\n"]).await;
        t.assert_ok();
        assert!(t.output.contains(want), "{language}: {:?}", t.output);
        assert_eq!(waits, 2, "{language}: {:?}", t.messages);
        // The prompt came before the question.
        let asked = t
            .messages
            .iter()
            .position(|m| m["type"] == "input_required")
            .unwrap();
        let prompt = t
            .messages
            .iter()
            .position(|m| m["data"].as_str().is_some_and(|d| d.contains("name?")));
        assert!(
            prompt.is_some_and(|p| p < asked),
            "{language}: {:?}",
            t.messages
        );
    }
    // A program that never reads is never said to wait, busy or asleep.
    let (t, waits) = answer_each_wait(
        &svc,
        "python",
        "import time\nn = 0\nfor i in range(3_000_000):\n    n += i\ntime.sleep(1)\nprint('done', n > 0)\n",
        &[],
    )
    .await;
    t.assert_ok();
    assert_eq!(waits, 0, "{:?}", t.messages);
}
