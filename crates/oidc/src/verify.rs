//! ID token verification, apart from any HTTP so that every way a token can be
//! wrong is tested against real signatures.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::{
    CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
};
use openidconnect::{
    AdditionalClaims, ClaimsVerificationError, ClientId, IssuerUrl, Nonce,
    SignatureVerificationError,
};
use serde::{Deserialize, Serialize};

/// Claims as the provider sent them.
pub type Claims = serde_json::Map<String, serde_json::Value>;

/// Every claim beyond the standard ones, so that none is lost (groups, roles, …).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub(crate) struct AllClaims {
    #[serde(flatten)]
    rest: Claims,
}

impl AdditionalClaims for AllClaims {}

/// Why an ID token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Signed with a key the provider's key set lacks: refetch the keys, then retry.
    #[error("it is signed with a key the provider does not publish")]
    UnknownKey,
    #[error("it is not a well-formed signed JWT: {0}")]
    Malformed(String),
    #[error("{0}")]
    Invalid(String),
}

/// Signature algorithms accepted: asymmetric only, so that nobody holding the client
/// secret (which is not a signing key) can mint tokens.
const ALGORITHMS: [CoreJwsSigningAlgorithm; 10] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EcdsaP521Sha512,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// Checks an ID token's signature against `keys`, its issuer, audience (`client_id`,
/// and `azp` when there are several), expiry and `nonce`; returns all its claims.
pub fn verify_id_token(
    raw: &str,
    client_id: &str,
    issuer: &str,
    keys: &CoreJsonWebKeySet,
    nonce: &str,
) -> Result<Claims, VerifyError> {
    let token: CoreIdToken = raw
        .parse()
        .map_err(|e: serde_json::Error| VerifyError::Malformed(e.to_string()))?;
    let issuer =
        IssuerUrl::new(issuer.to_owned()).map_err(|e| VerifyError::Invalid(e.to_string()))?;
    let verifier = CoreIdTokenVerifier::new_public_client(
        ClientId::new(client_id.to_owned()),
        issuer,
        keys.clone(),
    )
    .set_allowed_algs(ALGORITHMS);
    match token.claims(&verifier, &Nonce::new(nonce.to_owned())) {
        Ok(_) => {}
        Err(ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        )) => return Err(VerifyError::UnknownKey),
        Err(ClaimsVerificationError::SignatureVerification(e)) => {
            return Err(VerifyError::Invalid(format!("bad signature: {e}")));
        }
        Err(e) => return Err(VerifyError::Invalid(e.to_string())),
    }
    // Verified: the payload is exactly what was signed.
    let payload = raw
        .split('.')
        .nth(1)
        .ok_or_else(|| VerifyError::Malformed("no payload".into()))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|e| VerifyError::Malformed(format!("payload: {e}")))?;
    serde_json::from_slice(&bytes).map_err(|e| VerifyError::Malformed(format!("payload: {e}")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test failing to unwrap is the test failing
mod tests {
    use super::*;
    use openidconnect::core::{CoreIdTokenClaims, CoreRsaPrivateSigningKey};
    use openidconnect::{
        Audience, EmptyAdditionalClaims, JsonWebKeyId, PrivateSigningKey, StandardClaims,
        SubjectIdentifier,
    };

    const ISSUER: &str = "https://idp.example/realms/acme";
    const CLIENT: &str = "warden";
    const NONCE: &str = "n-0S6_WzA2Mj";

    fn key(pem: &str, kid: &str) -> CoreRsaPrivateSigningKey {
        CoreRsaPrivateSigningKey::from_pem(pem, Some(JsonWebKeyId::new(kid.into()))).unwrap()
    }

    fn provider() -> CoreRsaPrivateSigningKey {
        key(include_str!("testdata/provider.pem"), "k1")
    }

    fn published() -> CoreJsonWebKeySet {
        CoreJsonWebKeySet::new(vec![provider().as_verification_key()])
    }

    struct Token {
        issuer: &'static str,
        audiences: Vec<&'static str>,
        expires_in: chrono::Duration,
        nonce: Option<&'static str>,
    }

    impl Default for Token {
        fn default() -> Self {
            Self {
                issuer: ISSUER,
                audiences: vec![CLIENT],
                expires_in: chrono::Duration::minutes(5),
                nonce: Some(NONCE),
            }
        }
    }

    impl Token {
        fn signed_by(self, key: &CoreRsaPrivateSigningKey) -> String {
            let now = chrono::Utc::now();
            let mut claims = CoreIdTokenClaims::new(
                IssuerUrl::new(self.issuer.into()).unwrap(),
                self.audiences
                    .iter()
                    .map(|a| Audience::new((*a).into()))
                    .collect(),
                now + self.expires_in,
                now - chrono::Duration::seconds(10),
                StandardClaims::new(SubjectIdentifier::new("248289761001".into())),
                EmptyAdditionalClaims {},
            );
            if let Some(nonce) = self.nonce {
                claims = claims.set_nonce(Some(Nonce::new(nonce.into())));
            }
            CoreIdToken::new(
                claims,
                key,
                CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
                None,
                None,
            )
            .unwrap()
            .to_string()
        }

        /// The same token with an extra claim the signature does not cover.
        fn tampered(raw: &str) -> String {
            let parts: Vec<&str> = raw.split('.').collect();
            let mut payload: Claims =
                serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
            payload.insert("groups".into(), serde_json::json!(["admins"]));
            let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).unwrap());
            format!("{}.{payload}.{}", parts[0], parts[2])
        }
    }

    fn check(raw: &str) -> Result<Claims, VerifyError> {
        verify_id_token(raw, CLIENT, ISSUER, &published(), NONCE)
    }

    #[test]
    fn a_valid_token_yields_every_claim() {
        let claims = check(&Token::default().signed_by(&provider())).unwrap();
        assert_eq!(claims["sub"], "248289761001");
        assert_eq!(claims["iss"], ISSUER);
        assert_eq!(claims["nonce"], NONCE);
    }

    #[test]
    fn a_forged_signature_is_refused() {
        // Signed by another key under the published key's id.
        let forged = Token::default().signed_by(&key(include_str!("testdata/forger.pem"), "k1"));
        assert!(matches!(check(&forged), Err(VerifyError::Invalid(e)) if e.contains("signature")));
        let tampered = Token::tampered(&Token::default().signed_by(&provider()));
        assert!(
            matches!(check(&tampered), Err(VerifyError::Invalid(e)) if e.contains("signature"))
        );
    }

    #[test]
    fn an_unknown_key_asks_for_a_refetch() {
        let rotated = Token::default().signed_by(&key(include_str!("testdata/forger.pem"), "k2"));
        assert_eq!(check(&rotated), Err(VerifyError::UnknownKey));
    }

    #[test]
    fn expired_wrong_audience_issuer_or_nonce_are_refused() {
        let cases = [
            (
                Token {
                    expires_in: chrono::Duration::minutes(-5),
                    ..Token::default()
                },
                "Expired",
            ),
            (
                Token {
                    audiences: vec!["someone-else"],
                    ..Token::default()
                },
                "audience",
            ),
            (
                Token {
                    issuer: "https://evil.example",
                    ..Token::default()
                },
                "issuer",
            ),
            (
                Token {
                    nonce: Some("replayed"),
                    ..Token::default()
                },
                "nonce",
            ),
            (
                Token {
                    nonce: None,
                    ..Token::default()
                },
                "nonce",
            ),
        ];
        for (token, expected) in cases {
            let result = check(&token.signed_by(&provider()));
            assert!(
                matches!(&result, Err(VerifyError::Invalid(e)) if e.to_lowercase().contains(&expected.to_lowercase())),
                "{expected}: {result:?}"
            );
        }
    }

    #[test]
    fn garbage_is_malformed() {
        for raw in ["", "abc", "a.b.c", "eyJhbGciOiJub25lIn0.e30."] {
            assert!(
                matches!(check(raw), Err(VerifyError::Malformed(_))),
                "{raw:?}"
            );
        }
    }
}
