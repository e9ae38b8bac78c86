//! Constant-time lookup of an organization among the subject's memberships,
//! so that a check costs the same for a member of 1 or 1 000 organizations.

use uuid::Uuid;

/// An open-addressing hash table from organization id to its position in
/// the sorted membership list (linear probing, load factor ≤ ½).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct OrgIndex {
    /// `(id, position)`; `position == EMPTY` marks a free slot. The length
    /// is a power of two (or zero without memberships).
    slots: Vec<(u128, u32)>,
    /// `64 - log2(slots.len())`, for the multiplicative hash.
    shift: u32,
}

const EMPTY: u32 = u32::MAX;

impl OrgIndex {
    /// Indexes `memberships` (sorted, deduplicated).
    pub(crate) fn new(memberships: &[Uuid]) -> OrgIndex {
        if memberships.is_empty() {
            return OrgIndex {
                slots: Vec::new(),
                shift: 64,
            };
        }
        let capacity = (memberships.len() * 2).next_power_of_two().max(2);
        let mut index = OrgIndex {
            slots: vec![(0, EMPTY); capacity],
            shift: 64 - capacity.trailing_zeros(),
        };
        let mask = capacity - 1;
        for (position, org) in memberships.iter().enumerate() {
            let key = org.as_u128();
            let mut slot = index.home(key);
            while index.slots[slot].1 != EMPTY {
                slot = (slot + 1) & mask;
            }
            // Positions fit: a subject has far fewer than 2^32 memberships.
            index.slots[slot] = (key, u32::try_from(position).unwrap_or(EMPTY - 1));
        }
        index
    }

    /// Fibonacci hashing of both halves of the id.
    #[inline]
    fn home(&self, key: u128) -> usize {
        let folded = (key as u64) ^ ((key >> 64) as u64);
        (folded.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    /// The position of `org` in the sorted memberships, if it is one.
    #[inline]
    pub(crate) fn position(&self, org: Uuid) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let key = org.as_u128();
        let mask = self.slots.len() - 1;
        let mut slot = self.home(key);
        loop {
            let (k, position) = self.slots[slot];
            if position == EMPTY {
                return None;
            }
            if k == key {
                return Some(position as usize);
            }
            slot = (slot + 1) & mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_member_and_nothing_else() {
        for n in [0usize, 1, 2, 3, 7, 64, 100, 1000] {
            let mut orgs: Vec<Uuid> = (0..n as u128)
                .map(|i| Uuid::from_u128(i.wrapping_mul(0x1_0000_0001) << 3))
                .collect();
            orgs.sort_unstable();
            orgs.dedup();
            let index = OrgIndex::new(&orgs);
            for (i, org) in orgs.iter().enumerate() {
                assert_eq!(index.position(*org), Some(i));
            }
            for i in 0..200u128 {
                let stranger = Uuid::from_u128((i << 80) | 0x5);
                assert_eq!(index.position(stranger), orgs.binary_search(&stranger).ok());
            }
        }
    }
}
