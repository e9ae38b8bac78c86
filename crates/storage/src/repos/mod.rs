//! The diesel adapters of the domain's repository ports.

pub mod api_keys;
pub mod attempts;
pub mod audit;
pub mod git_ssh_keys;
pub mod groups;
pub mod idp_sync;
pub mod members;
pub mod oauth2;
pub(crate) mod one_statement;
pub mod organizations;
pub mod replicas;
pub mod roles;
pub mod scim;
pub(crate) mod scim_groups;
pub mod user_links;
pub mod users;

use diesel::prelude::*;
use warden_domain::RepoError;
use warden_domain::model::AuditEntry;

use crate::db::AnyConnection;
use crate::error::map_diesel;
use crate::rows::AuditRow;
use crate::schema::audit_logs;

/// Largest `IN (…)` list sent in one statement (under both engines' bind limits).
pub(crate) const IN_CHUNK: usize = 10_000;

/// Writes an audit record; called inside the transaction of the change it records.
pub(crate) fn insert_audit(conn: &mut AnyConnection, entry: &AuditEntry) -> Result<(), RepoError> {
    diesel::insert_into(audit_logs::table)
        .values(AuditRow::from_entity(entry))
        .execute(conn)
        .map_err(map_diesel)?;
    Ok(())
}

/// Several audit records: one statement on PostgreSQL (a round trip each would
/// dominate a sync that changes many memberships), one per record on SQLite, where
/// statements cost no round trip.
pub(crate) fn insert_audits(
    conn: &mut AnyConnection,
    entries: &[AuditEntry],
) -> Result<(), RepoError> {
    match conn {
        AnyConnection::Postgresql(pg) if entries.len() > 1 => {
            let rows: Vec<AuditRow> = entries.iter().map(AuditRow::from_entity).collect();
            // 14 parameters a row, well under PostgreSQL's 65 535 per statement.
            for chunk in rows.chunks(1_000) {
                diesel::insert_into(audit_logs::table)
                    .values(chunk)
                    .execute(pg)
                    .map_err(map_diesel)?;
            }
            Ok(())
        }
        _ => entries.iter().try_for_each(|e| insert_audit(conn, e)),
    }
}
