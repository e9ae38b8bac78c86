//! Organizations.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;
use warden_domain::model::Organization as DomainOrganization;

/// `codersdk.Organization`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Organization {
    pub id: Uuid,
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub icon: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub is_default: bool,
}

impl From<DomainOrganization> for Organization {
    fn from(o: DomainOrganization) -> Self {
        Self {
            id: o.id.as_uuid(),
            name: o.name.into_inner(),
            display_name: o.display_name,
            description: o.description,
            icon: o.icon,
            created_at: o.created_at,
            updated_at: o.updated_at,
            is_default: o.is_default,
        }
    }
}

/// `codersdk.CreateOrganizationRequest`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct CreateOrganizationRequest {
    #[schema(
        required = true,
        min_length = 1,
        max_length = 32,
        pattern = r"^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$"
    )]
    pub name: String,
    #[schema(max_length = 64, pattern = r"^(\S([\s\S]*\S)?)?$")]
    pub display_name: String,
    pub description: String,
    pub icon: String,
}

/// `codersdk.UpdateOrganizationRequest`: absent fields stay unchanged.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct UpdateOrganizationRequest {
    pub name: String,
    pub display_name: String,
    pub description: Option<String>,
    pub icon: Option<String>,
}

/// The organization of an audit log entry.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MinimalOrganization {
    pub id: Uuid,
    pub name: String,
    pub display_name: String,
    pub icon: String,
}
