//! A read cache for hot single-row reads. Each entry remembers the write generation it
//! was loaded under and the one thing it depends on (a [`ChangeTag`]); it is served
//! while no committed write touching that tag (or everything) came later, in this
//! process or, on PostgreSQL, in another replica (see [`Database`]). Listings never
//! use it.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::RwLock;

use warden_domain::ports::ChangeTag;

use crate::Database;

/// Entries kept at most; past that the cache starts over.
const LIMIT: usize = 10_000;

/// Values by key, each tagged with its generation and dependency.
#[derive(Debug)]
pub struct GenerationCache<K, V> {
    entries: RwLock<HashMap<K, (u64, ChangeTag, V)>>,
}

impl<K, V> Default for GenerationCache<K, V> {
    fn default() -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
        }
    }
}

impl<K: Hash + Eq, V: Clone> GenerationCache<K, V> {
    /// The value for `key` if nothing it depends on changed since it was loaded.
    pub fn get(&self, key: &K, db: &Database) -> Option<V> {
        let entries = self.entries.read().ok()?;
        entries
            .get(key)
            .filter(|(generation, tag, _)| db.unchanged_since(*generation, &[*tag]))
            .map(|(_, _, value)| value.clone())
    }

    /// Remembers a value loaded under `generation` (read before the load began) that
    /// depends on `tag`.
    pub fn put(&self, key: K, generation: u64, tag: ChangeTag, value: V) {
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= LIMIT {
                entries.clear();
            }
            entries.insert(key, (generation, tag, value));
        }
    }
}
