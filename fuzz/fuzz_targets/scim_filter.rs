//! The SCIM filter parser (RFC 7644 §3.4.2.2).
//!
//! The input is used twice. As text: every error is `invalidFilter` (400); a filter
//! that parses renders (keywords in either case) to text that parses back to the same
//! AST; evaluating it against a member of a multi-valued attribute and translating it
//! for storage (Users and Groups) never panics. As the entropy for an arbitrary AST:
//! rendered, it parses back to exactly that AST, or is refused for its length. The
//! second reaches shapes that text mutation finds slowly: deep nesting, URN-qualified
//! paths, escapes in strings, unusual numbers.
#![no_main]

use arbitrary::{Arbitrary, Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use serde_json::json;
use warden_fuzz::render_filter;
use warden_scim::ScimType;
use warden_scim::filter::{AttrPath, CompValue, Filter, MAX_FILTER_LEN, Op, matches, parse_filter};

/// An `ATTRNAME`: a letter, then letters, digits, `_`, `-` or `$`.
struct Name(String);

impl<'a> Arbitrary<'a> for Name {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        const COMMON: &[&str] = &[
            "userName",
            "emails",
            "type",
            "value",
            "primary",
            "name",
            "givenName",
            "familyName",
            "displayName",
            "externalId",
            "active",
            "members",
            "meta",
            "lastModified",
            "id",
            "and",
            "or",
            "pr",
            "eq",
            "$ref",
        ];
        if u.ratio(1, 2)? {
            let name = *u.choose(COMMON)?;
            if name != "$ref" {
                return Ok(Self(name.to_owned()));
            }
        }
        const FIRST: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        const REST: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-$";
        let mut name = String::from(char::from(*u.choose(FIRST)?));
        for _ in 0..u.int_in_range(0..=12)? {
            name.push(char::from(*u.choose(REST)?));
        }
        // `not` opens a negation wherever an attribute path could start.
        if name.eq_ignore_ascii_case("not") {
            name.push('_');
        }
        Ok(Self(name))
    }
}

#[derive(Arbitrary)]
enum Urn {
    User,
    Group,
    Enterprise,
    /// `urn:` and anything that stays one word (no blank, bracket, parenthesis or quote).
    Other(String),
}

impl Urn {
    fn text(self) -> String {
        match self {
            Self::User => "urn:ietf:params:scim:schemas:core:2.0:User".into(),
            Self::Group => "urn:ietf:params:scim:schemas:core:2.0:Group".into(),
            Self::Enterprise => "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".into(),
            Self::Other(rest) => {
                let rest: String = rest.chars().filter(|c| !" ()[]\"".contains(*c)).collect();
                format!("urn:{rest}")
            }
        }
    }
}

#[derive(Arbitrary)]
struct Path {
    urn: Option<Urn>,
    attr: Name,
    sub: Option<Name>,
}

#[derive(Arbitrary)]
enum Value {
    Str(String),
    Bool(bool),
    Null,
    Num(f64),
    Int(i32),
}

#[derive(Arbitrary)]
enum Ast {
    And(Box<Ast>, Box<Ast>),
    Or(Box<Ast>, Box<Ast>),
    Not(Box<Ast>),
    Present(Path),
    Compare(Path, u8, Value),
    Complex(Path, Box<Ast>),
}

const OPS: [Op; 9] = [
    Op::Eq,
    Op::Ne,
    Op::Co,
    Op::Sw,
    Op::Ew,
    Op::Gt,
    Op::Ge,
    Op::Lt,
    Op::Le,
];

fn path(p: Path) -> AttrPath {
    AttrPath {
        urn: p.urn.map(Urn::text),
        attr: p.attr.0,
        sub: p.sub.map(|s| s.0),
    }
}

fn filter(ast: Ast) -> Filter {
    match ast {
        Ast::And(a, b) => Filter::And(Box::new(filter(*a)), Box::new(filter(*b))),
        Ast::Or(a, b) => Filter::Or(Box::new(filter(*a)), Box::new(filter(*b))),
        Ast::Not(a) => Filter::Not(Box::new(filter(*a))),
        Ast::Present(p) => Filter::Present(path(p)),
        Ast::Compare(p, op, value) => Filter::Compare(
            path(p),
            OPS[usize::from(op) % OPS.len()],
            match value {
                // The parser refuses NUL in strings (no attribute can hold it).
                Value::Str(s) => CompValue::Str(s.replace('\0', "")),
                Value::Bool(b) => CompValue::Bool(b),
                Value::Null => CompValue::Null,
                Value::Num(n) if n.is_finite() => CompValue::Num(n),
                Value::Num(_) => CompValue::Num(0.0),
                Value::Int(n) => CompValue::Num(f64::from(n)),
            },
        ),
        Ast::Complex(p, inner) => Filter::Complex(path(p), Box::new(filter(*inner))),
    }
}

fn check_ast(bytes: &[u8]) {
    let Ok((ast, upper)) = <(Ast, bool)>::arbitrary_take_rest(Unstructured::new(bytes)) else {
        return;
    };
    let expected = filter(ast);
    let rendered = render_filter(&expected, upper);
    let parsed = parse_filter(&rendered);
    if rendered.len() > MAX_FILTER_LEN {
        assert!(parsed.is_err(), "{} bytes accepted", rendered.len());
        return;
    }
    match parsed {
        Ok(filter) => assert_eq!(filter, expected, "{rendered:?}"),
        Err(e) => panic!("{rendered:?} does not parse: {e:?}"),
    }
}

fuzz_target!(|bytes: &[u8]| {
    check_ast(bytes);
    let Ok(input) = std::str::from_utf8(bytes) else {
        return;
    };
    let filter = match parse_filter(input) {
        Ok(filter) => filter,
        Err(e) => {
            assert_eq!(
                e.scim_type,
                Some(ScimType::InvalidFilter),
                "{input:?}: {e:?}"
            );
            assert_eq!(e.status, 400);
            return;
        }
    };
    assert!(input.len() <= MAX_FILTER_LEN);

    for upper in [false, true] {
        let rendered = render_filter(&filter, upper);
        // Rendering parenthesizes every operand, so it can outgrow the limit.
        if rendered.len() <= MAX_FILTER_LEN {
            match parse_filter(&rendered) {
                Ok(again) => assert_eq!(again, filter, "{input:?} rendered as {rendered:?}"),
                Err(e) => panic!("{input:?} rendered as {rendered:?}, which fails: {e:?}"),
            }
        }
    }

    for value in [
        json!({"type": "work", "value": "bjensen@example.com", "primary": true}),
        json!({"value": "2819c223-7f76-453a-919d-413861904646", "display": "Babs", "$ref": null}),
        json!({"name": {"givenName": "Barbara"}, "emails": [{"type": "work"}], "n": 1.5}),
        json!("a simple value"),
        json!(42),
    ] {
        let _ = matches(&filter, &value);
    }
    let _ = warden_scim::user::user_filter(&filter);
    let _ = warden_scim::group::group_filter(&filter);
});
