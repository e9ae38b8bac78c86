//! Reading the audit trail.

use time::{Date, Month, OffsetDateTime, Time};
use warden_rbac::{Action, Object, ResourceType};

use crate::actor::Actor;
use crate::error::{DomainError, DomainResult, FieldError};
use crate::model::{AuditAction, AuditLog};
use crate::ports::AuditQuery;
use crate::services::Services;
use crate::services::pagination::Pagination;

/// Rows returned when no limit is given, as in Coder.
pub const DEFAULT_AUDIT_LIMIT: i64 = 100;
/// `count` saturates here, as in Coder.
pub const AUDIT_COUNT_CAP: i64 = 2000;

/// A page of audit logs.
#[derive(Debug, Clone)]
pub struct AuditPage {
    pub logs: Vec<AuditLog>,
    pub count: i64,
    pub count_cap: i64,
}

impl Services {
    /// `GET /audit`: newest first. Site-wide readers see everything; organization
    /// readers see their organizations' entries; anyone else gets an empty page.
    pub async fn audit_logs(
        &self,
        actor: &Actor,
        q: Option<&str>,
        page: Pagination,
    ) -> DomainResult<AuditPage> {
        let mut query = self.parse_audit_query(actor, q.unwrap_or("")).await?;
        query.offset = page.offset;
        query.limit = page.limit.unwrap_or(DEFAULT_AUDIT_LIMIT);
        if !actor.can(Action::Read, &Object::new(ResourceType::AuditLog)) {
            let orgs: Vec<_> = actor
                .user
                .organization_ids
                .iter()
                .copied()
                .filter(|org| {
                    actor.can(
                        Action::Read,
                        &Object::new(ResourceType::AuditLog).in_org(org.as_uuid()),
                    )
                })
                .collect();
            if orgs.is_empty() {
                return Ok(AuditPage {
                    logs: Vec::new(),
                    count: 0,
                    count_cap: AUDIT_COUNT_CAP,
                });
            }
            query.only_orgs = Some(orgs);
        }
        let (logs, count) = self.ports.audit.list(query, AUDIT_COUNT_CAP).await?;
        Ok(AuditPage {
            logs,
            count,
            count_cap: AUDIT_COUNT_CAP,
        })
    }

    /// Coder's audit search: lowercased; bare words mean `resource_type:<word>`; keys
    /// `resource_type`, `resource_id`, `resource_target`, `action`, `username`
    /// (`me` = the caller), `email`, `organization`, `request_id`, `date_from`, `date_to`.
    async fn parse_audit_query(&self, actor: &Actor, q: &str) -> DomainResult<AuditQuery> {
        let mut query = AuditQuery::default();
        let mut errors = Vec::new();
        let mut bare = Vec::new();
        for element in crate::services::users::split_query(&q.to_lowercase()) {
            let Some((key, value)) = element.split_once(':') else {
                bare.push(element);
                continue;
            };
            if key.is_empty() || value.is_empty() {
                errors.push(FieldError::new(
                    "q",
                    format!("Query element {element:?} cannot start or end with ':'"),
                ));
                continue;
            }
            let value = value.trim_matches('"').to_owned();
            match key {
                "resource_type" => query.resource_type = Some(value),
                "resource_id" => query.resource_id = Some(value),
                "resource_target" => query.resource_target = Some(value),
                "email" => query.actor_email = Some(value),
                "action" => match value.parse::<AuditAction>() {
                    Ok(a) => query.action = Some(a),
                    Err(_) => errors.push(FieldError::new(
                        "action",
                        format!("Query param \"action\" has invalid value: {value:?} is not a valid value"),
                    )),
                },
                "request_id" => match value.parse() {
                    Ok(id) => query.request_id = Some(id),
                    Err(_) => errors.push(FieldError::new("request_id", "Query param \"request_id\" must be a valid uuid")),
                },
                "username" => {
                    if value == "me" {
                        query.actor = Some(actor.user.id);
                    } else {
                        match self.ports.users.get_by_username(&value).await {
                            Ok(u) => query.actor = Some(u.id),
                            // Nobody by that name: nothing can match.
                            Err(_) => query.actor = Some(crate::ids::UserId(uuid::Uuid::nil())),
                        }
                    }
                }
                "organization" => match self.resolve_organization(actor, &value).await {
                    Ok(org) => query.organization = Some(org.id),
                    Err(_) => errors.push(FieldError::new(
                        "organization",
                        format!("Query param \"organization\" has invalid value: organization {value:?} either does not exist, or you are unauthorized to view it"),
                    )),
                },
                "date_from" | "date_to" => match parse_date(&value) {
                    Some(date) if key == "date_from" => query.since = Some(date.with_time(Time::MIDNIGHT).assume_utc()),
                    Some(date) => {
                        query.until = Some(date.with_hms(23, 59, 59).map(|d| d.assume_utc()).unwrap_or(OffsetDateTime::UNIX_EPOCH))
                    }
                    None => errors.push(FieldError::new(
                        key,
                        format!("Query param {key:?} must be a valid date format (2006-01-02): parsing time {value:?}"),
                    )),
                },
                other => errors.push(FieldError::new(other, format!("{other:?} is not a valid query param"))),
            }
        }
        if !bare.is_empty() {
            query.resource_type = Some(bare.join(" "));
        }
        if !errors.is_empty() {
            return Err(DomainError::Invalid {
                message: "Invalid audit search query.".into(),
                detail: String::new(),
                validations: errors,
            });
        }
        Ok(query)
    }
}

fn parse_date(raw: &str) -> Option<Date> {
    let mut parts = raw.splitn(3, '-');
    let year = parts.next()?.parse().ok()?;
    let month = Month::try_from(parts.next()?.parse::<u8>().ok()?).ok()?;
    let day = parts.next()?.parse().ok()?;
    Date::from_calendar_date(year, month, day).ok()
}
