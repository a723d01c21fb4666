//! Contract 0.1 (`wit/since_v0.1.0/`): still loaded. Its answers are turned
//! into the latest types here; nothing else in the host sees 0.1 types.

wasmtime::component::bindgen!({
    world: "language",
    path: "../../wit/since_v0.1.0",
    // A grammar that fails ends the plugin call (see `syntax_host!`).
    imports: { "codr:plugin/syntax": trappable },
});

use codr::plugin::types as old;

use super::wit as new;

pub(crate) fn setting(s: &new::Setting) -> old::Setting {
    old::Setting {
        key: s.key.clone(),
        value: s.value.clone(),
    }
}

/// A 0.1 plugin is not told about other files (it could not use them).
pub(crate) fn plan_request(r: &new::PlanRequest) -> old::PlanRequest {
    old::PlanRequest {
        source: r.source.clone(),
        args: r.args.clone(),
        settings: r.settings.iter().map(setting).collect(),
    }
}

impl From<old::Identity> for new::Identity {
    fn from(id: old::Identity) -> Self {
        Self {
            name: id.name,
            version: id.version,
            aliases: id.aliases,
            extension: id.extension,
            editor_mode: id.editor_mode,
            grammar: id.grammar,
            runtime: None,
        }
    }
}

impl From<old::RuleInfo> for new::RuleInfo {
    fn from(r: old::RuleInfo) -> Self {
        Self {
            id: r.id,
            description: r.description,
        }
    }
}

impl From<old::Diagnostic> for new::Diagnostic {
    fn from(d: old::Diagnostic) -> Self {
        Self {
            rule: d.rule,
            message: d.message,
            line: d.line,
            column: d.column,
            end_line: d.end_line,
            end_column: d.end_column,
        }
    }
}

impl From<old::Sample> for new::Sample {
    fn from(s: old::Sample) -> Self {
        Self {
            name: s.name,
            source: s.source,
            stdin: s.stdin,
            expected_stdout: s.expected_stdout,
        }
    }
}

impl From<old::Plan> for new::Plan {
    fn from(p: old::Plan) -> Self {
        Self {
            files: p.files.into_iter().map(Into::into).collect(),
            compile: p.compile.map(Into::into),
            run: p.run.into(),
            artifacts: p.artifacts,
        }
    }
}

impl From<old::SourceFile> for new::SourceFile {
    fn from(f: old::SourceFile) -> Self {
        Self {
            path: f.path,
            content: f.content,
            executable: f.executable,
        }
    }
}

impl From<old::Step> for new::Step {
    fn from(s: old::Step) -> Self {
        let env = s.env.into_iter();
        Self {
            program: s.program,
            args: s.args,
            env: env
                .map(|v| new::EnvVar {
                    name: v.name,
                    value: v.value,
                })
                .collect(),
            limits: new::Limits {
                wall_time_ms: s.limits.wall_time_ms,
                cpu_time_ms: s.limits.cpu_time_ms,
                memory_bytes: s.limits.memory_bytes,
                processes: s.limits.processes,
                file_size_bytes: s.limits.file_size_bytes,
                output_bytes: s.limits.output_bytes,
                address_space_bytes: s.limits.address_space_bytes,
            },
        }
    }
}
