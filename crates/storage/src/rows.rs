//! Row types and their conversion to domain entities. Rows never leave this crate.

use diesel::prelude::*;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};
use warden_domain::RepoError;
use warden_domain::ids::{ApiKeyId, OrganizationId, UserId};
use warden_domain::model::{ApiKey, AuditEntry, Organization, OrganizationMember, User};
use warden_domain::values::{Email, OrganizationName, Username};

use crate::schema::{api_keys, audit_logs, organization_members, organizations, users};

/// Converts a domain timestamp to the stored UTC wall time (microsecond precision,
/// the finest both engines keep).
pub fn to_db(t: OffsetDateTime) -> PrimitiveDateTime {
    let t = t.to_offset(UtcOffset::UTC);
    let micros = t.microsecond();
    let t = t.replace_nanosecond(micros * 1_000).unwrap_or(t);
    PrimitiveDateTime::new(t.date(), t.time())
}

/// Reads a stored UTC wall time.
pub fn from_db(t: PrimitiveDateTime) -> OffsetDateTime {
    t.assume_utc()
}

pub(crate) fn corrupt(what: &str, e: impl std::fmt::Display) -> RepoError {
    RepoError::Internal(format!("corrupt {what} in database: {e}"))
}

pub fn parse_uuid<T: std::str::FromStr>(what: &str, raw: &str) -> Result<T, RepoError>
where
    T::Err: std::fmt::Display,
{
    raw.parse().map_err(|e| corrupt(what, e))
}

/// `None` is inserted as `NULL`, the nullable columns' only default: an insert that
/// may say `DEFAULT` instead is one diesel does not keep prepared.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users, treat_none_as_default_value = false)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub username: String,
    pub name: String,
    pub avatar_url: String,
    pub hashed_password: Option<String>,
    pub status: String,
    pub login_type: String,
    pub is_service_account: bool,
    pub theme_preference: String,
    pub deleted: bool,
    pub created_at: PrimitiveDateTime,
    pub updated_at: PrimitiveDateTime,
    pub last_seen_at: PrimitiveDateTime,
}

impl UserRow {
    /// The entity, given the roles and memberships loaded beside it.
    pub fn into_user(
        self,
        site_roles: Vec<String>,
        organization_ids: Vec<OrganizationId>,
    ) -> Result<User, RepoError> {
        Ok(User {
            id: parse_uuid("user id", &self.id)?,
            username: Username::from_trusted(self.username),
            email: Email::from_trusted(self.email),
            name: self.name,
            avatar_url: self.avatar_url,
            status: self
                .status
                .parse()
                .map_err(|e: String| corrupt("user status", e))?,
            login_type: self
                .login_type
                .parse()
                .map_err(|e: String| corrupt("login type", e))?,
            is_service_account: self.is_service_account,
            site_roles,
            organization_ids,
            theme_preference: self.theme_preference,
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
            last_seen_at: from_db(self.last_seen_at),
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = organizations)]
pub struct OrganizationRow {
    pub id: String,
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub icon: String,
    pub is_default: bool,
    pub created_at: PrimitiveDateTime,
    pub updated_at: PrimitiveDateTime,
}

impl OrganizationRow {
    pub fn from_entity(o: &Organization) -> Self {
        Self {
            id: o.id.to_string(),
            name: o.name.as_str().to_owned(),
            display_name: o.display_name.clone(),
            description: o.description.clone(),
            icon: o.icon.clone(),
            is_default: o.is_default,
            created_at: to_db(o.created_at),
            updated_at: to_db(o.updated_at),
        }
    }

    pub fn into_entity(self) -> Result<Organization, RepoError> {
        Ok(Organization {
            id: parse_uuid("organization id", &self.id)?,
            name: OrganizationName::from_trusted(self.name),
            display_name: self.display_name,
            description: self.description,
            icon: self.icon,
            is_default: self.is_default,
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = organization_members)]
pub struct MemberRow {
    pub organization_id: String,
    pub user_id: String,
    pub created_at: PrimitiveDateTime,
    pub updated_at: PrimitiveDateTime,
}

impl MemberRow {
    pub fn into_entity(self, roles: Vec<String>) -> Result<OrganizationMember, RepoError> {
        Ok(OrganizationMember {
            organization_id: parse_uuid("organization id", &self.organization_id)?,
            user_id: parse_uuid::<UserId>("user id", &self.user_id)?,
            roles,
            custom_role_display_names: Default::default(),
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys)]
pub struct ApiKeyRow {
    pub id: String,
    pub user_id: String,
    pub hashed_secret: Vec<u8>,
    pub last_used: PrimitiveDateTime,
    pub expires_at: PrimitiveDateTime,
    pub created_at: PrimitiveDateTime,
    pub updated_at: PrimitiveDateTime,
    pub login_type: String,
    pub lifetime_seconds: i64,
    pub token_name: String,
    pub scopes: String,
    pub allow_list: String,
}

impl ApiKeyRow {
    pub fn from_entity(k: &ApiKey) -> Result<Self, RepoError> {
        let json = |v: &Vec<String>| {
            serde_json::to_string(v).map_err(|e| RepoError::Internal(e.to_string()))
        };
        Ok(Self {
            id: k.id.0.clone(),
            user_id: k.user_id.to_string(),
            hashed_secret: k.hashed_secret.clone(),
            last_used: to_db(k.last_used),
            expires_at: to_db(k.expires_at),
            created_at: to_db(k.created_at),
            updated_at: to_db(k.updated_at),
            login_type: k.login_type.as_str().to_owned(),
            lifetime_seconds: k.lifetime_seconds,
            token_name: k.token_name.clone(),
            scopes: json(&k.scopes)?,
            allow_list: json(&k.allow_list)?,
        })
    }

    pub fn into_entity(self) -> Result<ApiKey, RepoError> {
        Ok(ApiKey {
            id: ApiKeyId(self.id),
            user_id: parse_uuid("user id", &self.user_id)?,
            hashed_secret: self.hashed_secret,
            last_used: from_db(self.last_used),
            expires_at: from_db(self.expires_at),
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
            login_type: self
                .login_type
                .parse()
                .map_err(|e: String| corrupt("login type", e))?,
            lifetime_seconds: self.lifetime_seconds,
            token_name: self.token_name,
            scopes: serde_json::from_str(&self.scopes).map_err(|e| corrupt("scopes", e))?,
            allow_list: serde_json::from_str(&self.allow_list)
                .map_err(|e| corrupt("allow list", e))?,
        })
    }
}

/// `None` is inserted as `NULL` (see [`UserRow`]).
#[derive(Debug, Clone, Insertable, Queryable, Selectable)]
#[diesel(table_name = audit_logs, treat_none_as_default_value = false)]
pub struct AuditRow {
    pub id: String,
    pub time: PrimitiveDateTime,
    pub user_id: Option<String>,
    pub organization_id: Option<String>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: String,
    pub resource_target: String,
    pub diff: String,
    pub request_id: Option<String>,
    pub ip: String,
    pub user_agent: String,
    pub status_code: i32,
    pub additional_fields: String,
}

impl AuditRow {
    pub fn from_entity(a: &AuditEntry) -> Self {
        Self {
            request_id: a.request.request_id.map(|r| r.to_string()),
            ip: a.request.ip.clone(),
            user_agent: a.request.user_agent.clone(),
            status_code: a.status_code,
            id: a.id.to_string(),
            time: to_db(a.time),
            user_id: a.actor.map(|u| u.to_string()),
            organization_id: a.organization_id.map(|o| o.to_string()),
            action: a.action.as_str().to_owned(),
            resource_type: a.resource_type.clone(),
            resource_id: a.resource_id.clone(),
            resource_target: a.resource_target.clone(),
            diff: a.diff.to_string(),
            additional_fields: a.additional_fields.to_string(),
        }
    }
}

impl AuditRow {
    pub fn into_entity(self) -> Result<warden_domain::model::AuditEntry, RepoError> {
        Ok(warden_domain::model::AuditEntry {
            id: parse_uuid("audit id", &self.id)?,
            time: from_db(self.time),
            request: warden_domain::model::RequestMeta {
                request_id: self.request_id.as_deref().and_then(|r| r.parse().ok()),
                ip: self.ip,
                user_agent: self.user_agent,
            },
            status_code: self.status_code,
            actor: self
                .user_id
                .as_deref()
                .map(|u| parse_uuid("user id", u))
                .transpose()?,
            organization_id: self
                .organization_id
                .as_deref()
                .map(|o| parse_uuid("organization id", o))
                .transpose()?,
            action: self
                .action
                .parse()
                .map_err(|e: String| corrupt("audit action", e))?,
            resource_type: self.resource_type,
            resource_id: self.resource_id,
            resource_target: self.resource_target,
            diff: serde_json::from_str(&self.diff).unwrap_or_default(),
            additional_fields: serde_json::from_str(&self.additional_fields)
                .unwrap_or_else(|_| serde_json::json!({})),
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = crate::schema::groups)]
pub struct GroupRow {
    pub id: String,
    pub organization_id: String,
    pub name: String,
    pub display_name: String,
    pub avatar_url: String,
    pub quota_allowance: i32,
    pub source: String,
    pub created_at: PrimitiveDateTime,
    pub updated_at: PrimitiveDateTime,
}

impl GroupRow {
    pub fn from_entity(g: &warden_domain::model::Group) -> Self {
        Self {
            id: g.id.to_string(),
            organization_id: g.organization_id.to_string(),
            name: g.name.clone(),
            display_name: g.display_name.clone(),
            avatar_url: g.avatar_url.clone(),
            quota_allowance: g.quota_allowance,
            source: g.source.as_str().to_owned(),
            created_at: to_db(g.created_at),
            updated_at: to_db(g.updated_at),
        }
    }

    pub fn into_entity(self) -> Result<warden_domain::model::Group, RepoError> {
        Ok(warden_domain::model::Group {
            id: parse_uuid("group id", &self.id)?,
            organization_id: parse_uuid("organization id", &self.organization_id)?,
            name: self.name,
            display_name: self.display_name,
            avatar_url: self.avatar_url,
            quota_allowance: self.quota_allowance,
            source: self
                .source
                .parse()
                .map_err(|e: String| corrupt("group source", e))?,
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }

    /// The Everyone group row of a new organization.
    pub fn everyone(org: &Organization) -> Self {
        Self {
            id: org.id.to_string(),
            organization_id: org.id.to_string(),
            name: warden_domain::model::EVERYONE_GROUP.to_owned(),
            display_name: String::new(),
            avatar_url: String::new(),
            quota_allowance: 0,
            source: "user".to_owned(),
            created_at: to_db(org.created_at),
            updated_at: to_db(org.updated_at),
        }
    }
}
