//! Coder's pagination query parameters: `limit`, `offset`, `after_id`.

use crate::error::{DomainError, DomainResult, FieldError};
use crate::ids::UserId;

/// A validated page request. `limit == None` means "all".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pagination {
    pub after_id: Option<UserId>,
    pub limit: Option<i64>,
    pub offset: i64,
}

impl Pagination {
    /// Parses the raw query values; every bad one is named in `validations`.
    /// `limit=0` or no limit means no limit, as in Coder; `limit=` is refused
    /// (Coder's SDK never sends it). An empty `after_id` is absent.
    pub fn parse(
        limit: Option<&str>,
        offset: Option<&str>,
        after_id: Option<&str>,
    ) -> DomainResult<Self> {
        let mut errors = Vec::new();
        let mut int = |name: &str, raw: Option<&str>| -> i64 {
            // An empty value is not a number: refused, like any other.
            match raw.map(positive_i32) {
                None => 0,
                Some(Ok(v)) => v,
                Some(Err(why)) => {
                    errors.push(FieldError::new(
                        name,
                        format!(
                            "Query param {name:?} must be a valid 32-bit positive integer: {why}"
                        ),
                    ));
                    0
                }
            }
        };
        let limit = int("limit", limit);
        let offset = int("offset", offset);
        let after_id = match after_id.filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => match s.parse::<UserId>() {
                Ok(id) => Some(id),
                Err(_) => {
                    errors.push(FieldError::new(
                        "after_id",
                        "Query param \"after_id\" must be a valid uuid",
                    ));
                    None
                }
            },
        };
        if !errors.is_empty() {
            return Err(DomainError::Invalid {
                message: "Query parameters have invalid values.".into(),
                detail: String::new(),
                validations: errors,
            });
        }
        Ok(Self {
            after_id,
            limit: (limit > 0).then_some(limit),
            offset,
        })
    }
}

/// Parses a non-negative 32-bit integer, explaining failures as Coder (Go's strconv) does.
fn positive_i32(raw: &str) -> Result<i64, String> {
    match raw.parse::<i32>() {
        Ok(v) if v < 0 => Err("value is negative".to_owned()),
        Ok(v) => Ok(i64::from(v)),
        Err(e)
            if matches!(
                e.kind(),
                std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow
            ) =>
        {
            Err(format!(
                "strconv.ParseInt: parsing {raw:?}: value out of range"
            ))
        }
        Err(_) => Err(format!("strconv.ParseInt: parsing {raw:?}: invalid syntax")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_zero_mean_everything() {
        assert_eq!(
            Pagination::parse(None, None, None).ok(),
            Some(Pagination::default())
        );
        let p = Pagination::parse(Some("0"), Some("5"), None).ok();
        assert_eq!(p.map(|p| (p.limit, p.offset)), Some((None, 5)));
    }

    #[test]
    fn every_bad_value_is_named() {
        let Err(DomainError::Invalid { validations, .. }) =
            Pagination::parse(Some("-1"), Some("x"), Some("nope"))
        else {
            panic!("expected validation errors");
        };
        let fields: Vec<_> = validations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["limit", "offset", "after_id"]);
        assert_eq!(
            validations[0].detail,
            r#"Query param "limit" must be a valid 32-bit positive integer: value is negative"#
        );
        assert_eq!(
            validations[1].detail,
            r#"Query param "offset" must be a valid 32-bit positive integer: strconv.ParseInt: parsing "x": invalid syntax"#
        );
        let Err(DomainError::Invalid { validations, .. }) =
            Pagination::parse(Some(""), Some(""), Some(""))
        else {
            panic!("empty numbers were accepted");
        };
        let fields: Vec<_> = validations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["limit", "offset"]);
    }
}
