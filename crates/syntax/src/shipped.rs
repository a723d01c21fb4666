//! Grammars loaded from WebAssembly in this process, through tree-sitter's
//! `wasm` feature (a wasmtime store per parser runs the grammar's lexer and
//! external scanner).
//!
//! Nothing here bounds the grammar's time or memory: the host runs shipped
//! grammars in worker processes ([`crate::worker`]) that it can kill, and
//! only trusted callers (a plugin's own tests) load them in-process.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use tree_sitter::{wasmtime, Language, WasmStore};

use crate::{lock, Grammar, GrammarKey, SyntaxError};

/// Grammars loaded from WebAssembly, by name.
#[derive(Default)]
pub(crate) struct Shipped {
    by_name: RwLock<HashMap<String, Loaded>>,
    /// The store the grammars are compiled in; parsers get their own stores.
    loader: Mutex<Option<WasmStore>>,
}

struct Loaded {
    key: GrammarKey,
    language: Language,
}

impl Shipped {
    /// The names loaded so far, sorted.
    pub(crate) fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = read(&self.by_name).keys().cloned().collect();
        names.sort();
        names
    }

    pub(crate) fn get(&self, name: &str) -> Option<Grammar> {
        read(&self.by_name).get(name).map(|loaded| Grammar {
            key: loaded.key.clone(),
            language: loaded.language.clone(),
        })
    }

    /// Compiles `wasm` and keeps it as `name`, unless the same bytes are
    /// already loaded under that name.
    pub(crate) fn load(&self, name: &str, wasm: &[u8]) -> Result<(), SyntaxError> {
        let hash = BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
            .hash_one(wasm);
        let key = GrammarKey::Shipped(Arc::from(name), hash);
        if read(&self.by_name).get(name).is_some_and(|l| l.key == key) {
            return Ok(());
        }
        let failed = |message: String| SyntaxError::Grammar {
            grammar: name.to_string(),
            message,
        };
        let language = {
            let mut loader = lock(&self.loader);
            if loader.is_none() {
                *loader = Some(new_store().map_err(failed)?);
            }
            let store = loader.as_mut().expect("set above");
            store
                .load_language(name, wasm)
                .map_err(|e| failed(format!("does not load: {e}")))?
        };
        let loaded = Loaded { key, language };
        write(&self.by_name).insert(name.to_string(), loaded);
        Ok(())
    }
}

/// The environment variable naming a folder where compiled grammars are
/// kept between processes (set by [`crate::GrammarWorkers`] for its workers).
pub(crate) const CACHE_ENV: &str = "CODR_GRAMMAR_CACHE_DIR";

/// The wasmtime engine every grammar store of this process shares. With
/// [`CACHE_ENV`] set, compiled grammars are kept on disk: a worker that
/// loads a grammar compiled before reads it back in milliseconds instead
/// of compiling it again (about 150 ms for Go's).
fn engine() -> &'static wasmtime::Engine {
    static ENGINE: OnceLock<wasmtime::Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = wasmtime::Config::new();
        // The lexer calls the host through the function table for every
        // character (`lexer->advance` is a `call_indirect`); a lazily
        // initialized table checks each entry on each such call. Initialize
        // it when a parser's store instantiates the grammar instead: 1.1%
        // fewer instructions per parse of a 10 KB Java program (callgrind,
        // 23.51 M -> 23.25 M), for a few microseconds once per parser.
        config.table_lazy_init(false);
        if let Some(dir) = std::env::var_os(CACHE_ENV) {
            let mut cache = wasmtime::CacheConfig::new();
            cache.with_directory(std::path::PathBuf::from(dir));
            // No cache is slower, not wrong: go on without one.
            if let Ok(cache) = wasmtime::Cache::new(cache) {
                config.cache(Some(cache));
            }
        }
        wasmtime::Engine::new(&config).unwrap_or_default()
    })
}

/// A new store for a parser of a WebAssembly grammar.
pub(crate) fn new_store() -> Result<WasmStore, String> {
    WasmStore::new(engine()).map_err(|e| format!("no WebAssembly store: {e}"))
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}
