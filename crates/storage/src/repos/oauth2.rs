//! [`OAuth2Repo`] on diesel: applications, client secrets, codes, refresh-token
//! families, and the API keys the grants issue, each change one transaction.

use std::sync::Arc;

use async_trait::async_trait;
use diesel::prelude::*;
use time::{OffsetDateTime, PrimitiveDateTime};
use uuid::Uuid;
use warden_domain::RepoError;
use warden_domain::ids::{ApiKeyId, OAuth2AppId, OAuth2SecretId, UserId};
use warden_domain::model::{AuditEntry, UserStatus};
use warden_domain::oauth2::{
    AccessTokenInfo, ClientMetadata, ClientRegistration, ClientType, DeviceAuthorization,
    DevicePoll, DeviceStatus, OAuth2App, OAuth2AppSecret, OAuth2Code, Redemption, RefreshToken,
    TokenIssue,
};
use warden_domain::ports::{ChangeTag, OAuth2Repo, RepoResult};

use crate::Touched;
use crate::cache::GenerationCache;
use crate::db::{AnyConnection, Database, lock_key};
use crate::error::map_diesel;
use crate::kept::KeptQuery;
use crate::repos::insert_audit;
use crate::rows::{ApiKeyRow, from_db, parse_uuid, to_db};
use crate::schema::{
    api_keys, oauth2_app_redirect_uris, oauth2_app_secrets, oauth2_apps, oauth2_codes,
    oauth2_device_codes, oauth2_registrations, oauth2_tokens, users,
};

/// Advisory-lock namespace of OAuth2 codes and token families.
const LOCK_NAMESPACE: u8 = 40;

fn json(v: &[String]) -> Result<String, RepoError> {
    serde_json::to_string(v).map_err(|e| RepoError::Internal(e.to_string()))
}

fn unjson(what: &str, raw: &str) -> Result<Vec<String>, RepoError> {
    serde_json::from_str(raw).map_err(|e| RepoError::Internal(format!("corrupt {what}: {e}")))
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = oauth2_apps)]
struct AppRow {
    id: String,
    name: String,
    callback_url: String,
    icon: String,
    client_type: String,
    created_at: PrimitiveDateTime,
    updated_at: PrimitiveDateTime,
    grant_types: String,
    /// The registered scope allowlist, space-separated; `NULL`: unrestricted.
    scope: Option<String>,
}

impl AppRow {
    fn from_entity(a: &OAuth2App) -> Result<Self, RepoError> {
        Ok(Self {
            id: a.id.to_string(),
            name: a.name.clone(),
            callback_url: a.callback_url.clone(),
            icon: a.icon.clone(),
            client_type: a.client_type.as_str().to_owned(),
            created_at: to_db(a.created_at),
            updated_at: to_db(a.updated_at),
            grant_types: json(&a.grant_types)?,
            scope: a.allowed_scopes.as_ref().map(|s| s.join(" ")),
        })
    }

    fn into_entity(self, mut redirect_uris: Vec<String>) -> Result<OAuth2App, RepoError> {
        if redirect_uris.is_empty() {
            redirect_uris.push(self.callback_url.clone());
        }
        Ok(OAuth2App {
            id: parse_uuid("oauth2 app id", &self.id)?,
            name: self.name,
            callback_url: self.callback_url,
            redirect_uris,
            icon: self.icon,
            client_type: ClientType::parse(&self.client_type).ok_or_else(|| {
                RepoError::Internal(format!("corrupt client type {:?}", self.client_type))
            })?,
            grant_types: unjson("grant types", &self.grant_types)?,
            allowed_scopes: self.scope.map(|s| {
                s.split(' ')
                    .filter(|name| !name.is_empty())
                    .map(str::to_owned)
                    .collect()
            }),
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

/// Loads the redirect URIs of the applications in `rows`, in registration order.
fn with_uris(conn: &mut AnyConnection, rows: Vec<AppRow>) -> Result<Vec<OAuth2App>, RepoError> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut uris: std::collections::HashMap<String, Vec<String>> = Default::default();
    for chunk in ids.chunks(super::IN_CHUNK) {
        let found = oauth2_app_redirect_uris::table
            .filter(oauth2_app_redirect_uris::app_id.eq_any(chunk))
            .order((
                oauth2_app_redirect_uris::app_id,
                oauth2_app_redirect_uris::position,
            ))
            .select((
                oauth2_app_redirect_uris::app_id,
                oauth2_app_redirect_uris::uri,
            ))
            .load::<(String, String)>(conn)
            .map_err(map_diesel)?;
        for (app, uri) in found {
            uris.entry(app).or_default().push(uri);
        }
    }
    rows.into_iter()
        .map(|r| {
            let list = uris.remove(&r.id).unwrap_or_default();
            r.into_entity(list)
        })
        .collect()
}

fn load_app(conn: &mut AnyConnection, id: &str) -> Result<OAuth2App, RepoError> {
    let row = oauth2_apps::table
        .find(id)
        .select(AppRow::as_select())
        .first(conn)
        .map_err(map_diesel)?;
    with_uris(conn, vec![row])?.pop().ok_or(RepoError::NotFound)
}

/// Replaces an application's redirect URIs.
fn write_uris(conn: &mut AnyConnection, app: &str, uris: &[String]) -> Result<(), RepoError> {
    diesel::delete(
        oauth2_app_redirect_uris::table.filter(oauth2_app_redirect_uris::app_id.eq(app)),
    )
    .execute(conn)
    .map_err(map_diesel)?;
    for (position, uri) in uris.iter().enumerate() {
        let position = i32::try_from(position)
            .map_err(|_| RepoError::Internal("too many redirect URIs".into()))?;
        diesel::insert_into(oauth2_app_redirect_uris::table)
            .values((
                oauth2_app_redirect_uris::app_id.eq(app),
                oauth2_app_redirect_uris::position.eq(position),
                oauth2_app_redirect_uris::uri.eq(uri),
            ))
            .execute(conn)
            .map_err(map_diesel)?;
    }
    Ok(())
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = oauth2_registrations)]
struct RegistrationRow {
    app_id: String,
    token_prefix: String,
    hashed_token: Vec<u8>,
    metadata: String,
    created_at: PrimitiveDateTime,
    updated_at: PrimitiveDateTime,
}

impl RegistrationRow {
    fn from_entity(r: &ClientRegistration) -> Result<Self, RepoError> {
        Ok(Self {
            app_id: r.app_id.to_string(),
            token_prefix: r.token_prefix.clone(),
            hashed_token: r.hashed_token.clone(),
            metadata: serde_json::to_string(&r.metadata)
                .map_err(|e| RepoError::Internal(e.to_string()))?,
            created_at: to_db(r.created_at),
            updated_at: to_db(r.updated_at),
        })
    }

    fn into_entity(self) -> Result<ClientRegistration, RepoError> {
        let metadata: ClientMetadata = serde_json::from_str(&self.metadata)
            .map_err(|e| RepoError::Internal(format!("corrupt client metadata: {e}")))?;
        Ok(ClientRegistration {
            app_id: parse_uuid("oauth2 app id", &self.app_id)?,
            token_prefix: self.token_prefix,
            hashed_token: self.hashed_token,
            metadata,
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = oauth2_device_codes)]
struct DeviceRow {
    id: String,
    prefix: String,
    hashed_secret: Vec<u8>,
    user_code_hash: String,
    app_id: String,
    user_id: Option<String>,
    scopes: String,
    resource: Option<String>,
    status: String,
    interval_seconds: i64,
    created_at: PrimitiveDateTime,
    expires_at: PrimitiveDateTime,
    last_polled_at: Option<PrimitiveDateTime>,
}

impl DeviceRow {
    fn from_entity(d: &DeviceAuthorization) -> Result<Self, RepoError> {
        Ok(Self {
            id: d.id.to_string(),
            prefix: d.prefix.clone(),
            hashed_secret: d.hashed_secret.clone(),
            user_code_hash: d.user_code_hash.clone(),
            app_id: d.app_id.to_string(),
            user_id: d.user_id.map(|u| u.to_string()),
            scopes: json(&d.scopes)?,
            resource: d.resource.clone(),
            status: d.status.as_str().to_owned(),
            interval_seconds: d.interval_seconds,
            created_at: to_db(d.created_at),
            expires_at: to_db(d.expires_at),
            last_polled_at: d.last_polled_at.map(to_db),
        })
    }

    fn into_entity(self) -> Result<DeviceAuthorization, RepoError> {
        Ok(DeviceAuthorization {
            id: parse_uuid("device authorization id", &self.id)?,
            prefix: self.prefix,
            hashed_secret: self.hashed_secret,
            user_code_hash: self.user_code_hash,
            app_id: parse_uuid("oauth2 app id", &self.app_id)?,
            user_id: self
                .user_id
                .as_deref()
                .map(|u| parse_uuid::<UserId>("user id", u))
                .transpose()?,
            scopes: unjson("device scopes", &self.scopes)?,
            resource: self.resource,
            status: DeviceStatus::parse(&self.status).ok_or_else(|| {
                RepoError::Internal(format!("corrupt device status {:?}", self.status))
            })?,
            interval_seconds: self.interval_seconds,
            created_at: from_db(self.created_at),
            expires_at: from_db(self.expires_at),
            last_polled_at: self.last_polled_at.map(from_db),
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = oauth2_app_secrets)]
struct SecretRow {
    id: String,
    app_id: String,
    prefix: String,
    hashed_secret: Vec<u8>,
    display_secret: String,
    created_at: PrimitiveDateTime,
    last_used_at: Option<PrimitiveDateTime>,
}

impl SecretRow {
    fn from_entity(s: &OAuth2AppSecret) -> Self {
        Self {
            id: s.id.to_string(),
            app_id: s.app_id.to_string(),
            prefix: s.prefix.clone(),
            hashed_secret: s.hashed_secret.clone(),
            display_secret: s.display_secret.clone(),
            created_at: to_db(s.created_at),
            last_used_at: s.last_used_at.map(to_db),
        }
    }

    fn into_entity(self) -> Result<OAuth2AppSecret, RepoError> {
        Ok(OAuth2AppSecret {
            id: parse_uuid("oauth2 secret id", &self.id)?,
            app_id: parse_uuid("oauth2 app id", &self.app_id)?,
            prefix: self.prefix,
            hashed_secret: self.hashed_secret,
            display_secret: self.display_secret,
            created_at: from_db(self.created_at),
            last_used_at: self.last_used_at.map(from_db),
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = oauth2_codes)]
struct CodeRow {
    id: String,
    prefix: String,
    hashed_secret: Vec<u8>,
    app_id: String,
    user_id: String,
    redirect_uri: String,
    redirect_uri_given: bool,
    code_challenge: String,
    scopes: String,
    resource: Option<String>,
    created_at: PrimitiveDateTime,
    expires_at: PrimitiveDateTime,
    used_at: Option<PrimitiveDateTime>,
}

impl CodeRow {
    fn from_entity(c: &OAuth2Code) -> Result<Self, RepoError> {
        Ok(Self {
            id: c.id.to_string(),
            prefix: c.prefix.clone(),
            hashed_secret: c.hashed_secret.clone(),
            app_id: c.app_id.to_string(),
            user_id: c.user_id.to_string(),
            redirect_uri: c.redirect_uri.clone(),
            redirect_uri_given: c.redirect_uri_given,
            code_challenge: c.code_challenge.clone(),
            scopes: json(&c.scopes)?,
            resource: c.resource.clone(),
            created_at: to_db(c.created_at),
            expires_at: to_db(c.expires_at),
            used_at: c.used_at.map(to_db),
        })
    }

    fn into_entity(self) -> Result<OAuth2Code, RepoError> {
        Ok(OAuth2Code {
            id: parse_uuid("oauth2 code id", &self.id)?,
            prefix: self.prefix,
            hashed_secret: self.hashed_secret,
            app_id: parse_uuid("oauth2 app id", &self.app_id)?,
            user_id: parse_uuid("user id", &self.user_id)?,
            redirect_uri: self.redirect_uri,
            redirect_uri_given: self.redirect_uri_given,
            code_challenge: self.code_challenge,
            scopes: unjson("code scopes", &self.scopes)?,
            resource: self.resource,
            created_at: from_db(self.created_at),
            expires_at: from_db(self.expires_at),
            used_at: self.used_at.map(from_db),
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = oauth2_tokens)]
struct TokenRow {
    id: String,
    prefix: String,
    hashed_secret: Vec<u8>,
    family_id: String,
    app_id: String,
    user_id: String,
    secret_id: Option<String>,
    api_key_id: String,
    scopes: String,
    audience: Option<String>,
    created_at: PrimitiveDateTime,
    expires_at: PrimitiveDateTime,
    rotated_at: Option<PrimitiveDateTime>,
}

impl TokenRow {
    fn from_entity(t: &RefreshToken) -> Result<Self, RepoError> {
        Ok(Self {
            id: t.id.to_string(),
            prefix: t.prefix.clone(),
            hashed_secret: t.hashed_secret.clone(),
            family_id: t.family_id.to_string(),
            app_id: t.app_id.to_string(),
            user_id: t.user_id.to_string(),
            secret_id: t.secret_id.map(|s| s.to_string()),
            api_key_id: t.api_key_id.0.clone(),
            scopes: json(&t.scopes)?,
            audience: t.audience.clone(),
            created_at: to_db(t.created_at),
            expires_at: to_db(t.expires_at),
            rotated_at: t.rotated_at.map(to_db),
        })
    }

    fn into_entity(self) -> Result<RefreshToken, RepoError> {
        Ok(RefreshToken {
            id: parse_uuid("oauth2 token id", &self.id)?,
            prefix: self.prefix,
            hashed_secret: self.hashed_secret,
            family_id: parse_uuid("oauth2 family id", &self.family_id)?,
            app_id: parse_uuid("oauth2 app id", &self.app_id)?,
            user_id: parse_uuid("user id", &self.user_id)?,
            secret_id: self
                .secret_id
                .as_deref()
                .map(|s| parse_uuid::<OAuth2SecretId>("oauth2 secret id", s))
                .transpose()?,
            api_key_id: ApiKeyId(self.api_key_id),
            scopes: unjson("token scopes", &self.scopes)?,
            audience: self.audience,
            created_at: from_db(self.created_at),
            expires_at: from_db(self.expires_at),
            rotated_at: self.rotated_at.map(from_db),
        })
    }
}

/// Revokes the refresh tokens `find` selects, with their access tokens, passing again
/// until a pass finds none.
///
/// The passes matter on PostgreSQL, where a refresh rotation is one statement that
/// takes no lock but the presented token's row: a rotation holding that row when a
/// pass reaches it commits its successor after the pass read, and only the next pass
/// sees it. Token rows go before their access tokens, the order a rotation takes them
/// in, so the two cannot deadlock. On SQLite, with one writer at a time, the second
/// pass finds nothing.
fn revoke_all<F>(conn: &mut AnyConnection, find: F) -> Result<(), RepoError>
where
    F: Fn(&mut AnyConnection) -> QueryResult<Vec<(String, String)>>,
{
    loop {
        let rows = find(conn).map_err(map_diesel)?;
        if rows.is_empty() {
            return Ok(());
        }
        let (ids, keys): (Vec<String>, Vec<String>) = rows.into_iter().unzip();
        for chunk in ids.chunks(super::IN_CHUNK) {
            diesel::delete(oauth2_tokens::table.filter(oauth2_tokens::id.eq_any(chunk)))
                .execute(conn)
                .map_err(map_diesel)?;
        }
        for chunk in keys.chunks(super::IN_CHUNK) {
            diesel::delete(api_keys::table.filter(api_keys::id.eq_any(chunk)))
                .execute(conn)
                .map_err(map_diesel)?;
        }
    }
}

/// Before an application or a client secret is deleted with what it issued: on
/// PostgreSQL, locks its row for the rest of the transaction. A grant in flight holds a
/// key-share lock on it (its refresh token's foreign key), so this waits until that
/// grant committed, and the revocation that follows sees what it issued; a grant that
/// starts later waits for the deletion and then fails its foreign key check. Without
/// it, the successor would be removed only by `ON DELETE CASCADE`, which leaves its
/// access token behind. On SQLite writers already take turns.
fn lock_for_deletion(conn: &mut AnyConnection, parent: Parent, id: &str) -> Result<(), RepoError> {
    if let AnyConnection::Postgresql(pg) = conn {
        let sql = match parent {
            Parent::App => "SELECT 1 FROM oauth2_apps WHERE id = $1 FOR UPDATE",
            Parent::Secret => "SELECT 1 FROM oauth2_app_secrets WHERE id = $1 FOR UPDATE",
        };
        KeptQuery::new(sql)
            .bind::<diesel::sql_types::Text, _>(id)
            .execute(pg)
            .map_err(map_diesel)?;
    }
    Ok(())
}

/// What [`lock_for_deletion`] locks: rows that issued tokens reference.
enum Parent {
    App,
    Secret,
}

fn revoke_family_in(conn: &mut AnyConnection, family: &str) -> Result<(), RepoError> {
    revoke_all(conn, |conn| {
        oauth2_tokens::table
            .filter(oauth2_tokens::family_id.eq(family))
            .select((oauth2_tokens::id, oauth2_tokens::api_key_id))
            .load(conn)
    })
}

/// What presenting a refresh token did.
enum Rotation {
    /// New tokens were written; the presented one is rotated (now, or within the grace
    /// window before).
    Issued,
    /// The presented token was rotated before the grace window: nothing was issued,
    /// and its family is to be revoked.
    Replayed,
    /// The presented token is gone (its family was revoked).
    Missing,
}

/// A rotation on SQLite, where statements cost no round trip: read the presented token,
/// mark it rotated and drop its access token (unless a concurrent refresh within the
/// grace window did), then write the new tokens.
fn rotate_step_by_step(
    conn: &mut AnyConnection,
    old: Uuid,
    grace_since: OffsetDateTime,
    issue: &TokenIssue,
) -> Result<Rotation, RepoError> {
    let row = match oauth2_tokens::table
        .find(old.to_string())
        .select((oauth2_tokens::api_key_id, oauth2_tokens::rotated_at))
        .first::<(String, Option<PrimitiveDateTime>)>(conn)
        .optional()
        .map_err(map_diesel)?
    {
        Some(row) => row,
        None => return Ok(Rotation::Missing),
    };
    match row.1.map(from_db) {
        Some(rotated) if rotated < grace_since => return Ok(Rotation::Replayed),
        Some(_) => {}
        None => {
            diesel::update(oauth2_tokens::table.find(old.to_string()))
                .set(oauth2_tokens::rotated_at.eq(Some(to_db(issue.now))))
                .execute(conn)
                .map_err(map_diesel)?;
            diesel::delete(api_keys::table.find(&row.0))
                .execute(conn)
                .map_err(map_diesel)?;
        }
    }
    issue_in(conn, issue)?;
    Ok(Rotation::Issued)
}

/// The same rotation on PostgreSQL as one statement, sent on its own: no transaction
/// around it and no lock but the presented token's row, one round trip in all. The
/// refresh grant is the hottest write there is.
fn rotate_in_one_statement(
    conn: &mut diesel::PgConnection,
    old: Uuid,
    grace_since: OffsetDateTime,
    issue: &TokenIssue,
) -> Result<Rotation, RepoError> {
    #[derive(QueryableByName)]
    struct Outcome {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        found: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        issued: i64,
    }

    let statement = RotationStatement {
        old: old.to_string(),
        grace_since: to_db(grace_since),
        now: to_db(issue.now),
        secret_stale_before: to_db(issue.now - SECRET_USE_PRECISION),
        key: ApiKeyRow::from_entity(&issue.api_key)?,
        token: TokenRow::from_entity(&issue.refresh)?,
    };
    let outcome: Outcome = statement.get_result(conn).map_err(map_diesel)?;
    Ok(match (outcome.found, outcome.issued) {
        (0, _) => Rotation::Missing,
        (_, 0) => Rotation::Replayed,
        _ => Rotation::Issued,
    })
}

/// The PostgreSQL rotation statement. A type of its own rather than `sql_query`, so
/// that diesel prepares it once per connection instead of PostgreSQL parsing and
/// planning six sub-statements on every refresh.
///
/// `rotated` marks the presented token rotated unless it already was, and returns its
/// rotation time. Being an `UPDATE`, it locks the row and reads its latest version: a
/// concurrent rotation of the same token is waited for, and seen; a token deleted
/// meanwhile (its family revoked) returns nothing, and nothing is issued. `issuing`
/// holds a row when the token was rotated now or within the grace window; `retired`
/// drops its access token (already gone after the first rotation); `new_key` and
/// `new_token` write the new pair and `secret_used` records the client secret's use to
/// the minute, all three only when issuing. The result says whether the token was
/// found and whether anything was issued.
struct RotationStatement {
    old: String,
    grace_since: PrimitiveDateTime,
    now: PrimitiveDateTime,
    secret_stale_before: PrimitiveDateTime,
    key: ApiKeyRow,
    token: TokenRow,
}

/// Marks [`RotationStatement`]'s SQL as always the same text, so diesel caches it.
struct RotationStatementId;

impl diesel::query_builder::QueryId for RotationStatement {
    type QueryId = RotationStatementId;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl diesel::query_builder::Query for RotationStatement {
    type SqlType = diesel::sql_types::Untyped;
}

impl diesel::RunQueryDsl<diesel::PgConnection> for RotationStatement {}

/// Pushes bind parameters separated by commas: `binds!(out; Text => &a, BigInt => &b)`.
macro_rules! binds {
    ($out:ident; $first_type:ty => $first:expr $(, $type:ty => $value:expr)* $(,)?) => {{
        $out.push_bind_param::<$first_type, _>($first)?;
        $(
            $out.push_sql(", ");
            $out.push_bind_param::<$type, _>($value)?;
        )*
    }};
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for RotationStatement {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        use diesel::sql_types::{BigInt, Binary, Nullable, Text, Timestamp};
        let (key, token) = (&self.key, &self.token);
        out.push_sql(
            "WITH rotated AS (UPDATE oauth2_tokens SET rotated_at = coalesce(rotated_at, ",
        );
        binds!(out; Timestamp => &self.now);
        out.push_sql(") WHERE id = ");
        binds!(out; Text => &self.old);
        out.push_sql(" RETURNING rotated_at, api_key_id)");
        out.push_sql(", issuing AS (SELECT 1 FROM rotated WHERE rotated_at >= ");
        binds!(out; Timestamp => &self.grace_since);
        // A scalar subquery, so that the key is found through its primary key.
        out.push_sql(
            "), retired AS (DELETE FROM api_keys WHERE id = (SELECT api_key_id FROM rotated))",
        );
        out.push_sql(
            ", new_key AS (INSERT INTO api_keys (id, user_id, hashed_secret, last_used, \
             expires_at, created_at, updated_at, login_type, lifetime_seconds, token_name, \
             scopes, allow_list) SELECT ",
        );
        binds!(out;
            Text => &key.id,
            Text => &key.user_id,
            Binary => &key.hashed_secret,
            Timestamp => &key.last_used,
            Timestamp => &key.expires_at,
            Timestamp => &key.created_at,
            Timestamp => &key.updated_at,
            Text => &key.login_type,
            BigInt => &key.lifetime_seconds,
            Text => &key.token_name,
            Text => &key.scopes,
            Text => &key.allow_list,
        );
        out.push_sql(" WHERE EXISTS (SELECT 1 FROM issuing))");
        out.push_sql(
            ", new_token AS (INSERT INTO oauth2_tokens (id, prefix, hashed_secret, family_id, \
             app_id, user_id, secret_id, api_key_id, scopes, audience, created_at, expires_at) \
             SELECT ",
        );
        binds!(out;
            Text => &token.id,
            Text => &token.prefix,
            Binary => &token.hashed_secret,
            Text => &token.family_id,
            Text => &token.app_id,
            Text => &token.user_id,
            Nullable<Text> => &token.secret_id,
            Text => &token.api_key_id,
            Text => &token.scopes,
            Nullable<Text> => &token.audience,
            Timestamp => &token.created_at,
            Timestamp => &token.expires_at,
        );
        out.push_sql(" WHERE EXISTS (SELECT 1 FROM issuing))");
        out.push_sql(", secret_used AS (UPDATE oauth2_app_secrets SET last_used_at = ");
        binds!(out; Timestamp => &self.now);
        out.push_sql(" WHERE id = ");
        binds!(out; Nullable<Text> => &token.secret_id);
        out.push_sql(" AND (last_used_at IS NULL OR last_used_at < ");
        binds!(out; Timestamp => &self.secret_stale_before);
        out.push_sql(") AND EXISTS (SELECT 1 FROM issuing))");
        out.push_sql(
            " SELECT (SELECT count(*) FROM rotated) AS found, \
             (SELECT count(*) FROM issuing) AS issued",
        );
        Ok(())
    }
}

/// Writes the access token and refresh token of a grant, and records the secret's use.
fn issue_in(conn: &mut AnyConnection, issue: &TokenIssue) -> Result<(), RepoError> {
    diesel::insert_into(api_keys::table)
        .values(ApiKeyRow::from_entity(&issue.api_key)?)
        .execute(conn)
        .map_err(map_diesel)?;
    diesel::insert_into(oauth2_tokens::table)
        .values(TokenRow::from_entity(&issue.refresh)?)
        .execute(conn)
        .map_err(map_diesel)?;
    if let Some(secret) = issue.secret_used {
        // To the minute: a busy client would otherwise rewrite its secret's row on
        // every grant.
        let stale = to_db(issue.now - SECRET_USE_PRECISION);
        diesel::update(
            oauth2_app_secrets::table.find(secret.to_string()).filter(
                oauth2_app_secrets::last_used_at
                    .is_null()
                    .or(oauth2_app_secrets::last_used_at.lt(stale)),
            ),
        )
        .set(oauth2_app_secrets::last_used_at.eq(Some(to_db(issue.now))))
        .execute(conn)
        .map_err(map_diesel)?;
    }
    Ok(())
}

/// How precisely a client secret's `last_used_at` is kept.
const SECRET_USE_PRECISION: time::Duration = time::Duration::minutes(1);

/// Name conflicts are reported on the `name` field.
fn name_conflict(e: RepoError) -> RepoError {
    match e {
        RepoError::Conflict(_) => RepoError::Conflict("name".into()),
        other => other,
    }
}

/// OAuth2 storage on PostgreSQL or SQLite.
#[derive(Debug, Clone)]
pub struct DieselOAuth2Repo {
    db: Database,
    /// Client authentication reads an app and one of its secrets on every token,
    /// revocation and introspection request; both change rarely.
    apps: Arc<GenerationCache<OAuth2AppId, OAuth2App>>,
    secrets: Arc<GenerationCache<String, OAuth2AppSecret>>,
    /// Access tokens as introspection sees them, retired by any change to their user
    /// (rotation, revocation, suspension all touch the user).
    access: Arc<GenerationCache<String, AccessTokenInfo>>,
}

impl DieselOAuth2Repo {
    pub fn new(db: Database) -> Self {
        Self {
            db,
            apps: Arc::default(),
            secrets: Arc::default(),
            access: Arc::default(),
        }
    }
}

#[async_trait]
impl OAuth2Repo for DieselOAuth2Repo {
    async fn create_app(&self, app: OAuth2App, audit: AuditEntry) -> RepoResult<OAuth2App> {
        let row = AppRow::from_entity(&app)?;
        self.db
            .write(move |conn| {
                diesel::insert_into(oauth2_apps::table)
                    .values(&row)
                    .execute(conn)
                    .map_err(map_diesel)
                    .map_err(name_conflict)?;
                write_uris(conn, &row.id, &app.redirect_uris)?;
                insert_audit(conn, &audit)?;
                load_app(conn, &row.id)
            })
            .await
    }

    async fn get_app(&self, id: OAuth2AppId) -> RepoResult<OAuth2App> {
        if let Some(app) = self.apps.get(&id, &self.db) {
            return Ok(app);
        }
        let generation = self.db.generation();
        let app = self
            .db
            .run(move |conn| load_app(conn, &id.to_string()))
            .await?;
        self.apps
            .put(id, generation, ChangeTag::OAuth2App(id), app.clone());
        Ok(app)
    }

    async fn list_apps(&self, authorized_by: Option<UserId>) -> RepoResult<Vec<OAuth2App>> {
        self.db
            .run(move |conn| {
                let mut query = oauth2_apps::table
                    .order((oauth2_apps::name, oauth2_apps::id))
                    .select(AppRow::as_select())
                    .into_boxed();
                if let Some(user) = authorized_by {
                    let ids: Vec<String> = oauth2_tokens::table
                        .filter(oauth2_tokens::user_id.eq(user.to_string()))
                        .select(oauth2_tokens::app_id)
                        .distinct()
                        .load(conn)
                        .map_err(map_diesel)?;
                    query = query.filter(oauth2_apps::id.eq_any(ids));
                }
                let rows = query.load::<AppRow>(conn).map_err(map_diesel)?;
                with_uris(conn, rows)
            })
            .await
    }

    async fn update_app(&self, app: OAuth2App, audit: AuditEntry) -> RepoResult<OAuth2App> {
        let row = AppRow::from_entity(&app)?;
        self.db
            .write(move |conn| {
                let updated = diesel::update(oauth2_apps::table.find(&row.id))
                    .set((
                        oauth2_apps::name.eq(&row.name),
                        oauth2_apps::callback_url.eq(&row.callback_url),
                        oauth2_apps::icon.eq(&row.icon),
                        oauth2_apps::updated_at.eq(row.updated_at),
                    ))
                    .execute(conn)
                    .map_err(map_diesel)
                    .map_err(name_conflict)?;
                if updated == 0 {
                    return Err(RepoError::NotFound);
                }
                write_uris(conn, &row.id, &app.redirect_uris)?;
                insert_audit(conn, &audit)?;
                load_app(conn, &row.id)
            })
            .await
    }

    async fn delete_app(&self, id: OAuth2AppId, audit: AuditEntry) -> RepoResult<()> {
        let id = id.to_string();
        self.db
            .write(move |conn| {
                lock_for_deletion(conn, Parent::App, &id)?;
                revoke_all(conn, |conn| {
                    oauth2_tokens::table
                        .filter(oauth2_tokens::app_id.eq(&id))
                        .select((oauth2_tokens::id, oauth2_tokens::api_key_id))
                        .load(conn)
                })?;
                // Secrets and codes go with the application (ON DELETE CASCADE).
                let deleted = diesel::delete(oauth2_apps::table.find(&id))
                    .execute(conn)
                    .map_err(map_diesel)?;
                if deleted == 0 {
                    return Err(RepoError::NotFound);
                }
                insert_audit(conn, &audit)
            })
            .await
    }

    async fn create_secret(
        &self,
        secret: OAuth2AppSecret,
        audit: AuditEntry,
    ) -> RepoResult<OAuth2AppSecret> {
        let row = SecretRow::from_entity(&secret);
        self.db
            .write(move |conn| {
                diesel::insert_into(oauth2_app_secrets::table)
                    .values(&row)
                    .execute(conn)
                    .map_err(map_diesel)?;
                insert_audit(conn, &audit)?;
                row.into_entity()
            })
            .await
    }

    async fn list_secrets(&self, app: OAuth2AppId) -> RepoResult<Vec<OAuth2AppSecret>> {
        self.db
            .run(move |conn| {
                oauth2_app_secrets::table
                    .filter(oauth2_app_secrets::app_id.eq(app.to_string()))
                    .order((oauth2_app_secrets::created_at, oauth2_app_secrets::id))
                    .select(SecretRow::as_select())
                    .load::<SecretRow>(conn)
                    .map_err(map_diesel)?
                    .into_iter()
                    .map(SecretRow::into_entity)
                    .collect()
            })
            .await
    }

    async fn secret_by_prefix(&self, prefix: &str) -> RepoResult<OAuth2AppSecret> {
        let key = prefix.to_owned();
        if let Some(secret) = self.secrets.get(&key, &self.db) {
            return Ok(secret);
        }
        let generation = self.db.generation();
        let prefix = key.clone();
        let secret = self
            .db
            .run(move |conn| {
                oauth2_app_secrets::table
                    .filter(oauth2_app_secrets::prefix.eq(&prefix))
                    .select(SecretRow::as_select())
                    .first(conn)
                    .map_err(map_diesel)?
                    .into_entity()
            })
            .await?;
        // `last_used_at` may lag in the cached copy; authentication does not read it.
        let tag = ChangeTag::OAuth2App(secret.app_id);
        self.secrets.put(key, generation, tag, secret.clone());
        Ok(secret)
    }

    async fn delete_secret(
        &self,
        app: OAuth2AppId,
        id: OAuth2SecretId,
        audit: AuditEntry,
    ) -> RepoResult<()> {
        let (app, id) = (app.to_string(), id.to_string());
        self.db
            .write(move |conn| {
                lock_for_deletion(conn, Parent::Secret, &id)?;
                revoke_all(conn, |conn| {
                    oauth2_tokens::table
                        .filter(oauth2_tokens::secret_id.eq(&id))
                        .select((oauth2_tokens::id, oauth2_tokens::api_key_id))
                        .load(conn)
                })?;
                let deleted = diesel::delete(
                    oauth2_app_secrets::table
                        .filter(oauth2_app_secrets::id.eq(&id))
                        .filter(oauth2_app_secrets::app_id.eq(&app)),
                )
                .execute(conn)
                .map_err(map_diesel)?;
                if deleted == 0 {
                    return Err(RepoError::NotFound);
                }
                insert_audit(conn, &audit)
            })
            .await
    }

    async fn create_code(&self, code: OAuth2Code) -> RepoResult<()> {
        let row = CodeRow::from_entity(&code)?;
        let now = to_db(code.created_at);
        // Codes are never cached: nothing to retire.
        self.db
            .write_touching(Touched::Only(Vec::new()), move |conn| {
                diesel::delete(
                    oauth2_codes::table
                        .filter(oauth2_codes::app_id.eq(&row.app_id))
                        .filter(oauth2_codes::user_id.eq(&row.user_id))
                        .filter(oauth2_codes::expires_at.lt(now)),
                )
                .execute(conn)
                .map_err(map_diesel)?;
                diesel::insert_into(oauth2_codes::table)
                    .values(&row)
                    .execute(conn)
                    .map_err(map_diesel)?;
                Ok(())
            })
            .await
    }

    async fn code_by_prefix(&self, prefix: &str) -> RepoResult<OAuth2Code> {
        let prefix = prefix.to_owned();
        self.db
            .run(move |conn| {
                oauth2_codes::table
                    .filter(oauth2_codes::prefix.eq(&prefix))
                    .select(CodeRow::as_select())
                    .first(conn)
                    .map_err(map_diesel)?
                    .into_entity()
            })
            .await
    }

    async fn redeem_code(&self, code: Uuid, issue: TokenIssue) -> RepoResult<Redemption> {
        // A code's family belongs to the user it was granted by: only that user's API
        // keys are issued or revoked here.
        let touched = Touched::Only(vec![ChangeTag::User(issue.api_key.user_id)]);
        self.db
            .write_locked(touched, lock_key(LOCK_NAMESPACE, &[code]), move |conn| {
                let id = code.to_string();
                let used: Option<PrimitiveDateTime> = oauth2_codes::table
                    .find(&id)
                    .select(oauth2_codes::used_at)
                    .first(conn)
                    .map_err(map_diesel)?;
                if used.is_some() {
                    revoke_family_in(conn, &id)?;
                    return Ok(Redemption::Replayed);
                }
                diesel::update(oauth2_codes::table.find(&id))
                    .set(oauth2_codes::used_at.eq(Some(to_db(issue.now))))
                    .execute(conn)
                    .map_err(map_diesel)?;
                issue_in(conn, &issue)?;
                Ok(Redemption::Issued)
            })
            .await
    }

    async fn refresh_by_prefix(&self, prefix: &str) -> RepoResult<RefreshToken> {
        let prefix = prefix.to_owned();
        self.db
            .run(move |conn| {
                oauth2_tokens::table
                    .filter(oauth2_tokens::prefix.eq(&prefix))
                    .select(TokenRow::as_select())
                    .first(conn)
                    .map_err(map_diesel)?
                    .into_entity()
            })
            .await
    }

    async fn rotate_refresh(
        &self,
        old: Uuid,
        grace_since: OffsetDateTime,
        issue: TokenIssue,
    ) -> RepoResult<Redemption> {
        let family = issue.refresh.family_id;
        // The family belongs to one user: only that user's API keys change.
        let touched = Touched::Only(vec![ChangeTag::User(issue.api_key.user_id)]);
        let rotation = self
            .db
            .write_statement(touched, move |conn| match conn {
                AnyConnection::Postgresql(pg) => {
                    rotate_in_one_statement(pg, old, grace_since, &issue)
                }
                AnyConnection::Sqlite(_) => rotate_step_by_step(conn, old, grace_since, &issue),
            })
            .await?;
        match rotation {
            Rotation::Issued => Ok(Redemption::Issued),
            Rotation::Missing => Err(RepoError::NotFound),
            Rotation::Replayed => {
                self.revoke_family(family).await?;
                Ok(Redemption::Replayed)
            }
        }
    }

    async fn access_token(&self, key: &ApiKeyId) -> RepoResult<AccessTokenInfo> {
        if let Some(info) = self.access.get(&key.0, &self.db) {
            return Ok(info);
        }
        let generation = self.db.generation();
        let id = key.0.clone();
        let key = key.0.clone();
        let info = self
            .db
            .run(move |conn| {
                let refresh = oauth2_tokens::table
                    .filter(oauth2_tokens::api_key_id.eq(&key))
                    .select(TokenRow::as_select())
                    .first(conn)
                    .map_err(map_diesel)?;
                let api_key = api_keys::table
                    .find(&key)
                    .select(ApiKeyRow::as_select())
                    .first(conn)
                    .map_err(map_diesel)?;
                let (username, status): (String, String) = users::table
                    .find(&api_key.user_id)
                    .filter(diesel::dsl::not(users::deleted))
                    .select((users::username, users::status))
                    .first(conn)
                    .map_err(map_diesel)?;
                Ok(AccessTokenInfo {
                    api_key: api_key.into_entity()?,
                    refresh: refresh.into_entity()?,
                    username,
                    user_active: status != UserStatus::Suspended.as_str(),
                })
            })
            .await?;
        let tag = ChangeTag::User(info.api_key.user_id);
        self.access.put(id, generation, tag, info.clone());
        Ok(info)
    }

    async fn revoke_family(&self, family: Uuid) -> RepoResult<()> {
        self.db
            .write_locked(
                Touched::Everything,
                lock_key(LOCK_NAMESPACE, &[family]),
                move |conn| revoke_family_in(conn, &family.to_string()),
            )
            .await
    }

    async fn revoke_app_for_user(
        &self,
        app: OAuth2AppId,
        user: UserId,
        audit: AuditEntry,
    ) -> RepoResult<()> {
        let (app, user) = (app.to_string(), user.to_string());
        self.db
            .write(move |conn| {
                diesel::delete(
                    oauth2_codes::table
                        .filter(oauth2_codes::app_id.eq(&app))
                        .filter(oauth2_codes::user_id.eq(&user)),
                )
                .execute(conn)
                .map_err(map_diesel)?;
                diesel::delete(
                    oauth2_device_codes::table
                        .filter(oauth2_device_codes::app_id.eq(&app))
                        .filter(oauth2_device_codes::user_id.eq(&user)),
                )
                .execute(conn)
                .map_err(map_diesel)?;
                revoke_all(conn, |conn| {
                    oauth2_tokens::table
                        .filter(oauth2_tokens::app_id.eq(&app))
                        .filter(oauth2_tokens::user_id.eq(&user))
                        .select((oauth2_tokens::id, oauth2_tokens::api_key_id))
                        .load(conn)
                })?;
                insert_audit(conn, &audit)
            })
            .await
    }

    async fn register_client(
        &self,
        app: OAuth2App,
        secret: Option<OAuth2AppSecret>,
        registration: ClientRegistration,
        audit: AuditEntry,
    ) -> RepoResult<()> {
        let row = AppRow::from_entity(&app)?;
        let reg = RegistrationRow::from_entity(&registration)?;
        let secret = secret.as_ref().map(SecretRow::from_entity);
        self.db
            .write(move |conn| {
                diesel::insert_into(oauth2_apps::table)
                    .values(&row)
                    .execute(conn)
                    .map_err(map_diesel)
                    .map_err(name_conflict)?;
                write_uris(conn, &row.id, &app.redirect_uris)?;
                if let Some(secret) = &secret {
                    diesel::insert_into(oauth2_app_secrets::table)
                        .values(secret)
                        .execute(conn)
                        .map_err(map_diesel)?;
                }
                diesel::insert_into(oauth2_registrations::table)
                    .values(&reg)
                    .execute(conn)
                    .map_err(map_diesel)?;
                insert_audit(conn, &audit)
            })
            .await
    }

    async fn registration(&self, app: OAuth2AppId) -> RepoResult<ClientRegistration> {
        self.db
            .run(move |conn| {
                oauth2_registrations::table
                    .find(app.to_string())
                    .select(RegistrationRow::as_select())
                    .first(conn)
                    .map_err(map_diesel)?
                    .into_entity()
            })
            .await
    }

    async fn update_registration(
        &self,
        app: OAuth2App,
        registration: ClientRegistration,
        audit: AuditEntry,
    ) -> RepoResult<()> {
        let row = AppRow::from_entity(&app)?;
        let reg = RegistrationRow::from_entity(&registration)?;
        self.db
            .write(move |conn| {
                let updated = diesel::update(oauth2_apps::table.find(&row.id))
                    .set((
                        oauth2_apps::name.eq(&row.name),
                        oauth2_apps::callback_url.eq(&row.callback_url),
                        oauth2_apps::icon.eq(&row.icon),
                        oauth2_apps::grant_types.eq(&row.grant_types),
                        oauth2_apps::scope.eq(&row.scope),
                        oauth2_apps::updated_at.eq(row.updated_at),
                    ))
                    .execute(conn)
                    .map_err(map_diesel)
                    .map_err(name_conflict)?;
                if updated == 0 {
                    return Err(RepoError::NotFound);
                }
                write_uris(conn, &row.id, &app.redirect_uris)?;
                diesel::update(oauth2_registrations::table.find(&reg.app_id))
                    .set((
                        oauth2_registrations::metadata.eq(&reg.metadata),
                        oauth2_registrations::updated_at.eq(reg.updated_at),
                    ))
                    .execute(conn)
                    .map_err(map_diesel)?;
                insert_audit(conn, &audit)
            })
            .await
    }

    async fn create_device(&self, device: DeviceAuthorization) -> RepoResult<()> {
        let row = DeviceRow::from_entity(&device)?;
        let now = to_db(device.created_at);
        // Device authorizations are never cached: nothing to retire.
        self.db
            .write_touching(Touched::Only(Vec::new()), move |conn| {
                // Expired authorizations of the client are of no use to anyone.
                diesel::delete(
                    oauth2_device_codes::table
                        .filter(oauth2_device_codes::app_id.eq(&row.app_id))
                        .filter(oauth2_device_codes::expires_at.lt(now)),
                )
                .execute(conn)
                .map_err(map_diesel)?;
                diesel::insert_into(oauth2_device_codes::table)
                    .values(&row)
                    .execute(conn)
                    .map_err(map_diesel)?;
                Ok(())
            })
            .await
    }

    async fn device_by_prefix(&self, prefix: &str) -> RepoResult<DeviceAuthorization> {
        let prefix = prefix.to_owned();
        self.db
            .run(move |conn| {
                oauth2_device_codes::table
                    .filter(oauth2_device_codes::prefix.eq(&prefix))
                    .select(DeviceRow::as_select())
                    .first(conn)
                    .map_err(map_diesel)?
                    .into_entity()
            })
            .await
    }

    async fn device_by_user_code(&self, user_code_hash: &str) -> RepoResult<DeviceAuthorization> {
        let hash = user_code_hash.to_owned();
        self.db
            .run(move |conn| {
                oauth2_device_codes::table
                    .filter(oauth2_device_codes::user_code_hash.eq(&hash))
                    .select(DeviceRow::as_select())
                    .first(conn)
                    .map_err(map_diesel)?
                    .into_entity()
            })
            .await
    }

    async fn decide_device(
        &self,
        id: Uuid,
        user: UserId,
        approved: bool,
        now: OffsetDateTime,
    ) -> RepoResult<bool> {
        let status = if approved {
            DeviceStatus::Approved
        } else {
            DeviceStatus::Denied
        };
        self.db
            .write_touching(Touched::Only(Vec::new()), move |conn| {
                let updated = diesel::update(
                    oauth2_device_codes::table
                        .filter(oauth2_device_codes::id.eq(id.to_string()))
                        .filter(oauth2_device_codes::status.eq(DeviceStatus::Pending.as_str()))
                        .filter(oauth2_device_codes::expires_at.gt(to_db(now))),
                )
                .set((
                    oauth2_device_codes::status.eq(status.as_str()),
                    oauth2_device_codes::user_id.eq(Some(user.to_string())),
                ))
                .execute(conn)
                .map_err(map_diesel)?;
                Ok(updated == 1)
            })
            .await
    }

    async fn poll_device(
        &self,
        id: Uuid,
        now: OffsetDateTime,
        issue: Option<TokenIssue>,
    ) -> RepoResult<DevicePoll> {
        // Issuing writes the approving user's API key; a poll alone touches no
        // cached read.
        let touched = Touched::Only(
            issue
                .iter()
                .map(|i| ChangeTag::User(i.api_key.user_id))
                .collect(),
        );
        self.db
            .write_locked(touched, lock_key(LOCK_NAMESPACE, &[id]), move |conn| {
                let row = oauth2_device_codes::table
                    .find(id.to_string())
                    .select(DeviceRow::as_select())
                    .first(conn)
                    .map_err(map_diesel)?
                    .into_entity()?;
                if row.status == DeviceStatus::Redeemed {
                    return Ok(DevicePoll::Redeemed);
                }
                if row.expires_at <= now {
                    return Ok(DevicePoll::Expired);
                }
                let interval = time::Duration::seconds(row.interval_seconds);
                if row.last_polled_at.is_some_and(|last| now < last + interval) {
                    diesel::update(oauth2_device_codes::table.find(&row.id.to_string()))
                        .set((
                            oauth2_device_codes::interval_seconds.eq(row.interval_seconds + 5),
                            oauth2_device_codes::last_polled_at.eq(Some(to_db(now))),
                        ))
                        .execute(conn)
                        .map_err(map_diesel)?;
                    return Ok(DevicePoll::SlowDown);
                }
                diesel::update(oauth2_device_codes::table.find(&row.id.to_string()))
                    .set(oauth2_device_codes::last_polled_at.eq(Some(to_db(now))))
                    .execute(conn)
                    .map_err(map_diesel)?;
                match (row.status, issue) {
                    (DeviceStatus::Pending, _) => Ok(DevicePoll::Pending),
                    (DeviceStatus::Denied, _) => Ok(DevicePoll::Denied),
                    // Minted for the approving user only: anything else waits for the
                    // next poll, which sees the approval.
                    (DeviceStatus::Approved, Some(issue))
                        if Some(issue.api_key.user_id) == row.user_id =>
                    {
                        diesel::update(oauth2_device_codes::table.find(&row.id.to_string()))
                            .set(oauth2_device_codes::status.eq(DeviceStatus::Redeemed.as_str()))
                            .execute(conn)
                            .map_err(map_diesel)?;
                        issue_in(conn, &issue)?;
                        Ok(DevicePoll::Issued)
                    }
                    (DeviceStatus::Approved, _) => Ok(DevicePoll::Pending),
                    (DeviceStatus::Redeemed, _) => Ok(DevicePoll::Redeemed),
                }
            })
            .await
    }
}
