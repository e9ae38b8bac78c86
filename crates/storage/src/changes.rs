//! Which committed writes a cached read has missed.
//!
//! Every committed write moves a generation counter and records, under the new
//! generation, what it touched ([`ChangeTag`]s, or everything). A read remembers the
//! generation it began under; its result stays valid while nothing it depends on was
//! touched at a later generation. Tags are hashed into a fixed table of slots, so the
//! bookkeeping is constant in size: two tags sharing a slot only make a cached value
//! reload sooner than it had to.
//!
//! On PostgreSQL each committed write is also announced with its tags by `NOTIFY`, and
//! every replica records them the same way (see `Database::connect`).

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use warden_domain::ports::ChangeTag;

/// Slots in the table (a power of two).
const SLOTS: usize = 1 << 14;

/// The longest `NOTIFY` payload sent (PostgreSQL caps them below 8 000 bytes).
const MAX_PAYLOAD: usize = 7_000;

/// What one committed write touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Touched {
    /// Anything at all: every cached value is retired.
    Everything,
    /// These things only.
    Only(Vec<ChangeTag>),
}

impl Touched {
    /// The `NOTIFY` payload announcing this change to other replicas. PostgreSQL caps
    /// payloads below 8000 bytes; a change touching more tags than fit announces
    /// everything instead.
    /// Public only for the fuzz targets in `fuzz/`.
    #[doc(hidden)]
    pub fn payload(&self) -> String {
        match self {
            Self::Everything => "*".to_owned(),
            Self::Only(tags) => {
                let payload = tags.iter().map(encode).collect::<Vec<_>>().join(" ");
                if payload.len() > MAX_PAYLOAD {
                    "*".to_owned()
                } else {
                    payload
                }
            }
        }
    }

    /// Joins payloads written by [`payload`](Self::payload) into as few as fit under
    /// PostgreSQL's limit, each tag once; a `*` among them makes the one payload `*`.
    /// Public only for the fuzz targets in `fuzz/`.
    #[doc(hidden)]
    pub fn join_payloads(payloads: &[String]) -> Vec<String> {
        if payloads.iter().any(|p| p == "*") {
            return vec!["*".to_owned()];
        }
        let mut seen = std::collections::HashSet::new();
        let mut joined = vec![String::new()];
        for word in payloads.iter().flat_map(|p| p.split_whitespace()) {
            if !seen.insert(word) {
                continue;
            }
            let current = joined
                .last_mut()
                .filter(|c| c.len() + word.len() < MAX_PAYLOAD);
            match current {
                Some(c) => {
                    if !c.is_empty() {
                        c.push(' ');
                    }
                    c.push_str(word);
                }
                None => joined.push(word.to_owned()),
            }
        }
        joined.retain(|p| !p.is_empty());
        joined
    }

    /// Reads a payload written by [`payload`](Self::payload); anything unreadable
    /// (another version, a truncated message) is taken to mean everything.
    /// Public only for the fuzz targets in `fuzz/`.
    #[doc(hidden)]
    pub fn from_payload(payload: &str) -> Self {
        if payload == "*" {
            return Self::Everything;
        }
        payload
            .split_whitespace()
            .map(decode)
            .collect::<Option<Vec<_>>>()
            .map_or(Self::Everything, Self::Only)
    }
}

fn encode(tag: &ChangeTag) -> String {
    match tag {
        ChangeTag::User(id) => format!("u:{id}"),
        ChangeTag::Organization(id) => format!("o:{id}"),
        ChangeTag::OrganizationRoles(id) => format!("r:{id}"),
        ChangeTag::OAuth2App(id) => format!("a:{id}"),
    }
}

fn decode(word: &str) -> Option<ChangeTag> {
    let (kind, id) = word.split_once(':')?;
    let id = uuid::Uuid::parse_str(id).ok()?;
    match kind {
        "u" => Some(ChangeTag::User(id.into())),
        "o" => Some(ChangeTag::Organization(id.into())),
        "r" => Some(ChangeTag::OrganizationRoles(id.into())),
        "a" => Some(ChangeTag::OAuth2App(id.into())),
        _ => None,
    }
}

/// The generation counter and, per slot, the last generation that touched it.
#[derive(Debug)]
pub struct ChangeLog {
    generation: AtomicU64,
    everything: AtomicU64,
    slots: Box<[AtomicU64]>,
}

impl Default for ChangeLog {
    fn default() -> Self {
        Self {
            generation: AtomicU64::new(0),
            everything: AtomicU64::new(0),
            slots: (0..SLOTS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl ChangeLog {
    /// The current generation. Read it before loading what will be cached.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Records a committed write. Call it after the commit: a read that began before
    /// this call then counts as older than the write.
    pub fn record(&self, touched: &Touched) {
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        match touched {
            Touched::Everything => {
                self.everything.fetch_max(generation, Ordering::AcqRel);
            }
            Touched::Only(tags) => {
                for tag in tags {
                    self.slots[slot(tag)].fetch_max(generation, Ordering::AcqRel);
                }
            }
        }
    }

    /// Whether nothing in `tags` (nor everything) was touched after `generation`.
    pub fn unchanged_since(&self, generation: u64, tags: &[ChangeTag]) -> bool {
        self.everything.load(Ordering::Acquire) <= generation
            && tags
                .iter()
                .all(|tag| self.slots[slot(tag)].load(Ordering::Acquire) <= generation)
    }
}

fn slot(tag: &ChangeTag) -> usize {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    tag.hash(&mut hasher);
    // Truncation is the point: the low bits pick the slot.
    (hasher.finish() as usize) & (SLOTS - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_domain::ids::{OrganizationId, UserId};

    fn user(n: u128) -> ChangeTag {
        ChangeTag::User(UserId::from(uuid::Uuid::from_u128(n)))
    }

    #[test]
    fn a_write_retires_only_what_it_touched() {
        let log = ChangeLog::default();
        let before = log.generation();
        log.record(&Touched::Only(vec![user(1)]));
        assert!(!log.unchanged_since(before, &[user(1)]));
        assert!(!log.unchanged_since(before, &[user(2), user(1)]));
        assert!(log.unchanged_since(before, &[user(2)]));
        let after = log.generation();
        assert!(
            log.unchanged_since(after, &[user(1)]),
            "loaded after the write"
        );
    }

    #[test]
    fn everything_retires_every_tag() {
        let log = ChangeLog::default();
        let before = log.generation();
        log.record(&Touched::Everything);
        assert!(!log.unchanged_since(before, &[user(7)]));
        assert!(!log.unchanged_since(before, &[]));
        assert!(log.unchanged_since(log.generation(), &[user(7)]));
    }

    #[test]
    fn announcements_are_joined_into_as_few_payloads_as_fit() {
        let one = |tags: &[ChangeTag]| Touched::Only(tags.to_vec()).payload();
        let joined = Touched::join_payloads(&[one(&[user(1)]), one(&[user(2), user(1)]), one(&[])]);
        assert_eq!(joined.len(), 1);
        assert_eq!(
            Touched::from_payload(&joined[0]),
            Touched::Only(vec![user(1), user(2)]),
            "each tag once"
        );
        let everything = Touched::join_payloads(&[one(&[user(1)]), Touched::Everything.payload()]);
        assert_eq!(everything, vec!["*".to_owned()]);
        assert!(
            Touched::join_payloads(&[one(&[])]).is_empty(),
            "nothing to announce"
        );

        // Past the limit, several payloads, every tag in one of them, each under it.
        let many: Vec<String> = (0..500).map(|n| one(&[user(n)])).collect();
        let joined = Touched::join_payloads(&many);
        assert!(joined.len() > 1);
        assert!(joined.iter().all(|p| p.len() <= MAX_PAYLOAD));
        let words: usize = joined.iter().map(|p| p.split_whitespace().count()).sum();
        assert_eq!(words, 500);
    }

    #[test]
    fn payloads_round_trip_and_unknown_ones_mean_everything() {
        let org = OrganizationId::from(uuid::Uuid::from_u128(9));
        let touched = Touched::Only(vec![
            user(1),
            ChangeTag::Organization(org),
            ChangeTag::OrganizationRoles(org),
            ChangeTag::OAuth2App(uuid::Uuid::from_u128(10).into()),
        ]);
        assert_eq!(Touched::from_payload(&touched.payload()), touched);
        assert_eq!(
            Touched::from_payload(&Touched::Everything.payload()),
            Touched::Everything
        );
        assert_eq!(Touched::from_payload(""), Touched::Only(vec![]));
        let many = Touched::Only((0..1_000).map(user).collect());
        assert_eq!(many.payload(), "*", "too long for one NOTIFY");
        assert_eq!(Touched::from_payload("x:1"), Touched::Everything);
        assert_eq!(Touched::from_payload("u:not-a-uuid"), Touched::Everything);
    }
}
