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

from_fields!(old::Identity => new::Identity {
    name, version, aliases, extension, editor_mode, grammar;
    runtime: None,
});

from_fields!(old::RuleInfo => new::RuleInfo { id, description });

from_fields!(old::Diagnostic => new::Diagnostic { rule, message, line, column, end_line, end_column });

from_fields!(old::Sample => new::Sample { name, source, stdin, expected_stdout });

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

from_fields!(old::SourceFile => new::SourceFile { path, content, executable });

impl From<old::Step> for new::Step {
    fn from(s: old::Step) -> Self {
        let env = s.env.into_iter();
        Self {
            program: s.program,
            args: s.args,
            env: env
                .map(|v| move_fields!(v => new::EnvVar { name, value }))
                .collect(),
            limits: move_fields!(s.limits => new::Limits {
                wall_time_ms, cpu_time_ms, memory_bytes, processes,
                file_size_bytes, output_bytes, address_space_bytes,
            }),
        }
    }
}
