//! The SCIM `User` resource: reading one from JSON (leniently, as Okta and Entra ID
//! send it), rendering one, projecting `attributes`/`excludedAttributes`, and
//! translating filters over users into the storage port's [`UserFilter`].

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use warden_domain::model::UserStatus;
use warden_domain::scim::{
    CompareOp, FilterValue, ScimUserFields, ScimUserRecord, UserAttr, UserFilter,
};
use warden_domain::values::{Email, real_name_valid};

use crate::discovery::USER_SCHEMA;
use crate::error::{ScimError, ScimResult};
use crate::filter::{AttrPath, CompValue, Filter, Op, get_ci};

/// Longest `name.givenName`, `name.familyName`, `displayName`, `emails.type` and
/// `externalId` kept.
pub const MAX_TEXT_LEN: usize = 256;

/// What a client sent for a user (POST, PUT, or a PATCHed document).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInput {
    pub user_name: String,
    pub email: Email,
    /// The Warden name (what Coder shows): `name.formatted`, else `displayName`,
    /// else given and family name.
    pub name: String,
    /// Everything else as sent (`active_assigned`: whether `active` was sent).
    pub fields: ScimUserFields,
    /// `active` as sent; `None` when unassigned, which Warden reads as active (as
    /// for a POST without it).
    pub active: Option<bool>,
}

impl UserInput {
    /// Whether the user may sign in: unassigned `active` is Warden's default, true.
    pub fn is_active(&self) -> bool {
        self.active.unwrap_or(true)
    }
}

fn string_at(body: &Value, key: &str) -> ScimResult<Option<String>> {
    match get_ci(body, key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(ScimError::invalid_value(format!(
            "{key:?} must be a string, not {other}."
        ))),
    }
}

fn bounded(key: &str, value: Option<String>) -> ScimResult<String> {
    let value = value.unwrap_or_default().trim().to_owned();
    if value.chars().count() > MAX_TEXT_LEN {
        return Err(ScimError::invalid_value(format!(
            "{key:?} must be at most {MAX_TEXT_LEN} characters."
        )));
    }
    Ok(value)
}

/// A boolean, also as Entra ID's `"True"`/`"False"` strings.
pub fn lenient_bool(key: &str, value: &Value) -> ScimResult<bool> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        other => Err(ScimError::invalid_value(format!(
            "{key:?} must be a boolean, not {other}."
        ))),
    }
}

/// Reads a user document. Unknown attributes are ignored; `active` defaults to true.
pub fn parse_user(body: &Value) -> ScimResult<UserInput> {
    if !body.is_object() {
        return Err(ScimError::invalid_syntax("A User must be a JSON object."));
    }
    let user_name = string_at(body, "userName")?
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ScimError::invalid_value("\"userName\" is required."))?;
    if user_name.chars().count() > MAX_TEXT_LEN {
        return Err(ScimError::invalid_value(format!(
            "\"userName\" must be at most {MAX_TEXT_LEN} characters."
        )));
    }
    let picked = pick_email(body)?;
    let (email, email_type, email_primary) = match picked {
        Some(p) => (p.value, p.kind, p.primary),
        None => (user_name.clone(), String::new(), None),
    };
    let email_type = bounded("emails.type", Some(email_type))?;
    let email = Email::parse(&email).map_err(|_| {
        ScimError::invalid_value(format!(
            "A valid email is required in \"emails\" (or as the userName); got {email:?}."
        ))
    })?;
    let (formatted, given_name, family_name) = match get_ci(body, "name") {
        None | Some(Value::Null) => (None, String::new(), String::new()),
        Some(name @ Value::Object(_)) => (
            string_at(name, "formatted")?,
            bounded("name.givenName", string_at(name, "givenName")?)?,
            bounded("name.familyName", string_at(name, "familyName")?)?,
        ),
        Some(other) => {
            return Err(ScimError::invalid_value(format!(
                "\"name\" must be an object, not {other}."
            )));
        }
    };
    let formatted = formatted.unwrap_or_default().trim().to_owned();
    let display_name = bounded("displayName", string_at(body, "displayName")?)?;
    let name = [&formatted, &display_name]
        .into_iter()
        .find(|s| !s.is_empty())
        .cloned()
        .unwrap_or_else(|| format!("{given_name} {family_name}").trim().to_owned());
    real_name_valid(&name)
        .map_err(|e| ScimError::invalid_value(format!("The user's name {e}.")))?;
    let external_id = bounded("externalId", string_at(body, "externalId")?)?;
    let active = match get_ci(body, "active") {
        None | Some(Value::Null) => None,
        Some(v) => Some(lenient_bool("active", v)?),
    };
    Ok(UserInput {
        user_name,
        email,
        name,
        fields: ScimUserFields {
            external_id,
            formatted,
            given_name,
            family_name,
            display_name,
            email_type,
            email_primary,
            active_assigned: active.is_some(),
        },
        active,
    })
}

/// The email Warden keeps, with its `type` and `primary` as sent.
struct PickedEmail {
    value: String,
    kind: String,
    /// `None` when not sent.
    primary: Option<bool>,
}

/// The primary email, else the first; `None` when there is none.
fn pick_email(body: &Value) -> ScimResult<Option<PickedEmail>> {
    let emails = match get_ci(body, "emails") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(ScimError::invalid_value(format!(
                "\"emails\" must be an array, not {other}."
            )));
        }
    };
    let mut first = None;
    for item in emails {
        let Some(value) = string_at(item, "value")? else {
            continue;
        };
        let primary = match get_ci(item, "primary") {
            None | Some(Value::Null) => None,
            Some(v) => Some(lenient_bool("emails.primary", v)?),
        };
        let picked = PickedEmail {
            value,
            kind: string_at(item, "type")?.unwrap_or_default(),
            primary,
        };
        if primary == Some(true) {
            return Ok(Some(picked));
        }
        first.get_or_insert(picked);
    }
    Ok(first)
}

/// The SCIM `active` of a Warden status: dormant users are active (they sign in).
pub fn is_active(status: UserStatus) -> bool {
    status != UserStatus::Suspended
}

/// The status after a client sets `active`: deactivating suspends; activating keeps
/// an active user active and makes a suspended one dormant, as Coder does.
pub fn next_status(current: UserStatus, active: bool) -> UserStatus {
    match (active, current) {
        (false, _) => UserStatus::Suspended,
        (true, UserStatus::Suspended) => UserStatus::Dormant,
        (true, other) => other,
    }
}

/// The weak ETag of a user's current version.
pub fn version(record: &ScimUserRecord) -> String {
    format!(
        "W/\"{}\"",
        record.user.updated_at.unix_timestamp_nanos() / 1_000
    )
}

fn timestamp(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// The SCIM `active` of a user: `false` when Warden has it suspended (whoever did),
/// `true` when the client asserted it, else unassigned.
pub fn active_of(record: &ScimUserRecord) -> Option<bool> {
    if !is_active(record.user.status) {
        Some(false)
    } else if record.fields.active_assigned {
        Some(true)
    } else {
        None
    }
}

/// Renders a user: what the client sent, unassigned attributes left out.
pub fn render(record: &ScimUserRecord, base: &str) -> Value {
    let user = &record.user;
    let fields = &record.fields;
    let mut doc = Map::new();
    doc.insert("schemas".into(), json!([USER_SCHEMA]));
    doc.insert("id".into(), json!(user.id.to_string()));
    if !fields.external_id.is_empty() {
        doc.insert("externalId".into(), json!(fields.external_id));
    }
    doc.insert("userName".into(), json!(record.user_name()));
    let mut name = Map::new();
    for (key, value) in [
        ("formatted", &fields.formatted),
        ("givenName", &fields.given_name),
        ("familyName", &fields.family_name),
    ] {
        if !value.is_empty() {
            name.insert(key.into(), json!(value));
        }
    }
    if !name.is_empty() {
        doc.insert("name".into(), Value::Object(name));
    }
    if !fields.display_name.is_empty() {
        doc.insert("displayName".into(), json!(fields.display_name));
    }
    let mut email = Map::new();
    email.insert("value".into(), json!(user.email.as_str()));
    if !fields.email_type.is_empty() {
        email.insert("type".into(), json!(fields.email_type));
    }
    if let Some(primary) = fields.email_primary {
        email.insert("primary".into(), json!(primary));
    }
    doc.insert("emails".into(), json!([email]));
    if let Some(active) = active_of(record) {
        doc.insert("active".into(), json!(active));
    }
    doc.insert(
        "meta".into(),
        json!({
            "resourceType": "User",
            "created": timestamp(user.created_at),
            "lastModified": timestamp(user.updated_at),
            "location": format!("{base}/Users/{}", user.id),
            "version": version(record),
        }),
    );
    Value::Object(doc)
}

/// Normalizes an attribute name from `attributes`/`excludedAttributes`: without the
/// resource's schema URN, lowercased, dotted.
pub(crate) fn normalize_for(name: &str, schema: &str) -> String {
    let lower = name.trim().to_ascii_lowercase();
    let urn = schema.to_ascii_lowercase();
    match lower.strip_prefix(&urn) {
        Some(rest) => rest.trim_start_matches(':').to_owned(),
        None => lower,
    }
}

/// Applies `attributes` (keep only these, plus those always returned) or else
/// `excludedAttributes` (drop these, unless always returned) to a User.
pub fn project(doc: Value, attributes: &[String], excluded: &[String]) -> Value {
    project_with(
        doc,
        attributes,
        excluded,
        USER_SCHEMA,
        &["schemas", "id", "username"],
    )
}

/// [`project`] for a resource of `schema` whose `always` attributes (lowercase) are
/// returned whatever is asked.
pub(crate) fn project_with(
    doc: Value,
    attributes: &[String],
    excluded: &[String],
    schema: &str,
    always: &[&str],
) -> Value {
    let Value::Object(map) = doc else {
        return doc;
    };
    if !attributes.is_empty() {
        let wanted: Vec<String> = attributes
            .iter()
            .map(|a| normalize_for(a, schema))
            .collect();
        let mut out = Map::new();
        for (key, value) in map {
            let k = key.to_ascii_lowercase();
            if always.contains(&k.as_str()) || wanted.contains(&k) {
                out.insert(key, value);
                continue;
            }
            let subs: Vec<&str> = wanted
                .iter()
                .filter_map(|w| w.strip_prefix(&format!("{k}.")))
                .collect();
            if !subs.is_empty()
                && let Some(kept) = keep_subs(value, &subs)
            {
                out.insert(key, kept);
            }
        }
        return Value::Object(out);
    }
    let dropped: Vec<String> = excluded.iter().map(|a| normalize_for(a, schema)).collect();
    let mut out = Map::new();
    for (key, value) in map {
        let k = key.to_ascii_lowercase();
        if always.contains(&k.as_str()) {
            out.insert(key, value);
            continue;
        }
        if dropped.contains(&k) {
            continue;
        }
        let subs: Vec<&str> = dropped
            .iter()
            .filter_map(|w| w.strip_prefix(&format!("{k}.")))
            .collect();
        out.insert(key, drop_subs(value, &subs));
    }
    Value::Object(out)
}

fn keep_subs(value: Value, subs: &[&str]) -> Option<Value> {
    match value {
        Value::Object(map) => Some(Value::Object(
            map.into_iter()
                .filter(|(k, _)| subs.contains(&k.to_ascii_lowercase().as_str()))
                .collect(),
        )),
        Value::Array(items) => Some(Value::Array(
            items
                .into_iter()
                .filter_map(|i| keep_subs(i, subs))
                .collect(),
        )),
        _ => None,
    }
}

fn drop_subs(value: Value, subs: &[&str]) -> Value {
    if subs.is_empty() {
        return value;
    }
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(k, _)| !subs.contains(&k.to_ascii_lowercase().as_str()))
                .collect(),
        ),
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|i| drop_subs(i, subs)).collect())
        }
        other => other,
    }
}

/// The attribute a filter or sort names on a user, each backed by one column.
fn target(path: &AttrPath, within: Option<&str>) -> ScimResult<UserAttr> {
    if let Some(urn) = &path.urn
        && !urn.eq_ignore_ascii_case(USER_SCHEMA)
    {
        return Err(ScimError::invalid_filter(format!(
            "Attributes of schema {urn:?} are not supported."
        )));
    }
    let dotted = match within {
        Some(parent) => format!("{parent}.{}", path.dotted()),
        None => path.dotted(),
    };
    Ok(match dotted.as_str() {
        "id" => UserAttr::Id,
        "username" => UserAttr::UserName,
        "externalid" => UserAttr::ExternalId,
        "displayname" => UserAttr::DisplayName,
        // A comparison with the complex `name` compares its formatted form.
        "name" | "name.formatted" => UserAttr::Formatted,
        "name.givenname" => UserAttr::GivenName,
        "name.familyname" => UserAttr::FamilyName,
        "emails" | "emails.value" => UserAttr::Email,
        "emails.type" => UserAttr::EmailType,
        "emails.primary" => UserAttr::EmailPrimary,
        "active" => UserAttr::Active,
        "meta.created" => UserAttr::Created,
        "meta.lastmodified" => UserAttr::LastModified,
        other => {
            return Err(ScimError::invalid_filter(format!(
                "Filtering on {other:?} is not supported."
            )));
        }
    })
}

fn compare_op(op: Op) -> CompareOp {
    match op {
        Op::Eq => CompareOp::Eq,
        Op::Ne => CompareOp::Ne,
        Op::Co => CompareOp::Co,
        Op::Sw => CompareOp::Sw,
        Op::Ew => CompareOp::Ew,
        Op::Gt => CompareOp::Gt,
        Op::Ge => CompareOp::Ge,
        Op::Lt => CompareOp::Lt,
        Op::Le => CompareOp::Le,
    }
}

/// Translates a parsed filter over users for the storage port.
pub fn user_filter(filter: &Filter) -> ScimResult<UserFilter> {
    translate(filter, None)
}

fn translate(filter: &Filter, within: Option<&str>) -> ScimResult<UserFilter> {
    Ok(match filter {
        Filter::And(a, b) => UserFilter::And(
            Box::new(translate(a, within)?),
            Box::new(translate(b, within)?),
        ),
        Filter::Or(a, b) => UserFilter::Or(
            Box::new(translate(a, within)?),
            Box::new(translate(b, within)?),
        ),
        Filter::Not(a) => UserFilter::Not(Box::new(translate(a, within)?)),
        Filter::Complex(path, inner) => {
            if within.is_some() || path.sub.is_some() || !path.attr.eq_ignore_ascii_case("emails") {
                return Err(ScimError::invalid_filter(format!(
                    "Value filters are supported on \"emails\" only, not {:?}.",
                    path.dotted()
                )));
            }
            translate(inner, Some("emails"))?
        }
        Filter::Present(path)
            if within.is_none() && path.sub.is_none() && path.attr.eq_ignore_ascii_case("name") =>
        {
            // The complex `name` is present when any of its parts is.
            let present = |a| Box::new(UserFilter::Present(a));
            UserFilter::Or(
                present(UserAttr::Formatted),
                Box::new(UserFilter::Or(
                    present(UserAttr::GivenName),
                    present(UserAttr::FamilyName),
                )),
            )
        }
        Filter::Present(path) => UserFilter::Present(target(path, within)?),
        Filter::Compare(path, op, value) => comparison(target(path, within)?, *op, value)?,
    })
}

fn comparison(attr: UserAttr, op: Op, value: &CompValue) -> ScimResult<UserFilter> {
    let shown = || format!("{attr:?}").to_lowercase();
    let value = match (attr, value) {
        (_, CompValue::Null) => {
            return match op {
                Op::Eq => Ok(UserFilter::Not(Box::new(UserFilter::Present(attr)))),
                Op::Ne => Ok(UserFilter::Present(attr)),
                _ => Err(ScimError::invalid_filter(
                    "null can only be compared with eq or ne.",
                )),
            };
        }
        (UserAttr::Active | UserAttr::EmailPrimary, CompValue::Bool(b))
            if matches!(op, Op::Eq | Op::Ne) =>
        {
            FilterValue::Bool(*b)
        }
        (UserAttr::Active | UserAttr::EmailPrimary, _) => {
            return Err(ScimError::invalid_filter(format!(
                "{} is a boolean: compare it with eq or ne and true or false.",
                shown()
            )));
        }
        (UserAttr::Created | UserAttr::LastModified, CompValue::Str(s))
            if !matches!(op, Op::Co | Op::Sw | Op::Ew) =>
        {
            FilterValue::Time(OffsetDateTime::parse(s, &Rfc3339).map_err(|e| {
                ScimError::invalid_filter(format!("{s:?} is not an RFC 3339 date-time: {e}."))
            })?)
        }
        (UserAttr::Created | UserAttr::LastModified, _) => {
            return Err(ScimError::invalid_filter(format!(
                "{} is a dateTime: compare it with eq, ne, gt, ge, lt or le and a quoted RFC 3339 value.",
                shown()
            )));
        }
        (_, CompValue::Str(s)) => FilterValue::Text(s.clone()),
        _ => {
            return Err(ScimError::invalid_filter(format!(
                "{} is a string: compare it with a quoted value.",
                shown()
            )));
        }
    };
    Ok(UserFilter::Compare {
        attr,
        op: compare_op(op),
        value,
    })
}

/// The attribute of `sortBy`.
pub fn sort_attr(name: &str) -> ScimResult<UserAttr> {
    let path = crate::filter::parse_attr_path(name.trim())
        .map_err(|_| ScimError::invalid_value(format!("Cannot sort by {name:?}.")))?;
    target(&path, None).map_err(|_| ScimError::invalid_value(format!("Cannot sort by {name:?}.")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::parse_filter;

    fn translated(f: &str) -> ScimResult<UserFilter> {
        user_filter(&parse_filter(f)?)
    }

    #[test]
    fn filters_translate_attribute_by_attribute() {
        assert_eq!(
            translated(r#"USERNAME Eq "Alice""#),
            Ok(UserFilter::Compare {
                attr: UserAttr::UserName,
                op: CompareOp::Eq,
                value: FilterValue::Text("Alice".into())
            })
        );
        assert_eq!(
            translated(r#"emails[type eq "work" and value ew "@x.io"]"#),
            Ok(UserFilter::And(
                Box::new(UserFilter::Compare {
                    attr: UserAttr::EmailType,
                    op: CompareOp::Eq,
                    value: FilterValue::Text("work".into())
                }),
                Box::new(UserFilter::Compare {
                    attr: UserAttr::Email,
                    op: CompareOp::Ew,
                    value: FilterValue::Text("@x.io".into())
                })
            ))
        );
        assert_eq!(
            translated(r#"emails[primary eq true]"#),
            Ok(UserFilter::Compare {
                attr: UserAttr::EmailPrimary,
                op: CompareOp::Eq,
                value: FilterValue::Bool(true)
            })
        );
        assert_eq!(
            translated(r#"displayName co "x""#).map(|f| matches!(
                f,
                UserFilter::Compare {
                    attr: UserAttr::DisplayName,
                    ..
                }
            )),
            Ok(true)
        );
        assert_eq!(
            translated(r#"name.formatted sw "x""#).map(|f| matches!(
                f,
                UserFilter::Compare {
                    attr: UserAttr::Formatted,
                    ..
                }
            )),
            Ok(true)
        );
        assert!(matches!(translated("name pr"), Ok(UserFilter::Or(_, _))));
        assert!(matches!(
            translated(r#"meta.lastModified gt "2011-05-13T04:42:34Z""#),
            Ok(UserFilter::Compare {
                attr: UserAttr::LastModified,
                op: CompareOp::Gt,
                value: FilterValue::Time(_)
            })
        ));
    }

    #[test]
    fn unsupported_filters_are_invalid_filter() {
        for bad in [
            r#"title eq "x""#,
            r#"active eq "true""#,
            r#"active gt true"#,
            r#"emails.primary eq "yes""#,
            r#"meta.created co "2011""#,
            r#"meta.created eq "yesterday""#,
            r#"userName eq 42"#,
            r#"groups[value eq "x"]"#,
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "x""#,
        ] {
            let e = translated(bad)
                .err()
                .unwrap_or_else(|| panic!("{bad} translated"));
            assert_eq!(
                e.scim_type,
                Some(crate::error::ScimType::InvalidFilter),
                "{bad}"
            );
        }
    }

    #[test]
    fn parse_is_lenient_like_the_identity_providers() {
        let input = parse_user(&json!({
            "schemas": [USER_SCHEMA],
            "UserName": "alice@example.com",
            "name": {"givenName": "Alice", "familyName": "Liddell"},
            "emails": [{"value": "other@example.com"}, {"value": "alice@example.com", "primary": "True"}],
            "active": "False",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "x"},
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(input.email.as_str(), "alice@example.com");
        assert_eq!(input.name, "Alice Liddell");
        assert_eq!(input.active, Some(false));
        assert!(input.fields.active_assigned);
        assert_eq!(input.fields.email_primary, Some(true));
        assert_eq!(input.fields.email_type, "");
        assert_eq!(input.fields.formatted, "");
        assert_eq!(input.fields.display_name, "");
        let input = parse_user(&json!({
            "userName": "bob",
            "displayName": "Bobby",
            "emails": [{"value": "b@x.io", "type": "home"}],
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(input.name, "Bobby");
        assert_eq!(input.fields.display_name, "Bobby");
        assert_eq!(input.fields.email_type, "home");
        assert_eq!(input.fields.email_primary, None);
        assert_eq!(input.active, None);
        assert!(!input.fields.active_assigned);
        assert!(input.is_active());
        let e = parse_user(&json!({"userName": "bob", "emails": "nope"})).err();
        assert_eq!(
            e.map(|e| e.scim_type),
            Some(Some(crate::error::ScimType::InvalidValue))
        );
        let e = parse_user(&json!({"emails": [{"value": "a@b.c"}]})).err();
        assert_eq!(e.map(|e| e.status), Some(400));
    }

    #[test]
    fn projection_keeps_what_is_always_returned() {
        let doc = json!({"schemas": [], "id": "1", "userName": "u", "name": {"givenName": "g", "familyName": "f"}, "active": true});
        let p = project(doc.clone(), &["name.givenName".into()], &[]);
        assert_eq!(
            p,
            json!({"schemas": [], "id": "1", "userName": "u", "name": {"givenName": "g"}})
        );
        let p = project(
            doc,
            &[],
            &["active".into(), "id".into(), "name.familyName".into()],
        );
        assert_eq!(
            p,
            json!({"schemas": [], "id": "1", "userName": "u", "name": {"givenName": "g"}})
        );
    }

    #[test]
    fn status_follows_coder() {
        assert_eq!(next_status(UserStatus::Active, true), UserStatus::Active);
        assert_eq!(
            next_status(UserStatus::Suspended, true),
            UserStatus::Dormant
        );
        assert_eq!(
            next_status(UserStatus::Dormant, false),
            UserStatus::Suspended
        );
        assert!(is_active(UserStatus::Dormant));
    }
}
