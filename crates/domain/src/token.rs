//! API key tokens: `<10-char id>-<22-char secret>`, both alphanumeric. The id is the
//! lookup key; only `sha256(secret)` is stored, and it is compared in constant time.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::ids::ApiKeyId;
use crate::ports::SecretGenerator;

/// Length of the id half.
pub const API_KEY_ID_LEN: usize = 10;
/// Length of the secret half.
pub const API_KEY_SECRET_LEN: usize = 22;

/// A freshly generated key: the token to show once, and what to store.
#[derive(Clone)]
pub struct GeneratedApiKey {
    pub id: ApiKeyId,
    /// The full `<id>-<secret>` token; shown to the caller exactly once.
    pub token: String,
    pub hashed_secret: Vec<u8>,
}

impl std::fmt::Debug for GeneratedApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedApiKey")
            .field("id", &self.id)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl GeneratedApiKey {
    /// Draws a new id and secret from the generator.
    pub fn generate(secrets: &dyn SecretGenerator) -> Self {
        let id = secrets.alphanumeric(API_KEY_ID_LEN);
        let secret = secrets.alphanumeric(API_KEY_SECRET_LEN);
        Self {
            token: format!("{id}-{secret}"),
            hashed_secret: hash_secret(&secret),
            id: ApiKeyId(id),
        }
    }
}

/// SHA-256 of a secret, as stored.
pub fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Splits a presented token into id and secret. The error says what is wrong with the
/// format in Coder's words; a token that splits may still name no key.
pub fn split_token(token: &str) -> Result<(ApiKeyId, &str), String> {
    let parts = token.split('-').count();
    let Some((id, secret)) = token.split_once('-').filter(|_| parts == 2) else {
        return Err(format!(
            "Invalid API key format: incorrect amount of API key parts, expected 2 got {parts}"
        ));
    };
    if id.len() != API_KEY_ID_LEN {
        return Err(format!(
            "Invalid API key format: invalid API key ID length, expected {API_KEY_ID_LEN} got {}",
            id.len()
        ));
    }
    if secret.len() != API_KEY_SECRET_LEN {
        return Err(format!(
            "Invalid API key format: invalid API key secret length, expected {API_KEY_SECRET_LEN} got {}",
            secret.len()
        ));
    }
    Ok((ApiKeyId(id.to_owned()), secret))
}

/// Constant-time comparison of a presented secret with a stored hash.
pub fn secret_matches(secret: &str, stored_hash: &[u8]) -> bool {
    let presented = Sha256::digest(secret.as_bytes());
    presented.as_slice().ct_eq(stored_hash).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counter(std::sync::atomic::AtomicU8);
    impl SecretGenerator for Counter {
        fn alphanumeric(&self, len: usize) -> String {
            let n = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let c = char::from(b'a' + n % 26);
            std::iter::repeat_n(c, len).collect()
        }
    }

    #[test]
    fn generated_tokens_round_trip() {
        let key = GeneratedApiKey::generate(&Counter(0.into()));
        assert_eq!(key.token, format!("{}-{}", "a".repeat(10), "b".repeat(22)));
        let (id, secret) = split_token(&key.token).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(id, key.id);
        assert!(secret_matches(secret, &key.hashed_secret));
        assert!(!secret_matches(&"c".repeat(22), &key.hashed_secret));
        assert!(!format!("{key:?}").contains(&key.token));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for bad in [
            "",
            "abc",
            "aaaaaaaaaa-bbbb",
            "aaaaaaaaa-bbbbbbbbbbbbbbbbbbbbbb",
            "aaaaaaaaaa-bbbbbbbbbbbbbbbbbbbbbbb",
            "aaaaaaaaaa-bbbbbbbbbbb-bbbbbbbbbb",
        ] {
            assert!(split_token(bad).is_err(), "{bad:?} should not split");
        }
        assert_eq!(
            split_token("aaaaaaaaa-bbbbbbbbbbbbbbbbbbbbbb")
                .err()
                .as_deref(),
            Some("Invalid API key format: invalid API key ID length, expected 10 got 9")
        );
    }
}
