//! SQL that PostgreSQL keeps prepared.
//!
//! diesel keeps a statement prepared on its connection only when it can tell that the
//! statement's text never varies with the values bound. It cannot tell that of raw SQL
//! (`sql_query`, `sql` fragments), so it sends every such statement with a separate
//! prepare round trip, and PostgreSQL parses and plans it each time — on the hot
//! write paths, most of the database's CPU. The raw SQL written here is fixed text
//! (a list is bound as one array parameter, never spelled out), and these two types
//! say so:
//!
//! - [`KeptQuery`]: a whole raw statement with its parameters.
//! - [`fragment`]: a fixed piece of SQL inside a query built with diesel's DSL.

use std::marker::PhantomData;

use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::pg::{Pg, PgConnection};
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{HasSqlType, Untyped};

/// A raw PostgreSQL statement whose parameters are written `$1`, `$2`, … in its
/// text, in [`bind`](Self::bind) order; a parameter may appear more than once.
pub(crate) struct KeptQuery<'a> {
    /// The text, split at the parameters: each piece of text followed by the index
    /// of the parameter there (none after the last).
    pieces: Vec<(String, Option<usize>)>,
    binds: Vec<Box<dyn Bind + 'a>>,
}

impl<'a> KeptQuery<'a> {
    /// A statement of the text `sql`; bind its parameters next.
    pub(crate) fn new(sql: &str) -> Self {
        let mut query = Self {
            pieces: Vec::new(),
            binds: Vec::new(),
        };
        query.set_sql(sql);
        query
    }

    /// Binds the next parameter.
    pub(crate) fn bind<T, V>(mut self, value: V) -> Self
    where
        T: 'a,
        Pg: HasSqlType<T>,
        V: ToSql<T, Pg> + 'a,
    {
        self.push_bind::<T, V>(value);
        self
    }

    /// [`bind`](Self::bind) for a statement still being built; returns how many are
    /// bound now, the number of this parameter.
    pub(crate) fn push_bind<T, V>(&mut self, value: V) -> usize
    where
        T: 'a,
        Pg: HasSqlType<T>,
        V: ToSql<T, Pg> + 'a,
    {
        self.binds.push(Box::new(Param::<T, V> {
            value,
            sql_type: PhantomData,
        }));
        self.binds.len()
    }

    /// Replaces the text (for a statement whose text is written after its binds).
    pub(crate) fn set_sql(&mut self, sql: &str) {
        self.pieces.clear();
        let mut text = String::new();
        let mut chars = sql.chars().peekable();
        while let Some(c) = chars.next() {
            // The digits after any character; put back unless it was a `$`.
            let digits: String =
                std::iter::from_fn(|| chars.next_if(char::is_ascii_digit)).collect();
            match (c, digits.parse::<usize>()) {
                ('$', Ok(n)) if n > 0 => {
                    self.pieces.push((std::mem::take(&mut text), Some(n - 1)));
                }
                _ => {
                    text.push(c);
                    text.push_str(&digits);
                }
            }
        }
        self.pieces.push((text, None));
    }
}

impl QueryFragment<Pg> for KeptQuery<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        for (text, param) in &self.pieces {
            out.push_sql(text);
            if let Some(index) = *param {
                let bind = self.binds.get(index).ok_or_else(|| {
                    diesel::result::Error::QueryBuilderError(
                        format!("${} is not bound", index + 1).into(),
                    )
                })?;
                bind.walk(out.reborrow())?;
            }
        }
        Ok(())
    }
}

impl QueryId for KeptQuery<'_> {
    type QueryId = ();

    // Kept by its text and parameter types rather than by its Rust type.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for KeptQuery<'_> {
    type SqlType = Untyped;
}

impl RunQueryDsl<PgConnection> for KeptQuery<'_> {}

/// One bound parameter, of whatever type.
trait Bind {
    fn walk<'b>(&'b self, out: AstPass<'_, 'b, Pg>) -> QueryResult<()>;
}

struct Param<T, V> {
    value: V,
    sql_type: PhantomData<T>,
}

impl<T, V> Bind for Param<T, V>
where
    Pg: HasSqlType<T>,
    V: ToSql<T, Pg>,
{
    fn walk<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        // Writes the next `$n` where the text had its own number: diesel numbers
        // the parameters in the order they are written, and binds them in that order.
        out.push_bind_param::<T, V>(&self.value)
    }
}

/// A fixed piece of SQL of type `T`, for a query built with diesel's DSL; unlike
/// `diesel::dsl::sql`, it does not stop the query from being kept prepared.
pub(crate) fn fragment<T>(sql: &'static str) -> Fragment<T> {
    Fragment {
        sql,
        sql_type: PhantomData,
    }
}

/// See [`fragment`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fragment<T> {
    sql: &'static str,
    sql_type: PhantomData<T>,
}

impl<T: diesel::sql_types::SqlType + diesel::expression::TypedExpressionType> Expression
    for Fragment<T>
{
    type SqlType = T;
}

impl<T, DB: diesel::backend::Backend> QueryFragment<DB> for Fragment<T> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(self.sql);
        Ok(())
    }
}

impl<T> QueryId for Fragment<T> {
    type QueryId = ();

    // Two fragments of one type may differ in text: keep them by text.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<T, QS> SelectableExpression<QS> for Fragment<T> where Self: Expression {}

impl<T, QS> AppearsOnTable<QS> for Fragment<T> where Self: Expression {}

impl<T, GB> ValidGrouping<GB> for Fragment<T> {
    // Like `sql`: it may aggregate; the database checks.
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::sql_types::{Integer, Text};

    fn sql_of(query: &KeptQuery<'_>) -> String {
        diesel::debug_query::<Pg, _>(query).to_string()
    }

    #[test]
    fn parameters_are_numbered_in_the_order_they_are_written() {
        let query = KeptQuery::new("SELECT $2, $1, $2 WHERE x = '$' AND y = 3")
            .bind::<Integer, _>(1)
            .bind::<Text, _>("two");
        let shown = sql_of(&query);
        assert!(
            shown.starts_with("SELECT $1, $2, $3 WHERE x = '$' AND y = 3"),
            "{shown}"
        );
        assert!(shown.ends_with(r#"-- binds: ["two", 1, "two"]"#), "{shown}");
    }

    #[test]
    fn an_unbound_parameter_is_an_error_not_a_silent_null() {
        let query = KeptQuery::new("SELECT $1, $2").bind::<Integer, _>(1);
        let mut builder = diesel::pg::PgQueryBuilder::default();
        let built = query.to_sql(&mut builder, &Pg);
        assert!(built.is_err(), "built {built:?}");
    }

    #[test]
    fn a_kept_query_can_be_kept_prepared_and_diesels_raw_sql_cannot() {
        let kept = KeptQuery::new("SELECT $1").bind::<Integer, _>(1);
        assert!(kept.is_safe_to_cache_prepared(&Pg).unwrap_or(false));
        let raw = diesel::sql_query("SELECT $1").bind::<Integer, _>(1);
        assert!(!raw.is_safe_to_cache_prepared(&Pg).unwrap_or(true));
    }

    #[test]
    fn inserts_of_users_and_audit_records_can_be_kept_prepared() {
        use crate::rows::AuditRow;
        use crate::schema::{audit_logs, users};
        use warden_domain::ids::UserId;
        use warden_domain::model::{AuditAction, AuditEntry, LoginType, NewUser, UserStatus};
        use warden_domain::values::{Email, Username};
        let now = time::OffsetDateTime::UNIX_EPOCH;
        // Rows as the repositories build them, with their nullable fields empty.
        let (user, _, _) = crate::repos::users::new_user_rows(&NewUser {
            id: UserId::new_random(),
            username: Username::from_trusted("oidc-user".into()),
            email: Email::from_trusted("oidc-user@example.com".into()),
            name: String::new(),
            hashed_password: None,
            status: UserStatus::Active,
            login_type: LoginType::Oidc,
            site_roles: Vec::new(),
            organization_ids: Vec::new(),
            now,
        });
        let insert = diesel::insert_into(users::table).values(&user);
        assert!(insert.is_safe_to_cache_prepared(&Pg).unwrap_or(false));
        let audit = AuditRow::from_entity(&AuditEntry::new(
            now,
            None,
            AuditAction::Create,
            "user",
            "u",
            "u",
        ));
        assert_eq!((&audit.user_id, &audit.request_id), (&None, &None));
        let insert = diesel::insert_into(audit_logs::table).values(&audit);
        assert!(insert.is_safe_to_cache_prepared(&Pg).unwrap_or(false));
    }

    #[derive(diesel::QueryableByName)]
    struct Prepared {
        #[diesel(sql_type = Text)]
        statement: String,
    }

    fn prepared(conn: &mut PgConnection) -> Vec<String> {
        diesel::sql_query("SELECT statement FROM pg_prepared_statements")
            .load::<Prepared>(conn)
            .map(|rows| rows.into_iter().map(|p| p.statement).collect())
            .unwrap_or_default()
    }

    #[test]
    fn postgres_keeps_kept_statements_prepared_and_not_diesels_raw_sql() {
        use crate::testing::TestDatabase;
        let db = TestDatabase::create(crate::Backend::Postgres);
        let Ok(mut conn) = PgConnection::establish(db.url()) else {
            panic!("cannot connect to {}", db.url());
        };
        for n in 0..2 {
            let one: Vec<Prepared> = KeptQuery::new("SELECT $1 || '-kept' AS statement")
                .bind::<Text, _>(n.to_string())
                .load(&mut conn)
                .unwrap_or_default();
            assert_eq!(
                one.first().map(|p| p.statement.clone()),
                Some(format!("{n}-kept"))
            );
            let raw = diesel::sql_query("SELECT $1 || '-raw' AS statement")
                .bind::<Text, _>(n.to_string())
                .load::<Prepared>(&mut conn)
                .unwrap_or_default();
            assert_eq!(raw.len(), 1);
            let fixed: Option<String> = diesel::select(fragment::<Text>("'fragment'"))
                .get_result(&mut conn)
                .ok();
            assert_eq!(fixed.as_deref(), Some("fragment"));
        }
        let statements = prepared(&mut conn);
        let count = |text: &str| statements.iter().filter(|s| s.contains(text)).count();
        assert_eq!(count("-kept"), 1, "{statements:?}");
        assert_eq!(count("'fragment'"), 1, "{statements:?}");
        assert_eq!(count("-raw"), 0, "{statements:?}");
    }
}
