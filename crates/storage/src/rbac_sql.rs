//! RBAC list filters as SQL: a [`Filter`] compiled by `warden-rbac` for one subject,
//! action and resource type becomes a `WHERE` clause, so a listing returns exactly
//! what the caller may see in one query on either backend.

use diesel::dsl::sql;
use diesel::expression::BoxableExpression;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use warden_rbac::Filter;

use crate::db::MultiBackend;
use crate::schema::{organizations, users};

/// A boxed boolean condition over the rows of `QS`.
pub type Predicate<QS> = Box<dyn BoxableExpression<QS, MultiBackend, SqlType = Bool>>;

fn always<QS>(value: bool) -> Predicate<QS>
where
    diesel::expression::SqlLiteral<Bool>: BoxableExpression<QS, MultiBackend, SqlType = Bool>,
{
    Box::new(sql::<Bool>(if value { "1 = 1" } else { "1 = 0" }))
}

/// Translates the combinators; `leaf` maps each leaf to a condition on this table.
fn translate<QS: 'static>(filter: &Filter, leaf: &dyn Fn(&Filter) -> Predicate<QS>) -> Predicate<QS>
where
    diesel::expression::SqlLiteral<Bool>: BoxableExpression<QS, MultiBackend, SqlType = Bool>,
    diesel::dsl::And<Predicate<QS>, Predicate<QS>>:
        BoxableExpression<QS, MultiBackend, SqlType = Bool>,
    diesel::dsl::Or<Predicate<QS>, Predicate<QS>>:
        BoxableExpression<QS, MultiBackend, SqlType = Bool>,
{
    match filter {
        Filter::All => always(true),
        Filter::Nothing => always(false),
        Filter::And(parts) => parts
            .iter()
            .map(|p| translate(p, leaf))
            .reduce(|a, b| Box::new(a.and(b)))
            .unwrap_or_else(|| always(true)),
        Filter::Or(parts) => parts
            .iter()
            .map(|p| translate(p, leaf))
            .reduce(|a, b| Box::new(a.or(b)))
            .unwrap_or_else(|| always(false)),
        other => leaf(other),
    }
}

/// Users: the RBAC object of a user has the user's id as id and owner, no
/// organization, and no ACLs.
pub fn users_visible(filter: &Filter) -> Predicate<users::table> {
    translate(filter, &|leaf| match leaf {
        Filter::IdIn(ids) => {
            Box::new(users::id.eq_any(ids.iter().map(ToString::to_string).collect::<Vec<_>>()))
        }
        Filter::OwnerIs(owner) => Box::new(users::id.eq(owner.to_string())),
        Filter::OrgIsNull => always(true),
        _ => always(false),
    })
}

/// Organizations: the RBAC object of an organization has its id as id and as
/// organization, no owner, and no ACLs.
pub fn organizations_visible(filter: &Filter) -> Predicate<organizations::table> {
    translate(filter, &|leaf| match leaf {
        Filter::IdIn(ids) | Filter::OrgIn(ids) => Box::new(
            organizations::id.eq_any(ids.iter().map(ToString::to_string).collect::<Vec<_>>()),
        ),
        _ => always(false),
    })
}
