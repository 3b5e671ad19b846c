//! The RFC 6962 Merkle tree (§2.1).
//!
//! Leaf hash `SHA-256(0x00 ‖ entry)`, interior node `SHA-256(0x01 ‖ left ‖
//! right)`, empty tree `SHA-256("")`. The tree of n leaves splits at k, the
//! largest power of two smaller than n (§2.1).
//!
//! Appends cost O(log n): every complete subtree's hash is stored under
//! `(level, index)` (the node covering leaves `index·2^level ..
//! (index+1)·2^level`), so an append adds at most log n nodes and a root of
//! any size is a fold over at most log n stored nodes.

use sha2::{Digest, Sha256};

use crate::error::Result;

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// `SHA-256("")`, the root of the empty tree (§2.1).
pub fn empty_root() -> Hash {
    Sha256::digest(b"").into()
}

/// `MTH({d}) = SHA-256(0x00 ‖ d)` (§2.1).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// `SHA-256(0x01 ‖ left ‖ right)` (§2.1).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Where complete-subtree hashes live: sled inside a transaction, or memory.
pub trait NodeStore {
    /// The hash of the complete subtree at `(level, index)`.
    fn get_node(&self, level: u8, index: u64) -> Result<Option<Hash>>;
    /// Stores the hash of the complete subtree at `(level, index)`.
    fn put_node(&self, level: u8, index: u64, hash: &Hash) -> Result<()>;
}

fn missing(level: u8, index: u64) -> crate::Error {
    crate::Error::Ledger(format!("Merkle node ({level}, {index}) is missing"))
}

/// Appends leaf number `size` (0-based) with hash `leaf`, storing every
/// subtree it completes. O(log n).
pub fn append(store: &impl NodeStore, size: u64, leaf: &Hash) -> Result<()> {
    store.put_node(0, size, leaf)?;
    let (mut level, mut index, mut hash) = (0u8, size, *leaf);
    while index % 2 == 1 {
        let left = store
            .get_node(level, index - 1)?
            .ok_or_else(|| missing(level, index - 1))?;
        hash = node_hash(&left, &hash);
        level += 1;
        index /= 2;
        store.put_node(level, index, &hash)?;
    }
    Ok(())
}

/// The root of the first `size` leaves, from stored subtrees. O(log n).
pub fn root(store: &impl NodeStore, size: u64) -> Result<Hash> {
    if size == 0 {
        return Ok(empty_root());
    }
    // The complete subtrees of a tree of `size` leaves, left to right, are
    // one per set bit of `size`, largest first; the root folds them from
    // the right, which is the §2.1 split applied recursively.
    let mut subtrees = Vec::with_capacity(64);
    let mut offset = 0u64;
    for level in (0..64u8).rev() {
        if size & (1u64 << level) != 0 {
            let index = offset >> level;
            subtrees.push(
                store
                    .get_node(level, index)?
                    .ok_or_else(|| missing(level, index))?,
            );
            offset += 1u64 << level;
        }
    }
    let mut acc = subtrees.pop().expect("size > 0 has a set bit");
    while let Some(left) = subtrees.pop() {
        acc = node_hash(&left, &acc);
    }
    Ok(acc)
}

/// The root of `leaves` by the §2.1 definition, recursively. O(n); the
/// reference the stored-subtree code is tested against.
pub fn root_of_leaves(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = largest_power_of_two_below(n as u64) as usize;
            node_hash(&root_of_leaves(&leaves[..k]), &root_of_leaves(&leaves[k..]))
        }
    }
}

/// The largest power of two strictly smaller than `n` (n ≥ 2).
pub fn largest_power_of_two_below(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Complete-subtree hashes held in memory, for verification and tests.
#[derive(Default)]
pub struct MemoryNodes(std::cell::RefCell<std::collections::HashMap<(u8, u64), Hash>>);

impl NodeStore for MemoryNodes {
    fn get_node(&self, level: u8, index: u64) -> Result<Option<Hash>> {
        Ok(self.0.borrow().get(&(level, index)).copied())
    }

    fn put_node(&self, level: u8, index: u64, hash: &Hash) -> Result<()> {
        self.0.borrow_mut().insert((level, index), *hash);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Vectors {
        leaves_hex: Vec<String>,
        roots: Vec<RootCase>,
    }

    #[derive(serde::Deserialize)]
    struct RootCase {
        size: usize,
        root_hex: String,
    }

    fn vectors() -> Vectors {
        let text = include_str!("../tests/data/rfc6962.json");
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn known_answer_roots_recursive_and_stored() {
        let v = vectors();
        let leaves: Vec<Hash> = v
            .leaves_hex
            .iter()
            .map(|h| leaf_hash(&hex::decode(h).unwrap()))
            .collect();
        let nodes = MemoryNodes::default();
        for (i, l) in leaves.iter().enumerate() {
            append(&nodes, i as u64, l).unwrap();
        }
        for case in &v.roots {
            assert_eq!(
                hex::encode(root_of_leaves(&leaves[..case.size])),
                case.root_hex,
                "recursive size {}",
                case.size
            );
            assert_eq!(
                hex::encode(root(&nodes, case.size as u64).unwrap()),
                case.root_hex,
                "stored size {}",
                case.size
            );
        }
    }

    #[test]
    fn largest_power_of_two() {
        assert_eq!(largest_power_of_two_below(2), 1);
        assert_eq!(largest_power_of_two_below(3), 2);
        assert_eq!(largest_power_of_two_below(8), 4);
        assert_eq!(largest_power_of_two_below(9), 8);
    }

    proptest::proptest! {
        #[test]
        fn stored_root_matches_recursive_root(n in 0usize..300) {
            let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&(i as u64).to_be_bytes())).collect();
            let nodes = MemoryNodes::default();
            for (i, l) in leaves.iter().enumerate() {
                append(&nodes, i as u64, l).unwrap();
            }
            for size in [0, n / 3, n / 2, n] {
                proptest::prop_assert_eq!(root(&nodes, size as u64).unwrap(), root_of_leaves(&leaves[..size]));
            }
        }
    }
}
