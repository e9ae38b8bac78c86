//! [`AuditRepo`] on diesel.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use diesel::prelude::*;
use warden_domain::model::AuditLog;
use warden_domain::ports::{AuditQuery, AuditRepo, RepoResult};

use crate::db::{Database, MultiBackend};
use crate::error::map_diesel;
use crate::repos::users::hydrate;
use crate::rows::{AuditRow, OrganizationRow, UserRow, to_db};
use crate::schema::{audit_logs, lower, oauth2_app_secrets, oauth2_apps, organizations, users};

/// The audit log on PostgreSQL or SQLite.
#[derive(Debug, Clone)]
pub struct DieselAuditRepo {
    db: Database,
}

impl DieselAuditRepo {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

const APP: &str = "oauth2_provider_app";
const SECRET: &str = "oauth2_provider_app_secret";

/// Which of the OAuth2 apps and app secrets audited in `rows` still exist (secrets
/// with their app): at most two queries, none when the page audits neither.
fn oauth2_resources(
    conn: &mut crate::db::AnyConnection,
    rows: &[AuditRow],
) -> RepoResult<(HashSet<String>, HashMap<String, String>)> {
    let ids = |kind: &str| -> Vec<String> {
        rows.iter()
            .filter(|r| r.resource_type == kind)
            .map(|r| r.resource_id.clone())
            .collect()
    };
    let (apps, secrets) = (ids(APP), ids(SECRET));
    let live_apps = if apps.is_empty() {
        HashSet::new()
    } else {
        oauth2_apps::table
            .filter(oauth2_apps::id.eq_any(apps))
            .select(oauth2_apps::id)
            .load::<String>(conn)
            .map_err(map_diesel)?
            .into_iter()
            .collect()
    };
    let live_secrets = if secrets.is_empty() {
        HashMap::new()
    } else {
        oauth2_app_secrets::table
            .filter(oauth2_app_secrets::id.eq_any(secrets))
            .select((oauth2_app_secrets::id, oauth2_app_secrets::app_id))
            .load::<(String, String)>(conn)
            .map_err(map_diesel)?
            .into_iter()
            .collect()
    };
    Ok((live_apps, live_secrets))
}

fn filtered(q: &AuditQuery) -> audit_logs::BoxedQuery<'_, MultiBackend> {
    let mut query = audit_logs::table.into_boxed();
    if let Some(t) = &q.resource_type {
        query = query.filter(audit_logs::resource_type.eq(t));
    }
    if let Some(id) = &q.resource_id {
        query = query.filter(audit_logs::resource_id.eq(id));
    }
    if let Some(target) = &q.resource_target {
        query = query.filter(lower(audit_logs::resource_target).eq(target.to_lowercase()));
    }
    if let Some(action) = q.action {
        query = query.filter(audit_logs::action.eq(action.as_str()));
    }
    if let Some(actor) = q.actor {
        query = query.filter(audit_logs::user_id.eq(actor.to_string()));
    }
    if let Some(email) = &q.actor_email {
        query = query.filter(
            audit_logs::user_id.eq_any(
                users::table
                    .filter(lower(users::email).eq(email.to_lowercase()))
                    .select(users::id.nullable()),
            ),
        );
    }
    if let Some(org) = q.organization {
        query = query.filter(audit_logs::organization_id.eq(org.to_string()));
    }
    if let Some(request) = q.request_id {
        query = query.filter(audit_logs::request_id.eq(request.to_string()));
    }
    if let Some(since) = q.since {
        query = query.filter(audit_logs::time.ge(to_db(since)));
    }
    if let Some(until) = q.until {
        query = query.filter(audit_logs::time.le(to_db(until)));
    }
    if let Some(orgs) = &q.only_orgs {
        query = query.filter(
            audit_logs::organization_id
                .eq_any(orgs.iter().map(ToString::to_string).collect::<Vec<_>>()),
        );
    }
    query
}

#[async_trait]
impl AuditRepo for DieselAuditRepo {
    async fn list(&self, query: AuditQuery, count_cap: i64) -> RepoResult<(Vec<AuditLog>, i64)> {
        self.db
            .run(move |conn| {
                let count: i64 = filtered(&query)
                    .count()
                    .get_result(conn)
                    .map_err(map_diesel)?;
                let rows: Vec<AuditRow> = filtered(&query)
                    .order((audit_logs::time.desc(), audit_logs::id.desc()))
                    .limit(query.limit)
                    .offset(query.offset)
                    .select(AuditRow::as_select())
                    .load(conn)
                    .map_err(map_diesel)?;
                let user_ids: Vec<String> = rows.iter().filter_map(|r| r.user_id.clone()).collect();
                let org_ids: Vec<String> = rows
                    .iter()
                    .filter_map(|r| r.organization_id.clone())
                    .collect();
                let user_rows: Vec<UserRow> = users::table
                    .filter(users::id.eq_any(user_ids))
                    .select(UserRow::as_select())
                    .load(conn)
                    .map_err(map_diesel)?;
                let users: HashMap<String, _> = hydrate(conn, user_rows)?
                    .into_iter()
                    .map(|u| (u.id.to_string(), u))
                    .collect();
                let orgs: HashMap<String, _> = organizations::table
                    .filter(organizations::id.eq_any(org_ids))
                    .select(OrganizationRow::as_select())
                    .load::<OrganizationRow>(conn)
                    .map_err(map_diesel)?
                    .into_iter()
                    .map(|o| Ok((o.id.clone(), o.into_entity()?)))
                    .collect::<Result<_, warden_domain::RepoError>>()?;
                let (live_apps, live_secrets) = oauth2_resources(conn, &rows)?;
                let logs = rows
                    .into_iter()
                    .map(|row| {
                        let (resource_deleted, resource_app_id) = match row.resource_type.as_str() {
                            APP => (!live_apps.contains(&row.resource_id), None),
                            SECRET => match live_secrets.get(&row.resource_id) {
                                Some(app) => (false, Some(app.clone())),
                                None => (true, None),
                            },
                            _ => (false, None),
                        };
                        let user = row.user_id.as_ref().and_then(|u| users.get(u).cloned());
                        let organization = row
                            .organization_id
                            .as_ref()
                            .and_then(|o| orgs.get(o).cloned());
                        Ok(AuditLog {
                            entry: row.into_entity()?,
                            user,
                            organization,
                            resource_deleted,
                            resource_app_id,
                        })
                    })
                    .collect::<Result<Vec<_>, warden_domain::RepoError>>()?;
                Ok((logs, count.min(count_cap)))
            })
            .await
    }
}
