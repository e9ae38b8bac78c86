//! OAuth2 secrets (client secrets, codes, refresh tokens): `coder_<prefix>_<secret>`,
//! as Coder formats them. The prefix is the lookup key; only `sha256(secret)` is kept.

use warden_domain::ports::SecretGenerator;
use warden_domain::token::hash_secret;

/// Length of the lookup prefix.
pub const PREFIX_LEN: usize = 10;
/// Length of the secret part.
pub const SECRET_LEN: usize = 40;

/// A freshly generated secret: the plaintext to show once, and what to store.
#[derive(Clone)]
pub struct GeneratedSecret {
    pub prefix: String,
    pub full: String,
    pub hashed: Vec<u8>,
}

impl std::fmt::Debug for GeneratedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedSecret")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl GeneratedSecret {
    /// Draws a new prefix and secret.
    pub fn generate(secrets: &dyn SecretGenerator) -> Self {
        let prefix = secrets.alphanumeric(PREFIX_LEN);
        let secret = secrets.alphanumeric(SECRET_LEN);
        Self {
            full: format!("coder_{prefix}_{secret}"),
            hashed: hash_secret(&secret),
            prefix,
        }
    }

    /// The last six characters, for listings.
    pub fn display(&self) -> String {
        let start = self.full.len().saturating_sub(6);
        self.full.get(start..).unwrap_or_default().to_owned()
    }
}

/// Splits a presented secret into prefix and secret; `None` if it is not one.
pub fn parse(raw: &str) -> Option<(&str, &str)> {
    let rest = raw.strip_prefix("coder_")?;
    let (prefix, secret) = rest.split_once('_')?;
    let alnum = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric());
    (prefix.len() == PREFIX_LEN && secret.len() == SECRET_LEN && alnum(prefix) && alnum(secret))
        .then_some((prefix, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;
    impl SecretGenerator for Fixed {
        fn alphanumeric(&self, len: usize) -> String {
            "x".repeat(len)
        }
    }

    #[test]
    fn secrets_round_trip_and_hide_in_debug() {
        let s = GeneratedSecret::generate(&Fixed);
        let (prefix, secret) = parse(&s.full).unwrap_or_default();
        assert_eq!(prefix, s.prefix);
        assert!(warden_domain::token::secret_matches(secret, &s.hashed));
        assert_eq!(s.display(), "xxxxxx");
        assert!(!format!("{s:?}").contains(&s.full));
    }

    #[test]
    fn malformed_secrets_are_not_parsed() {
        let ok = format!("coder_{}_{}", "a".repeat(10), "b".repeat(40));
        assert!(parse(&ok).is_some());
        for bad in [
            String::new(),
            "coder_".into(),
            format!("coder_{}_{}", "a".repeat(9), "b".repeat(40)),
            format!("coder_{}_{}", "a".repeat(10), "b".repeat(41)),
            format!("coder_{}_{}-", "a".repeat(10), "b".repeat(39)),
            format!("xoder_{}_{}", "a".repeat(10), "b".repeat(40)),
        ] {
            assert!(parse(&bad).is_none(), "{bad:?}");
        }
    }
}
