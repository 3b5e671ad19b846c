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
    stored_range_root(store, 0, size)
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

/// The audit path of leaf `index` in the tree of `leaves`: PATH(m, D[n])
/// of RFC 6962 §2.1.1.
pub fn inclusion_proof(leaves: &[Hash], index: usize) -> Vec<Hash> {
    assert!(index < leaves.len(), "leaf index out of range");
    let n = leaves.len();
    if n == 1 {
        return Vec::new();
    }
    let k = largest_power_of_two_below(n as u64) as usize;
    if index < k {
        let mut p = inclusion_proof(&leaves[..k], index);
        p.push(root_of_leaves(&leaves[k..]));
        p
    } else {
        let mut p = inclusion_proof(&leaves[k..], index - k);
        p.push(root_of_leaves(&leaves[..k]));
        p
    }
}

/// Checks an audit path (RFC 9162 §2.1.3.2, the verification of the RFC
/// 6962 §2.1.1 path).
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && r == *root
}

/// The consistency proof between the first `m` leaves and all of them:
/// PROOF(m, D[n]) of RFC 6962 §2.1.2.
pub fn consistency_proof(leaves: &[Hash], m: usize) -> Vec<Hash> {
    assert!(m <= leaves.len(), "old size larger than the tree");
    if m == 0 || m == leaves.len() {
        return Vec::new();
    }
    subproof(m, leaves, true)
}

/// SUBPROOF(m, D[n], b) of RFC 6962 §2.1.2.
fn subproof(m: usize, leaves: &[Hash], complete: bool) -> Vec<Hash> {
    let n = leaves.len();
    if m == n {
        return if complete {
            Vec::new()
        } else {
            vec![root_of_leaves(leaves)]
        };
    }
    let k = largest_power_of_two_below(n as u64) as usize;
    if m <= k {
        let mut p = subproof(m, &leaves[..k], complete);
        p.push(root_of_leaves(&leaves[k..]));
        p
    } else {
        let mut p = subproof(m - k, &leaves[k..], false);
        p.push(root_of_leaves(&leaves[..k]));
        p
    }
}

/// Checks that a tree of `new_size` leaves with root `new_root` extends
/// the tree of `old_size` leaves with root `old_root` (RFC 9162 §2.1.4.2,
/// the verification of the RFC 6962 §2.1.2 proof).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> bool {
    if old_size > new_size {
        return false;
    }
    if old_size == new_size {
        return proof.is_empty() && old_root == new_root;
    }
    if old_size == 0 {
        // Every tree extends the empty tree.
        return proof.is_empty();
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    let (mut fnode, mut snode) = (old_size - 1, new_size - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && fr == *old_root && sr == *new_root
}

/// The root of leaves `start .. start + len` from stored subtrees, where
/// `start` is a multiple of a power of two that is at least `len` (every
/// subtree the §2.1 split makes is one, and so is the whole tree). O(log n).
///
/// The complete subtrees of the range, left to right, are one per set bit
/// of `len`, largest first; the root folds them from the right, which is
/// the §2.1 split applied recursively.
fn stored_range_root(store: &impl NodeStore, start: u64, len: u64) -> Result<Hash> {
    if len == 0 {
        return Ok(empty_root());
    }
    let mut subtrees = Vec::with_capacity(64);
    let mut offset = start;
    for level in (0..64u8).rev() {
        if len & (1u64 << level) != 0 {
            let index = offset >> level;
            subtrees.push(
                store
                    .get_node(level, index)?
                    .ok_or_else(|| missing(level, index))?,
            );
            offset += 1u64 << level;
        }
    }
    let mut acc = subtrees.pop().expect("len > 0 has a set bit");
    while let Some(left) = subtrees.pop() {
        acc = node_hash(&left, &acc);
    }
    Ok(acc)
}

/// PROOF(m, D[n]) of RFC 6962 §2.1.2 from stored subtrees, without reading
/// a leaf: the same hashes as [`consistency_proof`] over the first `n`
/// leaves. Every hash but at most one is a stored complete subtree, so it
/// costs O(log n) reads (the alert events carry one, docs/ALERTS.md).
pub fn stored_consistency_proof(store: &impl NodeStore, m: u64, n: u64) -> Result<Vec<Hash>> {
    if m > n {
        return Err(crate::Error::Ledger(format!(
            "no consistency proof from {m} entries to {n}"
        )));
    }
    let mut proof = Vec::new();
    if m == 0 || m == n {
        return Ok(proof);
    }
    // SUBPROOF(m, D[start .. start + len], complete), unrolled: the pushes
    // come out in the order the recursion appends them, innermost first,
    // so collect them and reverse.
    let (mut m, mut start, mut len, mut complete) = (m, 0u64, n, true);
    loop {
        if m == len {
            if !complete {
                proof.push(stored_range_root(store, start, len)?);
            }
            break;
        }
        let k = largest_power_of_two_below(len);
        if m <= k {
            proof.push(stored_range_root(store, start + k, len - k)?);
            len = k;
        } else {
            proof.push(stored_range_root(store, start, k)?);
            m -= k;
            start += k;
            len -= k;
            complete = false;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// The root of a growing tree kept as its complete subtrees (at most one
/// per level): O(log n) memory, O(1) amortised per append. Used to check
/// every stored checkpoint in one pass.
#[derive(Default, Clone)]
pub struct Frontier {
    size: u64,
    // (level, hash), levels strictly decreasing left to right.
    subtrees: Vec<(u8, Hash)>,
}

impl Frontier {
    /// Appends one leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        let mut node = (0u8, leaf);
        while let Some(&(level, left)) = self.subtrees.last() {
            if level != node.0 {
                break;
            }
            self.subtrees.pop();
            node = (level + 1, node_hash(&left, &node.1));
        }
        self.subtrees.push(node);
        self.size += 1;
    }

    /// Leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The current root (§2.1).
    pub fn root(&self) -> Hash {
        let mut it = self.subtrees.iter().rev();
        let Some(&(_, mut acc)) = it.next() else {
            return empty_root();
        };
        for (_, left) in it {
            acc = node_hash(left, &acc);
        }
        acc
    }
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
        let text = include_str!("../../tests/data/rfc6962.json");
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn stored_consistency_proofs_equal_the_recursive_ones() {
        let leaves: Vec<Hash> = (0u8..40).map(|i| leaf_hash(&[i])).collect();
        let nodes = MemoryNodes::default();
        for (i, l) in leaves.iter().enumerate() {
            append(&nodes, i as u64, l).unwrap();
        }
        for n in 1..=leaves.len() {
            for m in 0..=n {
                let want = consistency_proof(&leaves[..n], m);
                let got = stored_consistency_proof(&nodes, m as u64, n as u64).unwrap();
                assert_eq!(got, want, "m={m} n={n}");
                if m > 0 {
                    let old = root_of_leaves(&leaves[..m]);
                    let new = root_of_leaves(&leaves[..n]);
                    assert!(verify_consistency(m as u64, n as u64, &old, &new, &got));
                }
            }
        }
        assert!(stored_consistency_proof(&nodes, 5, 4).is_err());
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

    #[derive(serde::Deserialize)]
    struct AllVectors {
        leaves_hex: Vec<String>,
        inclusion: Vec<InclusionCase>,
        consistency: Vec<ConsistencyCase>,
        roots: Vec<RootCase>,
    }

    #[derive(serde::Deserialize)]
    struct InclusionCase {
        index: usize,
        size: usize,
        path_hex: Vec<String>,
    }

    #[derive(serde::Deserialize)]
    struct ConsistencyCase {
        old_size: usize,
        new_size: usize,
        proof_hex: Vec<String>,
    }

    fn decode(v: &[String]) -> Vec<Hash> {
        v.iter()
            .map(|h| hex::decode(h).unwrap().try_into().unwrap())
            .collect()
    }

    fn all_vectors() -> (AllVectors, Vec<Hash>) {
        let v: AllVectors =
            serde_json::from_str(include_str!("../../tests/data/rfc6962.json")).unwrap();
        let leaves = v
            .leaves_hex
            .iter()
            .map(|h| leaf_hash(&hex::decode(h).unwrap()))
            .collect();
        (v, leaves)
    }

    #[test]
    fn known_answer_inclusion_proofs() {
        let (v, leaves) = all_vectors();
        assert!(!v.inclusion.is_empty());
        for c in &v.inclusion {
            let want = decode(&c.path_hex);
            let tree = &leaves[..c.size];
            assert_eq!(
                inclusion_proof(tree, c.index),
                want,
                "index {} size {}",
                c.index,
                c.size
            );
            let root = root_of_leaves(tree);
            assert!(verify_inclusion(
                c.index as u64,
                c.size as u64,
                &leaves[c.index],
                &want,
                &root
            ));
        }
    }

    #[test]
    fn known_answer_consistency_proofs() {
        let (v, leaves) = all_vectors();
        assert!(!v.consistency.is_empty());
        for c in &v.consistency {
            let want = decode(&c.proof_hex);
            assert_eq!(
                consistency_proof(&leaves[..c.new_size], c.old_size),
                want,
                "{} -> {}",
                c.old_size,
                c.new_size
            );
            let old = root_of_leaves(&leaves[..c.old_size]);
            let new = root_of_leaves(&leaves[..c.new_size]);
            assert!(verify_consistency(
                c.old_size as u64,
                c.new_size as u64,
                &old,
                &new,
                &want
            ));
        }
        // The roots in the same file agree with the proofs' trees.
        assert_eq!(v.roots.len(), 9);
    }

    #[test]
    fn tampered_proofs_are_refused() {
        let (_, leaves) = all_vectors();
        let root = root_of_leaves(&leaves);
        let mut p = inclusion_proof(&leaves, 5);
        assert!(
            !verify_inclusion(4, 8, &leaves[5], &p, &root),
            "wrong index accepted"
        );
        assert!(
            !verify_inclusion(5, 6, &leaves[5], &p, &root),
            "wrong size accepted"
        );
        assert!(
            !verify_inclusion(5, 5, &leaves[5], &p, &root),
            "index past the end accepted"
        );
        assert!(
            !verify_inclusion(5, 8, &leaves[4], &p, &root),
            "wrong leaf accepted"
        );
        p[1][0] ^= 1;
        assert!(
            !verify_inclusion(5, 8, &leaves[5], &p, &root),
            "changed path accepted"
        );
        let old = root_of_leaves(&leaves[..6]);
        let mut c = consistency_proof(&leaves, 6);
        assert!(!verify_consistency(5, 8, &old, &root, &c));
        assert!(
            !verify_consistency(6, 8, &root, &root, &c),
            "a forked old root accepted"
        );
        c.pop();
        assert!(
            !verify_consistency(6, 8, &old, &root, &c),
            "a short proof accepted"
        );
        assert!(
            !verify_consistency(8, 6, &root, &old, &[]),
            "a shrinking tree accepted"
        );
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
            let mut f = Frontier::default();
            for l in &leaves {
                f.push(*l);
            }
            proptest::prop_assert_eq!(f.root(), root_of_leaves(&leaves));
        }

        #[test]
        fn every_inclusion_proof_verifies_and_no_other_leaf_does(n in 1usize..70, seed in 0usize..1000) {
            let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&(i as u64).to_be_bytes())).collect();
            let root = root_of_leaves(&leaves);
            let i = seed % n;
            let p = inclusion_proof(&leaves, i);
            proptest::prop_assert!(verify_inclusion(i as u64, n as u64, &leaves[i], &p, &root));
            let other = leaf_hash(b"not in the tree");
            proptest::prop_assert!(!verify_inclusion(i as u64, n as u64, &other, &p, &root));
        }

        #[test]
        fn every_consistency_proof_verifies_against_naive_roots(n in 1usize..70, seed in 0usize..1000) {
            let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&(i as u64).to_be_bytes())).collect();
            let m = seed % (n + 1);
            let p = consistency_proof(&leaves, m);
            let old = root_of_leaves(&leaves[..m]);
            let new = root_of_leaves(&leaves);
            proptest::prop_assert!(verify_consistency(m as u64, n as u64, &old, &new, &p));
            if m > 0 && m < n {
                // A fork: the same old size with a different old tree.
                let mut forked = leaves[..m].to_vec();
                forked[0] = leaf_hash(b"fork");
                proptest::prop_assert!(!verify_consistency(m as u64, n as u64, &root_of_leaves(&forked), &new, &p));
            }
        }
    }
}
