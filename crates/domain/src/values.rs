//! Validated value types: parse once at the edge, then hold a type that cannot be invalid.

use std::fmt;

use crate::error::DomainError;

/// Coder's `NameValid` rule, shared by usernames, organization names and role names:
/// 1–32 characters, ASCII alphanumerics in runs joined by single hyphens, and not one
/// of the reserved words `new` or `create`.
pub fn name_valid(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must be at least 1 character".into());
    }
    if name.chars().count() > 32 {
        return Err("must be <= 32 characters".into());
    }
    if name == "new" || name == "create" {
        return Err(format!("cannot use {name:?} as a name"));
    }
    let well_formed = name
        .split('-')
        .all(|run| !run.is_empty() && run.bytes().all(|b| b.is_ascii_alphanumeric()));
    if !well_formed {
        return Err("must be alphanumeric with hyphens".into());
    }
    Ok(())
}

/// The detail Coder's request validator gives for a failed rule on a value.
pub fn tag_failed(tag: &str, value: &str) -> String {
    format!("Validation failed for tag {tag:?} with value: {value:?}")
}

/// Coder's `DisplayNameValid`: at most 64 characters, no leading or trailing space.
pub fn display_name_valid(name: &str) -> Result<(), String> {
    if name.chars().count() > 64 {
        return Err("must be <= 64 characters".into());
    }
    if name.trim() != name {
        return Err("must not have leading or trailing white spaces".into());
    }
    Ok(())
}

/// Coder's `UserRealNameValid`: at most 128 characters, no leading or trailing space.
pub fn real_name_valid(name: &str) -> Result<(), String> {
    if name.chars().count() > 128 {
        return Err("must be <= 128 characters".into());
    }
    if name.trim() != name {
        return Err("must not have leading or trailing white spaces".into());
    }
    Ok(())
}

macro_rules! string_value {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The validated string.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Takes the string back.
            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

string_value!(
    /// A username satisfying [`name_valid`].
    Username
);

impl Username {
    /// Validates a username; the error names the `username` field.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let tag = if raw.is_empty() {
            "required"
        } else {
            "username"
        };
        name_valid(raw).map(|()| Self(raw.to_owned())).map_err(|_| {
            DomainError::invalid_field("Validation failed.", "username", tag_failed(tag, raw))
        })
    }

    /// Wraps a name read back from storage, where it was validated on the way in.
    pub fn from_trusted(raw: String) -> Self {
        Self(raw)
    }
}

string_value!(
    /// An organization name satisfying [`name_valid`].
    OrganizationName
);

impl OrganizationName {
    /// Validates an organization name; the error names the `name` field.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let tag = if raw.is_empty() {
            "required"
        } else {
            "organization_name"
        };
        name_valid(raw).map(|()| Self(raw.to_owned())).map_err(|_| {
            DomainError::invalid_field("Validation failed.", "name", tag_failed(tag, raw))
        })
    }

    /// Wraps a name read back from storage.
    pub fn from_trusted(raw: String) -> Self {
        Self(raw)
    }
}

string_value!(
    /// An email address: one `@` with a non-empty local part and a dotted-or-local domain,
    /// no spaces, at most 254 characters. Stored as given; compared case-insensitively.
    Email
);

impl Email {
    /// Validates an email address; the error names the `email` field.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let invalid = |tag: &str| {
            DomainError::invalid_field("Validation failed.", "email", tag_failed(tag, raw))
        };
        if raw.is_empty() {
            return Err(invalid("required"));
        }
        if raw.len() > 254 || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("email"));
        }
        match raw.split_once('@') {
            Some((local, domain))
                if !local.is_empty()
                    && !domain.is_empty()
                    && !domain.contains('@')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.') =>
            {
                Ok(Self(raw.to_owned()))
            }
            _ => Err(invalid("email")),
        }
    }

    /// Wraps an address read back from storage.
    pub fn from_trusted(raw: String) -> Self {
        Self(raw)
    }
}

/// A plaintext password that passed the strength rules. Its `Debug` never shows it.
#[derive(Clone)]
pub struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl Password {
    /// Minimum length, as Coder's `userpassword.Validate`.
    pub const MIN_LEN: usize = 6;
    /// Maximum length, as Coder's `userpassword.Validate`.
    pub const MAX_LEN: usize = 64;
    /// Minimum estimated entropy in bits.
    pub const MIN_ENTROPY_BITS: f64 = 52.0;

    /// Checks a new password: length bounds and an entropy estimate in the spirit of
    /// Coder's (character pool size × length, repeated characters discounted).
    pub fn parse_new(raw: &str) -> Result<Self, DomainError> {
        let invalid = |detail: String| {
            DomainError::invalid_field("Password not strong enough!", "password", detail)
        };
        if raw.len() > Self::MAX_LEN {
            return Err(invalid(format!(
                "password must be no more than {} characters",
                Self::MAX_LEN
            )));
        }
        if raw.chars().count() < Self::MIN_LEN || entropy_bits(raw) < Self::MIN_ENTROPY_BITS {
            return Err(invalid(weakness_advice(raw)));
        }
        Ok(Self(raw.to_owned()))
    }

    /// Wraps a password offered at login, which is checked against a hash, not rules.
    pub fn for_login(raw: &str) -> Self {
        Self(raw.to_owned())
    }

    /// The plaintext, for the hasher only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Coder's advice for a weak password: the character classes it lacks, in order.
fn weakness_advice(password: &str) -> String {
    let mut missing = Vec::new();
    if !password.chars().any(|c| !c.is_ascii_alphanumeric()) {
        missing.push("including more special characters");
    }
    if !password.chars().any(|c| c.is_ascii_lowercase()) {
        missing.push("using lowercase letters");
    }
    if !password.chars().any(|c| c.is_ascii_uppercase()) {
        missing.push("using uppercase letters");
    }
    if !password.chars().any(|c| c.is_ascii_digit()) {
        missing.push("using numbers");
    }
    if missing.is_empty() {
        "insecure password, try using a longer password".to_owned()
    } else {
        format!(
            "insecure password, try {} or using a longer password",
            missing.join(", ")
        )
    }
}

/// Estimated entropy: log2(pool) × number of distinct-enough characters, where the pool
/// counts the character classes used and runs of the same character count once.
fn entropy_bits(password: &str) -> f64 {
    let mut pool = 0u32;
    if password.chars().any(|c| c.is_ascii_lowercase()) {
        pool += 26;
    }
    if password.chars().any(|c| c.is_ascii_uppercase()) {
        pool += 26;
    }
    if password.chars().any(|c| c.is_ascii_digit()) {
        pool += 10;
    }
    if password
        .chars()
        .any(|c| c.is_ascii_punctuation() || c == ' ')
    {
        pool += 33;
    }
    if !password.is_ascii() {
        pool += 100;
    }
    let mut effective = 0u32;
    let mut previous = None;
    for c in password.chars() {
        if previous != Some(c) {
            effective += 1;
        }
        previous = Some(c);
    }
    f64::from(effective) * f64::from(pool.max(1)).log2()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_rule_matches_coder() {
        for ok in ["a", "alice", "a-b", "A1-b2-C3", &"x".repeat(32)] {
            assert!(name_valid(ok).is_ok(), "{ok} should be valid");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "a--b",
            "a_b",
            "a b",
            "new",
            "create",
            "é",
            &"x".repeat(33),
        ] {
            assert!(name_valid(bad).is_err(), "{bad} should be invalid");
        }
    }

    #[test]
    fn username_error_names_the_field() {
        let Err(DomainError::Invalid { validations, .. }) = Username::parse("bad name") else {
            panic!("expected a validation error");
        };
        assert_eq!(validations[0].field, "username");
        assert_eq!(
            validations[0].detail,
            r#"Validation failed for tag "username" with value: "bad name""#
        );
    }

    #[test]
    fn email_rules() {
        assert!(Email::parse("a@b.c").is_ok());
        assert!(Email::parse("admin@localhost").is_ok());
        for bad in ["", "a", "@b", "a@", "a@b@c", "a b@c", "a@.c", "a@c."] {
            assert!(Email::parse(bad).is_err(), "{bad} should be invalid");
        }
    }

    #[test]
    fn password_strength() {
        assert!(Password::parse_new("short").is_err());
        assert!(Password::parse_new("aaaaaaaaaaaaaaaaaaaa").is_err());
        assert!(Password::parse_new("password").is_err());
        assert!(Password::parse_new("SomeSecurePassword!").is_ok());
        assert!(Password::parse_new(&"Ab1!".repeat(20)).is_err(), "too long");
        let Err(DomainError::Invalid {
            message,
            validations,
            ..
        }) = Password::parse_new("mypass")
        else {
            panic!("expected a weak password");
        };
        assert_eq!(message, "Password not strong enough!");
        assert_eq!(
            validations[0].detail,
            "insecure password, try including more special characters, using uppercase letters, using numbers or using a longer password"
        );
        assert_eq!(
            format!("{:?}", Password::for_login("hunter2")),
            "Password(<redacted>)"
        );
    }
}
