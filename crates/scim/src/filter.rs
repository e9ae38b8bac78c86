//! The filter grammar of RFC 7644 §3.4.2.2, parsed into an AST, and the PATCH path
//! grammar of §3.5.2 built on it. Attribute names, operators and keywords are
//! case-insensitive. Precedence: `not` binds tightest, then `and`, then `or`.

use serde_json::Value;

use crate::error::{ScimError, ScimResult};

/// Longest filter accepted, in bytes (stated in `/ServiceProviderConfig`'s docs).
pub const MAX_FILTER_LEN: usize = 1000;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    fn parse(word: &str) -> Option<Self> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => Self::Eq,
            "ne" => Self::Ne,
            "co" => Self::Co,
            "sw" => Self::Sw,
            "ew" => Self::Ew,
            "gt" => Self::Gt,
            "ge" => Self::Ge,
            "lt" => Self::Lt,
            "le" => Self::Le,
            _ => return None,
        })
    }
}

/// An attribute path: an optional schema URN, an attribute and an optional
/// sub-attribute. Names keep their spelling; compare them case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    pub urn: Option<String>,
    pub attr: String,
    pub sub: Option<String>,
}

impl AttrPath {
    /// `attr` or `attr.sub`, lowercased.
    pub fn dotted(&self) -> String {
        match &self.sub {
            Some(sub) => format!("{}.{}", self.attr, sub).to_ascii_lowercase(),
            None => self.attr.to_ascii_lowercase(),
        }
    }
}

/// A comparison value.
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    Str(String),
    Bool(bool),
    Null,
    Num(f64),
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Present(AttrPath),
    Compare(AttrPath, Op, CompValue),
    /// `attr[filter]`: some value of the multi-valued `attr` matches `filter`, whose
    /// paths are relative to that value.
    Complex(AttrPath, Box<Filter>),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
}

fn tokenize(input: &str) -> ScimResult<Vec<Token>> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = input.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '(' => {
                tokens.push(Token::LParen);
                i += 1;
            }
            ')' => {
                tokens.push(Token::RParen);
                i += 1;
            }
            '[' => {
                tokens.push(Token::LBracket);
                i += 1;
            }
            ']' => {
                tokens.push(Token::RBracket);
                i += 1;
            }
            '"' => {
                // A JSON string: reuse JSON's escapes.
                let start = i;
                i += 1;
                let mut escaped = false;
                while i < chars.len() {
                    match chars[i] {
                        '\\' if !escaped => escaped = true,
                        '"' if !escaped => break,
                        _ => escaped = false,
                    }
                    i += 1;
                }
                if i >= chars.len() {
                    return Err(ScimError::invalid_filter("Unterminated string in filter."));
                }
                let raw: String = chars[start..=i].iter().collect();
                let value: String = serde_json::from_str(&raw).map_err(|e| {
                    ScimError::invalid_filter(format!("Invalid string {raw} in filter: {e}"))
                })?;
                // No attribute can hold it (the server refuses it everywhere).
                if value.contains('\0') {
                    return Err(ScimError::invalid_filter(format!(
                        "Invalid string {raw} in filter: it holds the NUL character (U+0000)."
                    )));
                }
                tokens.push(Token::Str(value));
                i += 1;
            }
            _ => {
                let start = i;
                while i < chars.len() && !matches!(chars[i], ' ' | '(' | ')' | '[' | ']' | '"') {
                    i += 1;
                }
                tokens.push(Token::Word(chars[start..i].iter().collect()));
            }
        }
    }
    Ok(tokens)
}

/// Parses an attribute path such as `name.givenName` or
/// `urn:ietf:params:scim:schemas:core:2.0:User:userName`.
pub fn parse_attr_path(word: &str) -> ScimResult<AttrPath> {
    let invalid = || ScimError::invalid_filter(format!("{word:?} is not an attribute path."));
    let (urn, rest) = if word.to_ascii_lowercase().starts_with("urn:") {
        match word.rfind(':') {
            Some(i) => (Some(word[..i].to_owned()), &word[i + 1..]),
            None => return Err(invalid()),
        }
    } else {
        (None, word)
    };
    let mut parts = rest.splitn(2, '.');
    let attr = parts.next().unwrap_or_default().to_owned();
    let sub = parts.next().map(str::to_owned);
    if !is_attr_name(&attr) || sub.as_deref().is_some_and(|s| !is_attr_name(s)) {
        return Err(invalid());
    }
    Ok(AttrPath { urn, attr, sub })
}

/// An `ATTRNAME` (RFC 7643 §2.1): a letter, then letters, digits, `_`, `-` or `$`.
fn is_attr_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$')
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn peek_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(keyword))
    }

    fn or_expr(&mut self) -> ScimResult<Filter> {
        let mut left = self.and_expr()?;
        while self.peek_keyword("or") {
            self.pos += 1;
            let right = self.and_expr()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> ScimResult<Filter> {
        let mut left = self.unary()?;
        while self.peek_keyword("and") {
            self.pos += 1;
            let right = self.unary()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> ScimResult<Filter> {
        if self.peek_keyword("not") {
            self.pos += 1;
            if self.next() != Some(Token::LParen) {
                return Err(ScimError::invalid_filter(
                    "\"not\" must be followed by \"(\".",
                ));
            }
            let inner = self.or_expr()?;
            self.expect(Token::RParen, ")")?;
            return Ok(Filter::Not(Box::new(inner)));
        }
        if self.peek() == Some(&Token::LParen) {
            self.pos += 1;
            let inner = self.or_expr()?;
            self.expect(Token::RParen, ")")?;
            return Ok(inner);
        }
        self.attr_expr()
    }

    fn expect(&mut self, token: Token, shown: &str) -> ScimResult<()> {
        if self.next() == Some(token) {
            Ok(())
        } else {
            Err(ScimError::invalid_filter(format!(
                "Expected {shown:?} in filter."
            )))
        }
    }

    fn attr_expr(&mut self) -> ScimResult<Filter> {
        let Some(Token::Word(word)) = self.next() else {
            return Err(ScimError::invalid_filter(
                "Expected an attribute path in filter.",
            ));
        };
        let path = parse_attr_path(&word)?;
        if self.peek() == Some(&Token::LBracket) {
            self.pos += 1;
            let inner = self.or_expr()?;
            self.expect(Token::RBracket, "]")?;
            return Ok(Filter::Complex(path, Box::new(inner)));
        }
        let Some(Token::Word(op)) = self.next() else {
            return Err(ScimError::invalid_filter(format!(
                "Expected an operator after {word:?}."
            )));
        };
        if op.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let op = Op::parse(&op)
            .ok_or_else(|| ScimError::invalid_filter(format!("Unknown operator {op:?}.")))?;
        let value = match self.next() {
            Some(Token::Str(s)) => CompValue::Str(s),
            Some(Token::Word(w)) if w == "true" || w == "false" => CompValue::Bool(w == "true"),
            Some(Token::Word(w)) if w == "null" => CompValue::Null,
            Some(Token::Word(w)) => match w.parse::<f64>() {
                Ok(n) if n.is_finite() => CompValue::Num(n),
                _ => {
                    return Err(ScimError::invalid_filter(format!(
                        "{w:?} is not a valid comparison value (strings are quoted)."
                    )));
                }
            },
            _ => return Err(ScimError::invalid_filter("Expected a comparison value.")),
        };
        Ok(Filter::Compare(path, op, value))
    }
}

/// Parses a whole filter.
pub fn parse_filter(input: &str) -> ScimResult<Filter> {
    if input.len() > MAX_FILTER_LEN {
        return Err(ScimError::invalid_filter(format!(
            "Filters are limited to {MAX_FILTER_LEN} bytes."
        )));
    }
    let mut parser = Parser {
        tokens: tokenize(input)?,
        pos: 0,
    };
    if parser.tokens.is_empty() {
        return Err(ScimError::invalid_filter("The filter is empty."));
    }
    let filter = parser.or_expr()?;
    if parser.pos != parser.tokens.len() {
        return Err(ScimError::invalid_filter(
            "Unexpected text after the end of the filter.",
        ));
    }
    Ok(filter)
}

/// A PATCH path (RFC 7644 §3.5.2): `attrPath`, or `attr[valFilter]` optionally
/// followed by `.subAttr`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    pub filter: Option<Filter>,
    /// The sub-attribute after a value filter.
    pub sub: Option<String>,
}

/// Parses a PATCH path; errors are `invalidPath`.
pub fn parse_patch_path(input: &str) -> ScimResult<PatchPath> {
    let to_path_error = |e: ScimError| ScimError::invalid_path(e.detail);
    let input = input.trim();
    match input.find('[') {
        None => Ok(PatchPath {
            attr: parse_attr_path(input).map_err(to_path_error)?,
            filter: None,
            sub: None,
        }),
        Some(open) => {
            let close = input.rfind(']').filter(|&c| c > open).ok_or_else(|| {
                ScimError::invalid_path(format!("Unbalanced \"[\" in {input:?}."))
            })?;
            let attr = parse_attr_path(&input[..open]).map_err(to_path_error)?;
            let filter = parse_filter(&input[open + 1..close]).map_err(to_path_error)?;
            let rest = &input[close + 1..];
            let sub = match rest.strip_prefix('.') {
                Some(sub) if is_attr_name(sub) => Some(sub.to_owned()),
                _ if rest.is_empty() => None,
                _ => {
                    return Err(ScimError::invalid_path(format!(
                        "Unexpected {rest:?} after the value filter."
                    )));
                }
            };
            Ok(PatchPath {
                attr,
                filter: Some(filter),
                sub,
            })
        }
    }
}

/// Looks up a key case-insensitively in a JSON object.
pub fn get_ci<'a>(object: &'a Value, key: &str) -> Option<&'a Value> {
    object
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

/// Evaluates a filter against one JSON value (a member of a multi-valued attribute,
/// in PATCH). Strings compare case-insensitively.
pub fn matches(filter: &Filter, value: &Value) -> bool {
    match filter {
        Filter::And(a, b) => matches(a, value) && matches(b, value),
        Filter::Or(a, b) => matches(a, value) || matches(b, value),
        Filter::Not(a) => !matches(a, value),
        Filter::Present(path) => {
            lookup(value, path).is_some_and(|v| !v.is_null() && v != &Value::String(String::new()))
        }
        Filter::Compare(path, op, expected) => lookup(value, path)
            .map(|actual| compare(actual, *op, expected))
            .unwrap_or(matches!(
                (op, expected),
                (Op::Ne, _) | (Op::Eq, CompValue::Null)
            )),
        Filter::Complex(path, inner) => match lookup(value, path) {
            Some(Value::Array(items)) => items.iter().any(|item| matches(inner, item)),
            Some(item) => matches(inner, item),
            None => false,
        },
    }
}

fn lookup<'a>(value: &'a Value, path: &AttrPath) -> Option<&'a Value> {
    // Inside a value filter, a bare `value` may also name a simple array element.
    let v = match value {
        Value::Object(_) => get_ci(value, &path.attr)?,
        other if path.attr.eq_ignore_ascii_case("value") && path.sub.is_none() => other,
        _ => return None,
    };
    match &path.sub {
        Some(sub) => get_ci(v, sub),
        None => Some(v),
    }
}

fn compare(actual: &Value, op: Op, expected: &CompValue) -> bool {
    use std::cmp::Ordering;
    let ordering = match (actual, expected) {
        (Value::String(a), CompValue::Str(e)) => {
            let (a, e) = (a.to_lowercase(), e.to_lowercase());
            match op {
                Op::Co => return a.contains(&e),
                Op::Sw => return a.starts_with(&e),
                Op::Ew => return a.ends_with(&e),
                _ => a.cmp(&e),
            }
        }
        (Value::Bool(a), CompValue::Bool(e)) => a.cmp(e),
        (Value::Number(a), CompValue::Num(e)) => match a.as_f64().and_then(|a| a.partial_cmp(e)) {
            Some(o) => o,
            None => return false,
        },
        (Value::Null, CompValue::Null) => Ordering::Equal,
        _ => return op == Op::Ne,
    };
    match op {
        Op::Eq => ordering == Ordering::Equal,
        Op::Ne => ordering != Ordering::Equal,
        Op::Gt => ordering == Ordering::Greater,
        Op::Ge => ordering != Ordering::Less,
        Op::Lt => ordering == Ordering::Less,
        Op::Le => ordering != Ordering::Greater,
        Op::Co | Op::Sw | Op::Ew => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(name: &str) -> AttrPath {
        parse_attr_path(name).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        let f =
            parse_filter(r#"userName eq "a" OR name.givenName sw "b" and NOT (active eq false)"#)
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            f,
            Filter::Or(
                Box::new(Filter::Compare(
                    attr("userName"),
                    Op::Eq,
                    CompValue::Str("a".into())
                )),
                Box::new(Filter::And(
                    Box::new(Filter::Compare(
                        attr("name.givenName"),
                        Op::Sw,
                        CompValue::Str("b".into())
                    )),
                    Box::new(Filter::Not(Box::new(Filter::Compare(
                        attr("active"),
                        Op::Eq,
                        CompValue::Bool(false)
                    )))),
                )),
            )
        );
    }

    #[test]
    fn operators_and_keywords_are_case_insensitive() {
        let a = parse_filter(r#"userName EQ "x" AND emails PR"#);
        let b = parse_filter(r#"userName eq "x" and emails pr"#);
        assert_eq!(a, b);
        assert!(a.is_ok());
    }

    #[test]
    fn a_string_holding_nul_is_an_invalid_filter() {
        let refused = parse_filter(r#"displayName eq "a\u0000b""#);
        assert!(
            matches!(&refused, Err(e) if e.scim_type == Some(crate::error::ScimType::InvalidFilter)),
            "{refused:?}"
        );
        assert!(parse_filter(r#"displayName eq "a\u0001b""#).is_ok());
    }

    #[test]
    fn complex_filters_urns_and_escapes() {
        let f = parse_filter(
            r#"emails[type eq "work" and value co "@ex\"ample"] or urn:ietf:params:scim:schemas:core:2.0:User:userName eq "u""#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let Filter::Or(left, right) = f else {
            panic!("expected or");
        };
        assert!(matches!(*left, Filter::Complex(ref p, _) if p.attr == "emails"));
        let Filter::Compare(path, _, _) = *right else {
            panic!("expected compare");
        };
        assert_eq!(
            path.urn.as_deref(),
            Some("urn:ietf:params:scim:schemas:core:2.0:User")
        );
        assert_eq!(path.attr, "userName");
    }

    #[test]
    fn malformed_filters_are_invalid_filter() {
        for bad in [
            "",
            "userName",
            "userName eq",
            "userName xx \"a\"",
            "userName eq \"a",
            "(userName eq \"a\"",
            "userName eq \"a\" extra",
            "userName eq bare",
            "not userName eq \"a\"",
            "emails[type eq \"work\"",
        ] {
            let e = parse_filter(bad)
                .err()
                .unwrap_or_else(|| panic!("{bad:?} parsed"));
            assert_eq!(
                e.scim_type,
                Some(crate::error::ScimType::InvalidFilter),
                "{bad}"
            );
        }
        let long = format!("userName eq \"{}\"", "a".repeat(MAX_FILTER_LEN));
        assert!(parse_filter(&long).is_err());
    }

    #[test]
    fn patch_paths() {
        let p =
            parse_patch_path(r#"emails[type eq "work"].value"#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.attr.attr, "emails");
        assert_eq!(p.sub.as_deref(), Some("value"));
        assert!(p.filter.is_some());
        let p =
            parse_patch_path(r#"members[value eq "2819c223"]"#).unwrap_or_else(|e| panic!("{e}"));
        assert!(p.sub.is_none());
        assert!(parse_patch_path("emails[type eq").is_err());
        assert!(parse_patch_path("9bad").is_err());
    }

    #[test]
    fn a_sub_attribute_after_a_value_filter_is_an_attribute_name() {
        // Found by fuzz/fuzz_targets/scim_patch_path.rs: anything after the `.` was
        // taken as the sub-attribute, and a PATCH wrote it as a key into the matched
        // values (§3.5.2: `valuePath [subAttr]`, `subAttr = "." ATTRNAME`).
        for bad in [
            r#"emails[type eq "work"].va:lue"#,
            r#"emails[type eq "work"].urn:x:value"#,
            r#"emails[type eq "work"].value.extra"#,
            r#"emails[type eq "work"].display name"#,
            r#"emails[type eq "work"].9value"#,
            r#"emails[type eq "work"]."#,
        ] {
            let e = parse_patch_path(bad)
                .err()
                .unwrap_or_else(|| panic!("{bad:?} parsed"));
            assert_eq!(
                e.scim_type,
                Some(crate::error::ScimType::InvalidPath),
                "{bad}"
            );
        }
        let p =
            parse_patch_path(r#"emails[type eq "work"].primary"#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.sub.as_deref(), Some("primary"));
    }

    #[test]
    fn element_matching() {
        let f =
            parse_filter(r#"type eq "WORK" and primary eq true"#).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches(
            &f,
            &serde_json::json!({"type": "work", "primary": true, "value": "a@b"})
        ));
        assert!(!matches(
            &f,
            &serde_json::json!({"type": "home", "primary": true})
        ));
        let f = parse_filter(r#"value eq "abc""#).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches(&f, &serde_json::json!({"value": "ABC"})));
    }
}
