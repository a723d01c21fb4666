//! identity(), plan() and samples() of the JavaScript plugin, and the
//! runtime guards the planned command adds behind the rules.

use codr_plugin_javascript::JavaScript;
use codr_sdk::{testing::request, Language};

mod common;

#[test]
fn identity_names_node_20() {
    let id = JavaScript::identity();
    assert_eq!(id.name, "javascript");
    assert_eq!(id.version, "20");
    assert_eq!(id.aliases, ["js", "node", "nodejs", "node-js"]);
    assert_eq!(id.extension, "js");
    assert_eq!(id.editor_mode, "javascript");
    assert_eq!(id.grammar.as_deref(), Some("javascript"));
}

/// The version we announce is the major version of the installed Node.
#[test]
fn identity_version_matches_installed_node() {
    let out = std::process::Command::new("node")
        .arg("--version")
        .output()
        .expect("run node --version");
    let version = String::from_utf8_lossy(&out.stdout);
    let major = version
        .trim()
        .trim_start_matches('v')
        .split('.')
        .next()
        .unwrap_or("");
    assert_eq!(major, JavaScript::identity().version);
}

#[test]
fn rules_list_every_rule_id_once() {
    let ids: Vec<String> = JavaScript::rules().into_iter().map(|r| r.id).collect();
    assert_eq!(
        ids,
        [
            "blocked-import",
            "dynamic-import",
            "blocked-call",
            "blocked-attribute",
            "prototype-escape"
        ]
    );
    assert!(JavaScript::rules()
        .iter()
        .all(|r| !r.description.is_empty()));
}

#[test]
fn plan_runs_main_js_with_node_and_room_for_v8() {
    let plan =
        codr_sdk::testing::plan::<JavaScript>(&request("console.log(1);\n", &[], &[])).unwrap();
    assert_eq!(plan.files.len(), 1);
    assert_eq!(plan.files[0].path, "main.js");
    assert_eq!(plan.files[0].content, "console.log(1);\n");
    assert!(plan.compile.is_none());
    assert!(plan.artifacts.is_empty());
    assert_eq!(plan.run.program, "node");
    assert_eq!(
        plan.run.args.first().map(String::as_str),
        Some("--max-old-space-size=192")
    );
    assert_eq!(plan.run.args.last().map(String::as_str), Some("main.js"));
    assert!(plan
        .run
        .args
        .contains(&"--disallow-code-generation-from-strings".to_string()));
    assert!(plan.run.env.is_empty());
    assert_eq!(plan.run.limits.address_space_bytes, Some(4 << 30));
    assert_eq!(plan.run.limits.processes, Some(64));
    assert!(plan.run.limits.memory_bytes.is_none());
}

#[test]
fn program_arguments_are_appended() {
    let plan = codr_sdk::testing::plan::<JavaScript>(&request("", &["--n", "3"], &[])).unwrap();
    let n = plan.run.args.len();
    assert_eq!(plan.run.args[n - 3..], ["main.js", "--n", "3"]);
}

#[test]
fn operator_overrides_replace_the_command() {
    let plan = codr_sdk::testing::plan::<JavaScript>(&request(
        "",
        &["x"],
        &[
            ("run-program", "/opt/node22/bin/node"),
            ("run-args", "--max-old-space-size=128  main.js"),
        ],
    ))
    .unwrap();
    assert_eq!(plan.run.program, "/opt/node22/bin/node");
    assert_eq!(plan.run.args, ["--max-old-space-size=128", "main.js", "x"]);
}

#[test]
fn samples_validate_clean_and_print_what_they_promise() {
    let samples = JavaScript::samples();
    assert!(samples.len() >= 2);
    assert_eq!(samples[0].expected_stdout, "Hello, World!\n");
    assert!(
        samples.iter().any(|s| !s.stdin.is_empty()),
        "one sample reads stdin"
    );
    for sample in samples {
        assert!(JavaScript::validate(&sample.source, &Default::default()).is_empty());
        let out = common::run_plan(&sample.source, &sample.stdin);
        assert!(out.status.success(), "{}: {:?}", sample.name, out);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            sample.expected_stdout,
            "{}",
            sample.name
        );
    }
}

/// What the rules reject, Node's flags in the planned command refuse too:
/// code from strings, child processes, files other than main.js, __proto__.
#[test]
fn planned_flags_back_the_rules_at_run_time() {
    let source = r#"
const tries = {
  eval: () => eval("1 + 1"),
  Function: () => new Function("return 1")(),
  child_process: () => require("child_process").execSync("true"),
  fs: () => require("fs").readFileSync("/etc/passwd", "utf8"),
  proto: () => ({}).__proto__.constructor.name,
};
for (const [name, attempt] of Object.entries(tries)) {
  let verdict;
  try {
    verdict = attempt() === undefined ? "refused" : "allowed";
  } catch (e) {
    verdict = "refused";
  }
  console.log(`${name}: ${verdict}`);
}
"#;
    let out = common::run_plan(source, "");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "eval: refused\nFunction: refused\nchild_process: refused\nfs: refused\nproto: refused\n"
    );
}

/// Every sample passes the plugin's own rules and plans into a plan the
/// host accepts (the SDK's check, no toolchain needed; `codr plugin check`
/// builds and runs them in the sandbox).
#[test]
fn samples_pass_the_rules_and_plan() {
    codr_sdk::testing::check_samples::<codr_plugin_javascript::JavaScript>();
}
