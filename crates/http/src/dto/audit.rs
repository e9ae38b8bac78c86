//! The audit trail.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;
use warden_domain::model;

use super::{MinimalOrganization, User};

/// `codersdk.AuditLog`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditLog {
    pub id: Uuid,
    pub request_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    pub ip: String,
    pub user_agent: String,
    pub resource_type: String,
    pub resource_id: String,
    pub resource_target: String,
    pub resource_icon: String,
    pub action: String,
    #[schema(value_type = Object)]
    pub diff: serde_json::Value,
    pub status_code: i32,
    #[schema(value_type = Object)]
    pub additional_fields: serde_json::Value,
    pub description: String,
    pub resource_link: String,
    pub is_deleted: bool,
    pub organization_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<MinimalOrganization>,
    pub user: Option<User>,
}

/// Fields whose audit diff says only that they changed (Coder's `ActionSecret`).
const SECRET_FIELDS: &[&str] = &["hashed_password", "private_key"];

impl From<model::AuditLog> for AuditLog {
    fn from(log: model::AuditLog) -> Self {
        let e = log.entry;
        let diff = match e.diff {
            serde_json::Value::Object(map) => serde_json::Value::Object(
                map.into_iter()
                    .map(|(k, mut v)| {
                        if let serde_json::Value::Object(change) = &mut v {
                            // Secret fields are recorded as changed, never with values.
                            let secret = SECRET_FIELDS.contains(&k.as_str());
                            change.insert("secret".into(), serde_json::Value::Bool(secret));
                        }
                        (k, v)
                    })
                    .collect(),
            ),
            other => other,
        };
        let friendly_type = match e.resource_type.as_str() {
            "api_key" => "token",
            "custom_role" => "custom role",
            "organization_member" => "organization member",
            other => other,
        };
        let verb = match e.action {
            model::AuditAction::Create => "created",
            model::AuditAction::Write => "updated",
            model::AuditAction::Delete => "deleted",
            model::AuditAction::Login => "logged in",
            model::AuditAction::Logout => "logged out",
            model::AuditAction::Register => "registered",
        };
        let description = if e.resource_type == "api_key"
            && matches!(
                e.action,
                model::AuditAction::Login
                    | model::AuditAction::Logout
                    | model::AuditAction::Register
            ) {
            format!("{{user}} {verb}")
        } else {
            format!("{{user}} {verb} {friendly_type} {{target}}")
        };
        Self {
            id: e.id.as_uuid(),
            request_id: e.request.request_id.unwrap_or_default(),
            time: e.time,
            ip: e.request.ip,
            user_agent: e.request.user_agent,
            resource_link: match (e.resource_type.as_str(), &log.resource_app_id) {
                ("user", _) => format!("/users?filter={}", e.resource_target),
                ("oauth2_provider_app", _) => {
                    format!("/deployment/oauth2-provider/apps/{}", e.resource_id)
                }
                ("oauth2_provider_app_secret", Some(app)) => {
                    format!("/deployment/oauth2-provider/apps/{app}")
                }
                _ => String::new(),
            },
            resource_type: e.resource_type,
            resource_id: e.resource_id,
            resource_target: e.resource_target,
            resource_icon: String::new(),
            action: e.action.as_str().to_owned(),
            diff,
            status_code: e.status_code,
            additional_fields: e.additional_fields,
            description,
            is_deleted: log.resource_deleted,
            organization_id: e.organization_id.map(|o| o.as_uuid()).unwrap_or_default(),
            organization: log.organization.map(|o| MinimalOrganization {
                id: o.id.as_uuid(),
                name: o.name.into_inner(),
                display_name: o.display_name,
                icon: o.icon,
            }),
            user: log.user.map(User::from),
        }
    }
}

/// `codersdk.AuditLogResponse`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditLogResponse {
    pub audit_logs: Vec<AuditLog>,
    pub count: i64,
    pub count_cap: i64,
}
