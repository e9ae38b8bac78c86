//! PostgreSQL writes sent as one statement with their audit record.
//!
//! A write made of a few inserts and its audit record costs, in a transaction, a round
//! trip per statement plus `BEGIN` and `COMMIT`, and each trip is a wake-up of a
//! PostgreSQL backend and of a pool thread. Sent as one statement — the inserts as
//! data-modifying `WITH` clauses, the audit record as the statement's own insert — it is
//! one round trip, and atomic without a transaction around it: callers frame it with
//! [`Database::write_statement`](crate::Database::write_statement). Foreign keys are
//! checked at the end of the statement, so a clause may refer to rows another clause
//! inserts. SQLite, where statements cost no round trip, keeps the plain inserts.
//!
//! Each caller adds the same clauses every time, so the statement is kept prepared
//! (see [`crate::kept`]).

use diesel::pg::{Pg, PgConnection};
use diesel::prelude::*;
use diesel::serialize::ToSql;
use diesel::sql_types::{HasSqlType, Integer, Nullable, Text, Timestamp};
use warden_domain::RepoError;

use crate::error::map_diesel;
use crate::kept::KeptQuery;
use crate::rows::AuditRow;

/// A statement being built: its SQL so far and its bound parameters.
pub(crate) struct Statement<'a> {
    ctes: Vec<String>,
    query: KeptQuery<'a>,
}

impl<'a> Statement<'a> {
    pub(crate) fn new() -> Self {
        Self {
            ctes: Vec::new(),
            // The SQL is set once complete; the binds accumulate meanwhile.
            query: KeptQuery::new(""),
        }
    }

    /// The placeholder of the next parameter, bound to `value`.
    pub(crate) fn param<T, V>(&mut self, value: V) -> String
    where
        T: 'a,
        Pg: HasSqlType<T>,
        V: ToSql<T, Pg> + 'a,
    {
        format!("${}", self.query.push_bind::<T, V>(value))
    }

    /// Adds a data-modifying clause (`INSERT … RETURNING 1`), named `name`.
    pub(crate) fn with(&mut self, name: &str, sql: String) {
        self.ctes.push(format!("{name} AS ({sql})"));
    }

    /// Sends the clauses with `audit` as the statement's own insert.
    pub(crate) fn execute_with_audit(
        mut self,
        conn: &mut PgConnection,
        audit: &'a AuditRow,
    ) -> Result<(), RepoError> {
        let values = [
            self.param::<Text, _>(&audit.id),
            self.param::<Timestamp, _>(audit.time),
            self.param::<Nullable<Text>, _>(&audit.user_id),
            self.param::<Nullable<Text>, _>(&audit.organization_id),
            self.param::<Text, _>(&audit.action),
            self.param::<Text, _>(&audit.resource_type),
            self.param::<Text, _>(&audit.resource_id),
            self.param::<Text, _>(&audit.resource_target),
            self.param::<Text, _>(&audit.diff),
            self.param::<Nullable<Text>, _>(&audit.request_id),
            self.param::<Text, _>(&audit.ip),
            self.param::<Text, _>(&audit.user_agent),
            self.param::<Integer, _>(audit.status_code),
            self.param::<Text, _>(&audit.additional_fields),
        ]
        .join(", ");
        let with = if self.ctes.is_empty() {
            String::new()
        } else {
            format!("WITH {} ", self.ctes.join(", "))
        };
        let sql = format!(
            "{with}INSERT INTO audit_logs (id, time, user_id, organization_id, action, \
             resource_type, resource_id, resource_target, diff, request_id, ip, user_agent, \
             status_code, additional_fields) VALUES ({values})"
        );
        self.query.set_sql(&sql);
        self.query.execute(conn).map(drop).map_err(map_diesel)
    }
}
