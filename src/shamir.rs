//! Splitting and combining the vault key with Shamir's scheme (blahaj).
//!
//! blahaj does not reject a share with x = 0 (which would be the secret
//! itself), nor shares of different lengths in every path, nor duplicate x
//! values before interpolating: we validate all three here (invariant I1).

use std::collections::HashSet;

use blahaj::{Share, Sharks};

use crate::error::{Error, Result};
use crate::secret::{SecretBytes, VaultKey};

/// Length of a share of the 32-byte vault key: x plus 32 y bytes.
pub const SHARE_LEN: usize = 33;

/// Splits `key` into `n` shares, any `m` of which recover it.
pub fn split(key: &VaultKey, m: u8, n: u8) -> Vec<SecretBytes> {
    Sharks(m)
        .dealer(key.expose_secret())
        .take(n as usize)
        .map(|s| SecretBytes::new(Vec::from(&s)))
        .collect()
}

/// A share held for combining, with the officer it came from (for messages).
pub struct NamedShare<'a> {
    /// The officer.
    pub officer: &'a str,
    /// The share bytes.
    pub share: &'a SecretBytes,
}

/// Combines at least `m` validated shares into the vault key.
pub fn combine(m: u8, shares: &[NamedShare<'_>]) -> Result<VaultKey> {
    let mut xs = HashSet::new();
    for s in shares {
        let bytes = s.share.expose_secret();
        if bytes.len() != SHARE_LEN || bytes[0] == 0 || !xs.insert(bytes[0]) {
            return Err(Error::InvalidShare(s.officer.to_string()));
        }
    }
    if shares.len() < m as usize {
        return Err(Error::TooFewOfficers {
            got: shares.len(),
            need: m as usize,
        });
    }
    let parsed: Vec<Share> = shares
        .iter()
        .map(|s| Share::try_from(s.share.expose_secret()))
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| Error::KeyCheckFailed)?;
    let secret = zeroize::Zeroizing::new(
        Sharks(m)
            .recover(parsed.iter())
            .map_err(|_| Error::KeyCheckFailed)?,
    );
    let key: [u8; 32] = secret
        .as_slice()
        .try_into()
        .map_err(|_| Error::KeyCheckFailed)?;
    Ok(VaultKey::new(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(shares: &[SecretBytes]) -> Vec<NamedShare<'_>> {
        shares
            .iter()
            .map(|s| NamedShare {
                officer: "o",
                share: s,
            })
            .collect()
    }

    #[test]
    fn any_m_of_n_recover_the_key() {
        let key = VaultKey::new([42; 32]);
        let shares = split(&key, 2, 3);
        assert_eq!(shares.len(), 3);
        for (a, b) in [(0, 1), (0, 2), (1, 2)] {
            let pick = vec![
                SecretBytes::new(shares[a].expose_secret().to_vec()),
                SecretBytes::new(shares[b].expose_secret().to_vec()),
            ];
            let k = combine(2, &named(&pick)).unwrap();
            assert_eq!(k.expose_secret(), key.expose_secret());
        }
    }

    #[test]
    fn fewer_than_m_is_refused() {
        let shares = split(&VaultKey::new([1; 32]), 3, 5);
        let err = combine(3, &named(&shares[..2])).err().unwrap();
        assert!(matches!(err, Error::TooFewOfficers { got: 2, need: 3 }));
    }

    #[test]
    fn x_zero_wrong_length_and_duplicates_are_refused() {
        let shares = split(&VaultKey::new([1; 32]), 2, 3);
        let mut zero = shares[0].expose_secret().to_vec();
        zero[0] = 0;
        let bad = [
            SecretBytes::new(zero),
            SecretBytes::new(shares[1].expose_secret().to_vec()),
        ];
        assert!(matches!(
            combine(2, &named(&bad)),
            Err(Error::InvalidShare(_))
        ));

        let short = [
            SecretBytes::new(shares[0].expose_secret()[..20].to_vec()),
            SecretBytes::new(shares[1].expose_secret().to_vec()),
        ];
        assert!(matches!(
            combine(2, &named(&short)),
            Err(Error::InvalidShare(_))
        ));

        let dup = [
            SecretBytes::new(shares[0].expose_secret().to_vec()),
            SecretBytes::new(shares[0].expose_secret().to_vec()),
        ];
        assert!(matches!(
            combine(2, &named(&dup)),
            Err(Error::InvalidShare(_))
        ));
    }
}
