//! identity(), plan() and samples() of the Python plugin.

use codr_plugin_python::Python;
use codr_sdk::{testing::request, Language};

mod common;

#[test]
fn identity_names_python_3_11() {
    let id = Python::identity();
    assert_eq!(id.name, "python");
    assert_eq!(id.version, "3.11");
    assert_eq!(id.aliases, ["py", "python3", "py3"]);
    assert_eq!(id.extension, "py");
    assert_eq!(id.editor_mode, "python");
    assert_eq!(id.grammar.as_deref(), Some("python"));
}

/// The version we announce is the one Debian's interpreter actually is.
#[test]
fn identity_version_matches_usr_bin_python3() {
    let out = std::process::Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')",
        ])
        .output()
        .expect("run /usr/bin/python3");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        Python::identity().version
    );
}

#[test]
fn rules_list_every_rule_id_once() {
    let ids: Vec<String> = Python::rules().into_iter().map(|r| r.id).collect();
    assert_eq!(
        ids,
        [
            "blocked-import",
            "blocked-call",
            "blocked-reference",
            "blocked-attribute"
        ]
    );
    assert!(Python::rules().iter().all(|r| !r.description.is_empty()));
}

#[test]
fn plan_runs_main_py_unbuffered_without_compile() {
    let plan = codr_sdk::testing::plan::<Python>(&request("print(1)\n", &[], &[])).unwrap();
    assert_eq!(plan.files.len(), 1);
    assert_eq!(plan.files[0].path, "main.py");
    assert_eq!(plan.files[0].content, "print(1)\n");
    assert!(!plan.files[0].executable);
    assert!(plan.compile.is_none());
    assert!(plan.artifacts.is_empty());
    assert_eq!(plan.run.program, "/usr/bin/python3");
    assert_eq!(plan.run.args, ["-u", "main.py"]);
    let env: Vec<(&str, &str)> = plan
        .run
        .env
        .iter()
        .map(|v| (v.name.as_str(), v.value.as_str()))
        .collect();
    assert_eq!(
        env,
        [
            ("PYTHONDONTWRITEBYTECODE", "1"),
            ("PYTHONUNBUFFERED", "1"),
            ("PYTHONIOENCODING", "utf-8"),
        ]
    );
    let l = &plan.run.limits;
    assert!(l.memory_bytes.is_none() && l.processes.is_none() && l.address_space_bytes.is_none());
}

#[test]
fn program_arguments_are_appended() {
    let plan = codr_sdk::testing::plan::<Python>(&request("", &["--n", "3"], &[])).unwrap();
    assert_eq!(plan.run.args, ["-u", "main.py", "--n", "3"]);
}

#[test]
fn operator_overrides_replace_the_command() {
    let plan = codr_sdk::testing::plan::<Python>(&request(
        "",
        &["x"],
        &[
            ("run-program", "/opt/py312/bin/python3"),
            ("run-args", "-I  -u main.py"),
        ],
    ))
    .unwrap();
    assert_eq!(plan.run.program, "/opt/py312/bin/python3");
    assert_eq!(plan.run.args, ["-I", "-u", "main.py", "x"]);
    // The program alone keeps the default arguments.
    let plan =
        codr_sdk::testing::plan::<Python>(&request("", &[], &[("run-program", "python3.11")]))
            .unwrap();
    assert_eq!(
        (plan.run.program.as_str(), plan.run.args.len()),
        ("python3.11", 2)
    );
}

#[test]
fn samples_validate_clean_and_print_what_they_promise() {
    let samples = Python::samples();
    assert!(samples.len() >= 2);
    assert_eq!(samples[0].source, "print(\"Hello, World!\")\n");
    assert_eq!(samples[0].expected_stdout, "Hello, World!\n");
    assert!(
        samples.iter().any(|s| !s.stdin.is_empty()),
        "one sample reads stdin"
    );
    for sample in samples {
        assert!(Python::validate(&sample.source, &Default::default()).is_empty());
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

/// Every sample passes the plugin's own rules and plans into a plan the
/// host accepts (the SDK's check, no toolchain needed; `codr plugin check`
/// builds and runs them in the sandbox).
#[test]
fn samples_pass_the_rules_and_plan() {
    codr_sdk::testing::check_samples::<codr_plugin_python::Python>();
}
