//! The engine's caches: compiled queries by grammar and text, and the
//! results of the last few queries.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tree_sitter::{Language, Query};

use crate::dispatch::{Dispatch, Roots};
use crate::prefilter::Prefilter;
use crate::raw::RawQuery;
use crate::{
    lock, Capture, GrammarKey, QUERY_CACHE_CAPACITY, RESULT_CACHE_CAPACITY,
    RESULT_CACHE_MAX_ENTRY_BYTES,
};

/// How many variants (the query with some patterns disabled) one compiled
/// query keeps; a source that needs another one runs the whole query.
const VARIANTS_PER_QUERY: usize = 8;

/// A compiled query, what its patterns need to find in a source, where
/// they can start, and the variants of it compiled so far for sources
/// where some cannot match.
pub(crate) struct Compiled {
    whole: Plan,
    language: Language,
    text: String,
    pub(crate) prefilter: Prefilter,
    roots: Roots,
    variants: Mutex<HashMap<Vec<u32>, Plan>>,
}

/// A query ready to run: the compiled query (some patterns perhaps
/// disabled) and the nodes to start it at, when they are known.
#[derive(Clone)]
pub(crate) struct Plan {
    pub(crate) query: Arc<Query>,
    pub(crate) dispatch: Option<Arc<Dispatch>>,
}

impl Compiled {
    pub(crate) fn new(language: &Language, text: &str, query: Query) -> Self {
        let raw = RawQuery::new(language, text);
        let (prefilter, roots) = match &raw {
            Some(raw) => (
                Prefilter::from_raw(raw),
                Roots::new(language, &query, raw, text),
            ),
            None => (Prefilter::default(), Roots::unknown()),
        };
        let whole = Plan {
            dispatch: roots.dispatch(&[]).map(Arc::new),
            query: Arc::new(query),
        };
        Self {
            whole,
            language: language.clone(),
            text: text.to_string(),
            prefilter,
            roots,
            variants: Mutex::new(HashMap::new()),
        }
    }

    /// The plan for `source`: without the patterns that cannot match it
    /// (see [`crate::prefilter`]), which give the same captures for less
    /// work.
    pub(crate) fn for_source(&self, source: &str) -> Plan {
        let skip = self.prefilter.impossible(source.as_bytes());
        if skip.is_empty() {
            return self.whole.clone();
        }
        let mut variants = lock(&self.variants);
        if let Some(variant) = variants.get(&skip) {
            return variant.clone();
        }
        if variants.len() >= VARIANTS_PER_QUERY {
            return self.whole.clone();
        }
        // The text compiled once already: this cannot fail, and if it did
        // the whole query is still right.
        let Ok(mut variant) = Query::new(&self.language, &self.text) else {
            return self.whole.clone();
        };
        for &pattern in &skip {
            variant.disable_pattern(pattern as usize);
        }
        let variant = Plan {
            query: Arc::new(variant),
            dispatch: self.roots.dispatch(&skip).map(Arc::new),
        };
        variants.insert(skip, variant.clone());
        variant
    }
}

/// Compiled queries by grammar and query text, least recently used evicted.
#[derive(Default)]
pub(crate) struct QueryCache {
    by_grammar: HashMap<GrammarKey, HashMap<String, (Arc<Compiled>, u64)>>,
    tick: u64,
}

impl QueryCache {
    pub(crate) fn len(&self) -> usize {
        self.by_grammar.values().map(HashMap::len).sum()
    }

    pub(crate) fn get(&mut self, grammar: &GrammarKey, text: &str) -> Option<Arc<Compiled>> {
        self.tick += 1;
        let tick = self.tick;
        let entry = self.by_grammar.get_mut(grammar)?.get_mut(text)?;
        entry.1 = tick;
        Some(entry.0.clone())
    }

    pub(crate) fn insert(&mut self, grammar: GrammarKey, text: &str, query: Arc<Compiled>) {
        if self.len() >= QUERY_CACHE_CAPACITY {
            self.evict_oldest();
        }
        self.tick += 1;
        let tick = self.tick;
        self.by_grammar
            .entry(grammar)
            .or_default()
            .insert(text.to_string(), (query, tick));
    }

    /// O(capacity), but only on a miss with a full cache, which a well-behaved
    /// plugin never causes.
    fn evict_oldest(&mut self) {
        let oldest = self
            .by_grammar
            .iter()
            .flat_map(|(g, m)| m.iter().map(move |(t, (_, tick))| (*tick, g, t)))
            .min_by_key(|(tick, _, _)| *tick)
            .map(|(_, g, t)| (g.clone(), t.clone()));
        if let Some((grammar, text)) = oldest {
            if let Some(m) = self.by_grammar.get_mut(&grammar) {
                m.remove(&text);
            }
        }
    }
}

/// What a cached result was computed from: the compiled query (by
/// identity: the entry holds the `Arc`, so its address cannot be reused by
/// another query while the entry lives) and the source's hash. A hit also
/// compares the whole source, so a hash collision can never hand out the
/// result of another program.
pub(crate) struct ResultKey {
    query: Arc<Compiled>,
    source_hash: u64,
}

impl ResultKey {
    pub(crate) fn new(query: &Arc<Compiled>, source: &str) -> Self {
        use std::hash::BuildHasher;
        // Fixed keys are fine: equality is always checked on the full source.
        let source_hash =
            std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
                .hash_one(source);
        Self {
            query: query.clone(),
            source_hash,
        }
    }

    pub(crate) fn matches(&self, other: &ResultKey) -> bool {
        self.source_hash == other.source_hash && Arc::ptr_eq(&self.query, &other.query)
    }
}

pub(crate) struct ResultEntry {
    pub(crate) key: ResultKey,
    pub(crate) source: String,
    captures: Vec<Capture>,
    tick: u64,
}

/// The last [`RESULT_CACHE_CAPACITY`] query results, least recently used
/// evicted.
#[derive(Default)]
pub(crate) struct ResultCache {
    pub(crate) entries: Vec<ResultEntry>,
    tick: u64,
}

impl ResultCache {
    pub(crate) fn get(&mut self, key: &ResultKey, source: &str) -> Option<Vec<Capture>> {
        self.tick += 1;
        let tick = self.tick;
        let entry = self
            .entries
            .iter_mut()
            .find(|e| e.key.matches(key) && e.source == source)?;
        entry.tick = tick;
        Some(entry.captures.clone())
    }

    pub(crate) fn insert(&mut self, key: ResultKey, source: &str, captures: &[Capture]) {
        let bytes = source.len() + captures.iter().map(|c| c.text.len()).sum::<usize>();
        if bytes > RESULT_CACHE_MAX_ENTRY_BYTES {
            return;
        }
        if self.entries.len() >= RESULT_CACHE_CAPACITY {
            if let Some(oldest) = (0..self.entries.len()).min_by_key(|&i| self.entries[i].tick) {
                self.entries.swap_remove(oldest);
            }
        }
        self.tick += 1;
        self.entries.push(ResultEntry {
            key,
            source: source.to_string(),
            captures: captures.to_vec(),
            tick: self.tick,
        });
    }
}
