//! Driven adapters that are not storage: password hashing, OS randomness and SSH
//! key generation.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;
use rand::Rng;
use rand::distr::Alphanumeric;
use warden_domain::ports::{PasswordHasher, SecretGenerator, SshKeyGenerator, SshKeyPair};

/// argon2id with OWASP's minimum parameters (19 MiB, 2 passes), run on the blocking
/// pool so a login never stalls the async workers.
#[derive(Debug, Clone)]
pub struct Argon2Hasher {
    params: Params,
}

impl Default for Argon2Hasher {
    fn default() -> Self {
        Self {
            params: Params::new(19 * 1024, 2, 1, None).unwrap_or_default(),
        }
    }
}

impl Argon2Hasher {
    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &str) -> Result<String, String> {
        let password = password.to_owned();
        let argon2 = self.argon2();
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon2
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())?
    }

    async fn verify(&self, password: &str, phc: &str) -> Result<bool, String> {
        let password = password.to_owned();
        let phc = phc.to_owned();
        let argon2 = self.argon2();
        tokio::task::spawn_blocking(move || {
            let parsed = PasswordHash::new(&phc).map_err(|e| e.to_string())?;
            Ok(argon2.verify_password(password.as_bytes(), &parsed).is_ok())
        })
        .await
        .map_err(|e| e.to_string())?
    }
}

/// Secrets from the operating system's CSPRNG (via `rand`'s thread-local generator,
/// which is seeded from and periodically reseeded by the OS).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsSecrets;

impl SecretGenerator for OsSecrets {
    fn alphanumeric(&self, len: usize) -> String {
        rand::rng()
            .sample_iter(&Alphanumeric)
            .take(len)
            .map(char::from)
            .collect()
    }
}

/// Ed25519 SSH key pairs from the OS's CSPRNG, through the RustCrypto `ssh-key` crate:
/// the private key in OpenSSH format, the public key as an `authorized_keys` line
/// with a trailing newline, as Coder writes it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ed25519Keys;

impl SshKeyGenerator for Ed25519Keys {
    fn generate(&self) -> Result<SshKeyPair, String> {
        let key = ssh_key::PrivateKey::random(
            &mut ssh_key::rand_core::OsRng,
            ssh_key::Algorithm::Ed25519,
        )
        .map_err(|e| e.to_string())?;
        let private_key = key
            .to_openssh(ssh_key::LineEnding::LF)
            .map_err(|e| e.to_string())?
            .to_string();
        let public_key = key.public_key().to_openssh().map_err(|e| e.to_string())?;
        Ok(SshKeyPair {
            private_key,
            public_key: format!("{public_key}\n"),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn argon2_round_trip() {
        let hasher = Argon2Hasher::default();
        let phc = hasher.hash("correct horse").await.unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(hasher.verify("correct horse", &phc).await.unwrap());
        assert!(!hasher.verify("wrong horse", &phc).await.unwrap());
    }

    #[test]
    fn secrets_are_alphanumeric_and_distinct() {
        let a = OsSecrets.alphanumeric(22);
        let b = OsSecrets.alphanumeric(22);
        assert_eq!(a.len(), 22);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }

    #[test]
    fn ssh_keys_are_ed25519_pairs_that_belong_together() {
        let pair = Ed25519Keys.generate().unwrap();
        let private = ssh_key::PrivateKey::from_openssh(&pair.private_key).unwrap();
        assert_eq!(private.algorithm(), ssh_key::Algorithm::Ed25519);
        assert!(pair.public_key.starts_with("ssh-ed25519 "));
        assert!(pair.public_key.ends_with('\n'));
        let public = ssh_key::PublicKey::from_openssh(pair.public_key.trim_end()).unwrap();
        assert_eq!(&public, private.public_key());
        assert_ne!(Ed25519Keys.generate().unwrap().public_key, pair.public_key);
    }
}
