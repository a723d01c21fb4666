//! Every contract version the host loads, Zed-style: the WIT of each lives in
//! its own folder (`wit/since_v0.1.0/`, `wit/since_v0.2.0/`), each gets its
//! own generated bindings here, and the rest of the crate sees one model:
//! the latest version's types ([`wit`]), which older plugins' answers are
//! converted to. A new contract version adds a module and an arm to
//! [`Pre`] and [`Instance`]; old ones are never edited.

use semver::Version;
use wasmtime::component::{HasSelf, InstancePre, Linker};
use wasmtime::Store;

use crate::bindings::HostState;

pub(crate) mod since_v0_1_0;
pub(crate) mod since_v0_2_0;

/// The `syntax` import has the same shape in every version: one
/// implementation (`HostState::query`, `HostState::syntax_errors`), with
/// each version's own generated types around it.
///
/// Its functions are trappable: when a grammar a plugin ships fails while
/// serving the call (it looped past the call's budget, trapped, crashed its
/// worker, ran out of memory), the plugin call fails with the grammar's
/// error instead of handing the plugin an error it might ignore, so a
/// hostile grammar can never make a source pass unchecked. Other errors
/// (a bad query, an unknown grammar) go back to the plugin as before.
macro_rules! syntax_host {
    ($version:ident) => {
        impl $version::codr::plugin::types::Host for HostState {}

        impl $version::codr::plugin::syntax::Host for HostState {
            fn query(
                &mut self,
                grammar: String,
                source: String,
                query: String,
            ) -> wasmtime::Result<Result<Vec<$version::codr::plugin::syntax::Capture>, String>>
            {
                let captures = match HostState::query(self, &grammar, &source, &query) {
                    Ok(captures) => captures,
                    Err(e) => return answer_or_trap(e),
                };
                let wit = |c: codr_syntax::Capture| {
                    move_fields!(c => $version::codr::plugin::syntax::Capture {
                        name, pattern, match_id, kind, text, start_byte, end_byte,
                        start_line, start_column, end_line, end_column,
                    })
                };
                Ok(Ok(captures.into_iter().map(wit).collect()))
            }

            fn syntax_errors(
                &mut self,
                grammar: String,
                source: String,
                max: u32,
            ) -> wasmtime::Result<Result<Vec<(u32, u32, u32, u32)>, String>> {
                match HostState::syntax_errors(self, &grammar, &source, max) {
                    Ok(spans) => Ok(Ok(spans)),
                    Err(e) => answer_or_trap(e),
                }
            }
        }
    };
}

/// A failed syntax call: the plugin's answer (`Ok(Err(text))`), or a trap
/// that ends the call when the grammar itself failed or the call's time ran
/// out during it (see [`syntax_host`]): a plugin cannot take either for an
/// answer and accept the code.
fn answer_or_trap<T>(error: codr_syntax::SyntaxError) -> wasmtime::Result<Result<T, String>> {
    match error {
        codr_syntax::SyntaxError::Grammar { .. } | codr_syntax::SyntaxError::OutOfTime(_) => {
            Err(wasmtime::Error::new(error))
        }
        other => Ok(Err(other.to_string())),
    }
}

syntax_host!(since_v0_1_0);
syntax_host!(since_v0_2_0);

/// The latest contract's types: the host's one model of a plugin's answers.
pub(crate) use since_v0_2_0::codr::plugin::types as wit;

/// Adds the imports of every supported version to `linker`.
pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    since_v0_1_0::Language::add_to_linker::<_, HasSelf<HostState>>(linker, |state| state)?;
    since_v0_2_0::Language::add_to_linker::<_, HasSelf<HostState>>(linker, |state| state)?;
    Ok(())
}

/// A linked plugin of some contract version, ready to instantiate.
pub(crate) enum Pre {
    V0_1(since_v0_1_0::LanguagePre<HostState>),
    V0_2(since_v0_2_0::LanguagePre<HostState>),
}

impl Pre {
    /// The bindings for `contract` (already checked to be supported).
    pub(crate) fn new(contract: &Version, pre: InstancePre<HostState>) -> wasmtime::Result<Self> {
        Ok(match (contract.major, contract.minor) {
            (0, 1) => Pre::V0_1(since_v0_1_0::LanguagePre::new(pre)?),
            _ => Pre::V0_2(since_v0_2_0::LanguagePre::new(pre)?),
        })
    }

    pub(crate) fn instantiate(&self, store: &mut Store<HostState>) -> wasmtime::Result<Instance> {
        Ok(match self {
            Pre::V0_1(pre) => Instance::V0_1(pre.instantiate(store)?),
            Pre::V0_2(pre) => Instance::V0_2(pre.instantiate(store)?),
        })
    }
}

/// One instantiated plugin; every call answers in the latest types.
pub(crate) enum Instance {
    V0_1(since_v0_1_0::Language),
    V0_2(since_v0_2_0::Language),
}

type Store_<'a> = &'a mut Store<HostState>;

impl Instance {
    pub(crate) fn identity(&self, store: Store_) -> wasmtime::Result<wit::Identity> {
        match self {
            Instance::V0_1(p) => Ok(p.codr_plugin_plugin().call_identity(store)?.into()),
            Instance::V0_2(p) => p.codr_plugin_plugin().call_identity(store),
        }
    }

    pub(crate) fn rules(&self, store: Store_) -> wasmtime::Result<Vec<wit::RuleInfo>> {
        match self {
            Instance::V0_1(p) => Ok(into_all(p.codr_plugin_plugin().call_rules(store)?)),
            Instance::V0_2(p) => p.codr_plugin_plugin().call_rules(store),
        }
    }

    pub(crate) fn validate(
        &self,
        store: Store_,
        source: &str,
        settings: &[wit::Setting],
    ) -> wasmtime::Result<Vec<wit::Diagnostic>> {
        match self {
            Instance::V0_1(p) => {
                let settings: Vec<_> = settings.iter().map(since_v0_1_0::setting).collect();
                let found = p
                    .codr_plugin_plugin()
                    .call_validate(store, source, &settings)?;
                Ok(into_all(found))
            }
            Instance::V0_2(p) => p
                .codr_plugin_plugin()
                .call_validate(store, source, settings),
        }
    }

    pub(crate) fn plan(
        &self,
        store: Store_,
        request: &wit::PlanRequest,
    ) -> wasmtime::Result<Result<wit::Plan, String>> {
        match self {
            Instance::V0_1(p) => {
                let request = since_v0_1_0::plan_request(request);
                let plan = p.codr_plugin_plugin().call_plan(store, &request)?;
                Ok(plan.map(Into::into))
            }
            Instance::V0_2(p) => p.codr_plugin_plugin().call_plan(store, request),
        }
    }

    pub(crate) fn samples(&self, store: Store_) -> wasmtime::Result<Vec<wit::Sample>> {
        match self {
            Instance::V0_1(p) => Ok(into_all(p.codr_plugin_plugin().call_samples(store)?)),
            Instance::V0_2(p) => p.codr_plugin_plugin().call_samples(store),
        }
    }

    /// The grammar the plugin ships; 0.1 plugins cannot ship one.
    pub(crate) fn grammar_wasm(&self, store: Store_) -> wasmtime::Result<Option<Vec<u8>>> {
        match self {
            Instance::V0_1(_) => Ok(None),
            Instance::V0_2(p) => p.codr_plugin_plugin().call_grammar_wasm(store),
        }
    }
}

fn into_all<T: Into<U>, U>(items: Vec<T>) -> Vec<U> {
    items.into_iter().map(Into::into).collect()
}
