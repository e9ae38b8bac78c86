//! The two token formats Warden hands out and reads back: API keys
//! `<10-char id>-<22-char secret>` (crates/domain/src/token.rs) and OAuth2 secrets
//! `coder_<10-char prefix>_<40-char secret>` (crates/oauth2-provider/src/secret.rs).
//!
//! The input is read as a presented token and as the characters a generator draws.
//! Checks: what a generator produces splits
//! back into the same id or prefix and a secret that matches the stored hash, and a
//! different secret does not; on arbitrary text, whatever splits re-joins to exactly
//! the input with the documented lengths (alphanumeric for OAuth2 secrets).
#![no_main]

use std::sync::Mutex;

use libfuzzer_sys::fuzz_target;
use warden_domain::ports::SecretGenerator;
use warden_domain::token::{
    API_KEY_ID_LEN, API_KEY_SECRET_LEN, GeneratedApiKey, secret_matches, split_token,
};
use warden_oauth2_provider::secret::{self, GeneratedSecret, PREFIX_LEN, SECRET_LEN};

/// Alphanumerics taken from the fuzz input, as the real generator draws them.
struct Drawn(Mutex<std::vec::IntoIter<u8>>);

impl SecretGenerator for Drawn {
    fn alphanumeric(&self, len: usize) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut bytes = self.0.lock().unwrap_or_else(|e| e.into_inner());
        (0..len)
            .map(|_| char::from(ALPHABET[usize::from(bytes.next().unwrap_or(0)) % ALPHABET.len()]))
            .collect()
    }
}

fuzz_target!(|bytes: &[u8]| {
    let draws = || Drawn(Mutex::new(bytes.to_vec().into_iter()));

    let key = GeneratedApiKey::generate(&draws());
    match split_token(&key.token) {
        Ok((id, secret)) => {
            assert_eq!(id, key.id);
            assert!(secret_matches(secret, &key.hashed_secret));
            let other = if secret.starts_with('x') { "y" } else { "x" }.repeat(API_KEY_SECRET_LEN);
            assert!(
                !secret_matches(&other, &key.hashed_secret),
                "{other} matches {secret}"
            );
        }
        Err(e) => panic!("{:?} does not split: {e}", key.token),
    }

    let generated = GeneratedSecret::generate(&draws());
    match secret::parse(&generated.full) {
        Some((prefix, secret)) => {
            assert_eq!(prefix, generated.prefix);
            assert!(secret_matches(secret, &generated.hashed));
            assert!(generated.full.ends_with(&generated.display()));
            assert_eq!(generated.display().len(), 6);
        }
        None => panic!("{:?} does not parse", generated.full),
    }

    let Ok(raw) = std::str::from_utf8(bytes) else {
        return;
    };
    if let Ok((id, secret)) = split_token(raw) {
        assert_eq!(format!("{}-{secret}", id.0), raw);
        assert_eq!(id.0.len(), API_KEY_ID_LEN);
        assert_eq!(secret.len(), API_KEY_SECRET_LEN);
        assert!(!id.0.contains('-') && !secret.contains('-'));
    }
    if let Some((prefix, secret)) = secret::parse(raw) {
        assert_eq!(format!("coder_{prefix}_{secret}"), raw);
        assert_eq!((prefix.len(), secret.len()), (PREFIX_LEN, SECRET_LEN));
        assert!(
            prefix
                .bytes()
                .chain(secret.bytes())
                .all(|b| b.is_ascii_alphanumeric())
        );
    }
});
