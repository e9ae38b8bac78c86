//! A read cache whose entries are valid only for the write generation they were
//! loaded under (see [`Database::generation`](crate::Database::generation)): any
//! committed write, in this process or (on PostgreSQL) in another replica, retires
//! every entry at once. Hot single-row reads use it; listings never do.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::RwLock;

/// Entries kept at most; past that the cache starts over.
const LIMIT: usize = 10_000;

/// Values by key, each tagged with the generation it was read under.
#[derive(Debug)]
pub struct GenerationCache<K, V> {
    entries: RwLock<HashMap<K, (u64, V)>>,
}

impl<K, V> Default for GenerationCache<K, V> {
    fn default() -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
        }
    }
}

impl<K: Hash + Eq, V: Clone> GenerationCache<K, V> {
    /// The value for `key` if it was loaded under `generation`.
    pub fn get(&self, key: &K, generation: u64) -> Option<V> {
        let entries = self.entries.read().ok()?;
        entries
            .get(key)
            .filter(|(loaded_under, _)| *loaded_under == generation)
            .map(|(_, value)| value.clone())
    }

    /// Remembers a value read under `generation` (read before the load began).
    pub fn put(&self, key: K, generation: u64, value: V) {
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= LIMIT {
                entries.clear();
            }
            entries.insert(key, (generation, value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_serve_only_their_generation() {
        let cache = GenerationCache::default();
        cache.put("a", 7, 1);
        assert_eq!(cache.get(&"a", 7), Some(1));
        assert_eq!(cache.get(&"a", 8), None, "a later write retires the entry");
        assert_eq!(cache.get(&"b", 7), None);
    }
}
