//! The JavaScript rules against real programs: rejected ones with the rule id
//! and position asserted, accepted ones (tests/accepted/*.js) with none, and
//! the operator settings.

use std::path::{Path, PathBuf};

use codr_plugin_javascript::JavaScript;
use codr_sdk::{Language, Settings};

mod common;

/// `(rule, line, column)` of every diagnostic, in order.
fn found(source: &str, settings: &Settings) -> Vec<(String, u32, u32)> {
    JavaScript::validate(source, settings)
        .into_iter()
        .map(|d| (d.rule, d.line, d.column))
        .collect()
}

#[track_caller]
fn rejects(source: &str, expected: &[(&str, u32, u32)]) {
    let got = found(source, &Settings::default());
    let want: Vec<(String, u32, u32)> = expected
        .iter()
        .map(|(r, l, c)| (r.to_string(), *l, *c))
        .collect();
    assert_eq!(got, want, "source:\n{source}");
}

#[test]
fn requires_and_imports_in_every_spelling_are_rejected() {
    rejects("const fs = require('fs');\n", &[("blocked-import", 1, 20)]);
    rejects(
        "const fs = require(\"node:fs\");\n",
        &[("blocked-import", 1, 20)],
    );
    rejects(
        "const { readFile } = require('fs/promises');\n",
        &[("blocked-import", 1, 30)],
    );
    rejects("import fs from 'fs';\n", &[("blocked-import", 1, 16)]);
    rejects(
        "import { exec } from \"node:child_process\";\n",
        &[("blocked-import", 1, 22)],
    );
    rejects("import 'node:net';\n", &[("blocked-import", 1, 8)]);
    rejects("export * from 'os';\n", &[("blocked-import", 1, 15)]);
    rejects(
        "async function main() {\n  const http = await import('http');\n}\n",
        &[("blocked-import", 2, 29)],
    );
    rejects(
        "const cp = require(`child_process`);\n",
        &[("blocked-import", 1, 20)],
    );
    rejects(
        "const { Worker } = require('worker_threads');\nconst dns = require('node:dns/promises');\n",
        &[("blocked-import", 1, 28), ("blocked-import", 2, 21)],
    );
    rejects(
        "const m = module.require('vm');\n",
        &[("blocked-import", 1, 26)],
    );
    rejects(
        "process.getBuiltinModule('node:fs');\n",
        &[("blocked-attribute", 1, 9), ("blocked-import", 1, 26)],
    );
    rejects(
        "const x = [require('https'), require('http2'), require('tls'), require('dgram')];\n",
        &[
            ("blocked-import", 1, 20),
            ("blocked-import", 1, 38),
            ("blocked-import", 1, 56),
            ("blocked-import", 1, 72),
        ],
    );
    rejects(
        "import cluster from 'cluster';\nimport inspector from 'node:inspector/promises';\n",
        &[("blocked-import", 1, 21), ("blocked-import", 2, 23)],
    );
    rejects(
        "const { createRequire } = require('module');\n",
        &[("blocked-import", 1, 35)],
    );
}

#[test]
fn computed_module_names_and_aliased_require_are_rejected() {
    rejects(
        "const m = require('f' + 's');\n",
        &[("dynamic-import", 1, 19)],
    );
    rejects(
        "const name = 'fs';\nrequire(name);\n",
        &[("dynamic-import", 2, 9)],
    );
    rejects(
        "const cp = require(`child_${'process'}`);\n",
        &[("dynamic-import", 1, 20)],
    );
    rejects(
        "const f = require('\\x66s');\n",
        &[("dynamic-import", 1, 19)],
    );
    rejects(
        "import(['f', 's'].join(''));\n",
        &[("dynamic-import", 1, 8)],
    );
    rejects(
        "const r = require;\nr('fs');\n",
        &[("dynamic-import", 1, 11)],
    );
    rejects("console.log(require);\n", &[("dynamic-import", 1, 13)]);
    rejects("delete require.cache[k];\n", &[("dynamic-import", 1, 8)]);
    rejects(
        "require.main.require('fs');\n",
        &[("blocked-import", 1, 22)],
    );
    rejects(
        "require.main.require(name);\n",
        &[("dynamic-import", 1, 22)],
    );
}

#[test]
fn eval_and_function_are_rejected_however_reached() {
    rejects("eval('1 + 1');\n", &[("blocked-call", 1, 1)]);
    rejects(
        "const f = new Function('a', 'return a');\n",
        &[("blocked-call", 1, 15)],
    );
    rejects("Function('return this')();\n", &[("blocked-call", 1, 1)]);
    rejects("(0, eval)('1');\n", &[("blocked-call", 1, 5)]);
    rejects(
        "const run = globalThis['eval'];\n",
        &[("blocked-call", 1, 24)],
    );
    rejects(
        "const F = window[\"Function\"];\n",
        &[("blocked-call", 1, 18)],
    );
    rejects("global.eval('2');\n", &[("blocked-call", 1, 8)]);
    rejects(
        "const g = globalThis;\n[1].map(eval);\n",
        &[("blocked-call", 2, 9)],
    );
    rejects("const F = Function;\n", &[("blocked-call", 1, 11)]);
    rejects(
        "Function.prototype.call.call(x);\n",
        &[("blocked-call", 1, 1)],
    );
    rejects(
        "const key = 'ev' + 'al';\nglobalThis[key]('1');\n",
        &[("blocked-call", 2, 12)],
    );
    rejects(
        "const o = { eval };\nReflect.construct(Function, ['return 1']);\n",
        &[("blocked-call", 1, 13), ("blocked-call", 2, 19)],
    );
}

#[test]
fn process_internals_are_rejected() {
    rejects(
        "console.log(process.env.HOME);\n",
        &[("blocked-attribute", 1, 21)],
    );
    rejects("process.binding('fs');\n", &[("blocked-attribute", 1, 9)]);
    rejects(
        "process.dlopen(module, 'x.node');\n",
        &[("blocked-attribute", 1, 9)],
    );
    rejects(
        "process.kill(1, 'SIGKILL');\n",
        &[("blocked-attribute", 1, 9)],
    );
    rejects(
        "const m = process.mainModule;\n",
        &[("blocked-attribute", 1, 19)],
    );
    rejects(
        "const e = process['env'];\n",
        &[("blocked-attribute", 1, 19)],
    );
    rejects(
        "const e = globalThis.process.env;\n",
        &[("blocked-attribute", 1, 30)],
    );
    rejects(
        "const { env, stdout } = process;\n",
        &[("blocked-attribute", 1, 9)],
    );
    rejects(
        "import { env as vars, stdin } from 'node:process';\n",
        &[("blocked-attribute", 1, 10)],
    );
    rejects(
        "const home = require('process').env.HOME;\n",
        &[("blocked-attribute", 1, 33)],
    );
    rejects(
        "const p = process;\np.env;\n",
        &[("blocked-attribute", 1, 11)],
    );
    rejects(
        "const k = 'env';\nprocess[k];\n",
        &[("blocked-attribute", 2, 9)],
    );
}

#[test]
fn prototype_tricks_are_rejected() {
    rejects(
        "const F = (() => {})['constructor'];\n",
        &[("prototype-escape", 1, 22)],
    );
    rejects(
        "[].map.constructor.constructor('return this')();\n",
        &[("prototype-escape", 1, 20)],
    );
    rejects(
        "const f = (() => 1).constructor('return 2');\n",
        &[("prototype-escape", 1, 21)],
    );
    rejects(
        "const o = {};\no.__proto__.polluted = 1;\n",
        &[("prototype-escape", 2, 3)],
    );
    rejects(
        "const o = { __proto__: null };\n",
        &[("prototype-escape", 1, 13)],
    );
    rejects("x['__proto__'] = {};\n", &[("prototype-escape", 1, 3)]);
    rejects(
        "const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;\n",
        &[("prototype-escape", 1, 61)],
    );
    rejects(
        "const { constructor: F } = () => {};\n",
        &[("prototype-escape", 1, 9)],
    );
    rejects(
        "Reflect.get(f, 'constructor');\n",
        &[("prototype-escape", 1, 16)],
    );
}

#[test]
fn messages_say_what_and_why() {
    let d = JavaScript::validate("require('node:fs/promises');\n", &Settings::default());
    assert_eq!(
        d[0].message,
        "import of module 'fs' is not allowed: programs run without file-system or process access"
    );
    assert_eq!(
        (d[0].line, d[0].column, d[0].end_line, d[0].end_column),
        (1, 9, 1, 27)
    );
    let d = JavaScript::validate("import http from 'http';\n", &Settings::default());
    assert!(
        d[0].message
            .ends_with("programs run without network access"),
        "{}",
        d[0].message
    );
    let d = JavaScript::validate("eval('1');\n", &Settings::default());
    assert_eq!(
        d[0].message,
        "use of 'eval' is not allowed: programs may not run code built from strings"
    );
    let d = JavaScript::validate("process.env;\n", &Settings::default());
    assert_eq!(
        d[0].message,
        "use of 'process.env' is not allowed: programs see no environment"
    );
}

#[test]
fn allow_modules_lifts_exactly_the_listed_modules() {
    let settings = Settings::from_pairs(&[("allow-modules", "os, fs")]);
    let source = "const os = require('node:os');\nimport { readFile } from 'fs/promises';\nconst net = require('net');\n";
    assert_eq!(
        found(source, &settings),
        vec![("blocked-import".to_string(), 3, 21)]
    );
    // Allowing every blocked module leaves the other rules working.
    let all = codr_plugin_javascript::rules::BLOCKED_MODULES.join(",");
    let settings = Settings::from_pairs(&[("allow-modules", &all)]);
    assert_eq!(
        found("require('vm');\neval('1');\n", &settings),
        vec![("blocked-call".to_string(), 2, 1)]
    );
}

#[test]
fn disable_rules_skips_a_rule() {
    let settings = Settings::from_pairs(&[("disable-rules", "prototype-escape,blocked-call")]);
    assert!(found("x.__proto__;\neval('1');\n", &settings).is_empty());
    assert_eq!(found("require('fs');\n", &settings).len(), 1);
}

#[test]
fn names_in_strings_comments_and_harmless_positions_pass() {
    let source = r#"
// require('fs') and eval(code) would be rejected; so would process.env.
/* import fs from 'fs'; new Function('x') */
const message = "never call eval() or require('child_process')";
const exec = 1;
let fs = [exec, "fs"];
const evaluate = (x) => x * 2;
class Calculator {
  constructor(base) { this.base = base; }
  eval(expr) { return this.base + expr; }
  static create() { return new Calculator(1); }
}
const c = Calculator.create();
console.log(c.eval(2), c.constructor.name, c.constructor === Calculator, c instanceof Calculator);
console.log(typeof evaluate === "function", evaluate instanceof Function, message, fs);
console.log(`${message} from process.env`, { env: "none" }.env, process.argv.length > 0);
const { stdin, stdout } = process;
if (require.main === module) console.log("run as a script");
process.stdout.write(String(process.exitCode ?? 0) + "\n");
const record = { constructor: "a field named constructor", eval: true };
console.log(Object.keys(record).length, record.eval, c.constructor.name.length);
"#;
    assert_eq!(found(source, &Settings::default()), vec![]);
}

/// Every `tests/accepted/*.js` with its optional `.in` (stdin).
fn accepted_programs() -> Vec<(PathBuf, String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/accepted");
    codr_sdk::testing::programs_in(&dir, "js")
}

#[test]
fn realistic_programs_pass_validation() {
    let programs = accepted_programs();
    assert!(
        programs.len() >= 10,
        "only {} accepted programs",
        programs.len()
    );
    let lines: usize = programs.iter().map(|(_, s, _)| s.lines().count()).sum();
    assert!(lines >= 300, "accepted programs total only {lines} lines");
    for (path, source, _) in &programs {
        let diagnostics = JavaScript::validate(source, &Settings::default());
        assert!(
            diagnostics.is_empty(),
            "{} was rejected: {diagnostics:#?}",
            path.display()
        );
    }
}

/// The accepted programs are real: each runs to success under the planned
/// command (Node's permission model and flags included).
#[test]
fn accepted_programs_run_under_the_planned_command() {
    for (path, source, stdin) in accepted_programs() {
        let output = common::run_plan(&source, &stdin);
        assert!(
            output.status.success(),
            "{} failed: {}",
            path.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            output.stderr.is_empty(),
            "{} wrote to stderr: {}",
            path.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn reading_stdin_through_fs_is_allowed_other_fs_use_is_not() {
    for source in [
        "const input = require('fs').readFileSync(0, 'utf8');\nconsole.log(input.trim());\n",
        "const lines = require(\"fs\").readFileSync(\"/dev/stdin\").toString().split('\\n');\n",
        "const fs = require('fs');\nconst data = fs.readFileSync(0, 'utf-8');\nconsole.log(data);\n",
        "const fs = require('node:fs');\nconst a = fs.readFileSync('/dev/stdin', 'utf8');\n",
        "const rl = require('readline').createInterface({ input: process.stdin });\nrl.on('line', l => console.log(l));\n",
    ] {
        assert_eq!(found(source, &Settings::default()), vec![], "{source}");
    }
    // Any other use keeps the import refused.
    rejects(
        "const fs = require('fs');\nfs.readFileSync(0);\nfs.writeFileSync('x', 'y');\n",
        &[("blocked-import", 1, 20)],
    );
    rejects(
        "require('fs').readFileSync('/etc/passwd');\n",
        &[("blocked-import", 1, 9)],
    );
    rejects(
        "const fs = require('fs');\nconst f = fs;\n",
        &[("blocked-import", 1, 20)],
    );
    rejects(
        "require('fs').writeFileSync(0, 'x');\n",
        &[("blocked-import", 1, 9)],
    );
}
