//! The SCIM use cases over the [`ScimRepo`] port: authentication, Users, discovery.

use std::sync::{Arc, OnceLock};

use serde_json::{Value, json};
use subtle::ConstantTimeEq;
use warden_domain::RepoError;
use warden_domain::ids::{GroupId, OrganizationId, UserId};
use warden_domain::model::{
    AuditAction, AuditEntry, Group, GroupSource, LoginType, NewUser, RequestMeta, UserStatus,
};
use warden_domain::ports::Clock;
use warden_domain::scim::{
    GroupChangeFn, NewScimGroup, NewScimUser, Rejection, ScimGroupChange, ScimGroupQuery,
    ScimGroupRecord, ScimRepo, ScimUserQuery, ScimUserRecord, ScimUserUpdate,
};
use warden_domain::values::{Username, name_valid};

use crate::discovery::{self, LIST_SCHEMA, MAX_RESULTS};
use crate::error::{ScimError, ScimResult};
use crate::filter::parse_filter;
use crate::group::{self, GroupState};
use crate::patch::apply_user_patch;
use crate::user::{self, UserInput, next_status, parse_user, project, render, user_filter};

/// The audit trail's name for changes made through SCIM (Coder's
/// `automatic_subsystem`).
pub const SCIM_SUBSYSTEM: &str = "scim";

/// How often a write that lost a race with another one is retried (when the client
/// did not pin a version with `If-Match`).
const WRITE_ATTEMPTS: usize = 5;

/// Settings of SCIM provisioning.
#[derive(Clone, Default)]
pub struct ScimConfig {
    /// The bearer key; `None` disables SCIM.
    pub api_key: Option<String>,
    /// The organization to provision into; `None` = the default organization.
    pub organization: Option<String>,
    /// The absolute URL of the SCIM root (`<access URL>/scim/v2`), for `location`s.
    pub base_url: String,
}

impl std::fmt::Debug for ScimConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimConfig")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("organization", &self.organization)
            .field("base_url", &self.base_url)
            .finish()
    }
}

/// The outcome of checking a request's credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No key is configured: SCIM does not exist on this server.
    Disabled,
    /// The key is missing or wrong.
    Denied,
    Granted,
}

/// A resource to send, with its version for the `ETag` header.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub body: Value,
    pub version: String,
    pub location: String,
}

/// The query parameters of a list request, as sent.
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub filter: Option<String>,
    pub start_index: Option<String>,
    pub count: Option<String>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
    pub attributes: Vec<String>,
    pub excluded_attributes: Vec<String>,
}

/// SCIM provisioning. Cheap to clone.
#[derive(Clone)]
pub struct ScimService {
    repo: Arc<dyn ScimRepo>,
    clock: Arc<dyn Clock>,
    config: Arc<ScimConfig>,
    org: Arc<OnceLock<OrganizationId>>,
}

/// Splits a comma-separated attribute list.
pub fn attribute_list(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn etag_matches(header: &str, version: &str) -> bool {
    let opaque = |s: &str| s.trim().trim_start_matches("W/").to_owned();
    header
        .split(',')
        .any(|tag| tag.trim() == "*" || opaque(tag) == opaque(version))
}

/// A Warden username for a SCIM userName that is not one (Okta sends email
/// addresses): the local part with every run of other characters turned into one
/// hyphen, at most 32 characters.
pub fn username_from(user_name: &str) -> String {
    if name_valid(user_name).is_ok() {
        return user_name.to_owned();
    }
    let local = user_name.split('@').next().unwrap_or_default();
    let mut out = String::new();
    for c in local.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut out: String = out.trim_matches('-').chars().take(32).collect();
    out = out.trim_end_matches('-').to_owned();
    if name_valid(&out).is_err() {
        out = "user".to_owned();
    }
    out
}

impl ScimService {
    /// Wires SCIM to its port.
    pub fn new(repo: Arc<dyn ScimRepo>, clock: Arc<dyn Clock>, config: ScimConfig) -> Self {
        Self {
            repo,
            clock,
            config: Arc::new(config),
            org: Arc::default(),
        }
    }

    /// The SCIM root URL.
    pub fn base_url(&self) -> &str {
        &self.config.base_url
    }

    /// Checks the `Authorization` header: `Bearer <key>` (any case) or the bare key,
    /// compared in constant time.
    pub fn authenticate(&self, authorization: Option<&str>) -> Access {
        let Some(key) = self.config.api_key.as_deref().filter(|k| !k.is_empty()) else {
            return Access::Disabled;
        };
        let Some(sent) = authorization else {
            return Access::Denied;
        };
        let sent = sent.trim();
        let sent = match sent.get(..7) {
            Some(prefix) if prefix.eq_ignore_ascii_case("bearer ") => sent[7..].trim(),
            _ => sent,
        };
        if bool::from(sent.as_bytes().ct_eq(key.as_bytes())) {
            Access::Granted
        } else {
            Access::Denied
        }
    }

    async fn organization(&self) -> ScimResult<OrganizationId> {
        if let Some(org) = self.org.get() {
            return Ok(*org);
        }
        match self
            .repo
            .organization(self.config.organization.clone())
            .await
        {
            Ok(org) => {
                let _ = self.org.set(org);
                Ok(org)
            }
            Err(RepoError::NotFound) => Err(ScimError {
                internal: Some(format!(
                    "the SCIM organization {:?} does not exist",
                    self.config.organization.as_deref().unwrap_or("(default)")
                )),
                ..ScimError::new(
                    503,
                    "The organization SCIM provisions into does not exist (yet).",
                )
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// `GET /ServiceProviderConfig`.
    pub fn service_provider_config(&self) -> Value {
        discovery::service_provider_config(self.base_url())
    }

    /// `GET /Schemas`.
    pub fn schemas(&self) -> Value {
        discovery::list_of(discovery::schemas(self.base_url()))
    }

    /// `GET /Schemas/{id}`.
    pub fn schema(&self, id: &str) -> ScimResult<Value> {
        discovery::schema(self.base_url(), id)
    }

    /// `GET /ResourceTypes`.
    pub fn resource_types(&self) -> Value {
        discovery::list_of(discovery::resource_types(self.base_url()))
    }

    /// `GET /ResourceTypes/{id}`.
    pub fn resource_type(&self, id: &str) -> ScimResult<Value> {
        discovery::resource_type(self.base_url(), id)
    }

    fn resource(&self, record: &ScimUserRecord) -> Resource {
        Resource {
            body: render(record, self.base_url()),
            version: user::version(record),
            location: format!("{}/Users/{}", self.base_url(), record.user.id),
        }
    }

    /// `GET /Users`: filtered and sorted in SQL, windowed by `startIndex`/`count`.
    pub async fn list_users(&self, params: ListParams) -> ScimResult<Value> {
        let filter = match params.filter.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => Some(user_filter(&parse_filter(raw)?)?),
        };
        let Window {
            start_index,
            count,
            descending,
        } = window(&params)?;
        let sort = match params.sort_by.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(name) => Some((user::sort_attr(name)?, descending)),
        };
        let org = self.organization().await?;
        let (records, total) = self
            .repo
            .list_users(
                org,
                ScimUserQuery {
                    filter,
                    sort,
                    offset: start_index - 1,
                    limit: count,
                },
            )
            .await?;
        let resources: Vec<Value> = records
            .iter()
            .map(|r| {
                project(
                    render(r, self.base_url()),
                    &params.attributes,
                    &params.excluded_attributes,
                )
            })
            .collect();
        Ok(json!({
            "schemas": [LIST_SCHEMA],
            "totalResults": total,
            "startIndex": start_index,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        }))
    }

    /// `POST /Users/.search`: a `SearchRequest` body with the parameters of
    /// [`Self::list_users`] (numbers may be JSON numbers, attribute lists arrays).
    pub async fn search_users(&self, body: &Value) -> ScimResult<Value> {
        self.list_users(search_params(body)?).await
    }

    /// `POST /.search` (RFC 7644 §3.4.3, at the root): searches Users and Groups,
    /// Users first; `startIndex`/`count` window the concatenation. A filter naming an
    /// attribute one resource type lacks matches none of that type.
    pub async fn search_all(&self, body: &Value) -> ScimResult<Value> {
        let params = search_params(body)?;
        let Window {
            start_index, count, ..
        } = window(&params)?;
        let counted = |p: &ListParams| ListParams {
            start_index: Some("1".into()),
            count: Some("0".into()),
            ..p.clone()
        };
        let total = |listed: &Value| listed["totalResults"].as_i64().unwrap_or_default();
        let users = self.list_users(counted(&params)).await;
        let groups = self.list_groups(counted(&params)).await;
        let (user_total, group_total) = match (&users, &groups) {
            (Err(e), Err(_)) => return Err(e.clone()),
            (Err(e), _) | (_, Err(e)) if e.scim_type != Some(crate::ScimType::InvalidFilter) => {
                return Err(e.clone());
            }
            (u, g) => (
                u.as_ref().map(total).unwrap_or_default(),
                g.as_ref().map(total).unwrap_or_default(),
            ),
        };
        let mut resources: Vec<Value> = Vec::new();
        let skip = start_index - 1;
        if skip < user_total && count > 0 {
            let page = self
                .list_users(ListParams {
                    start_index: Some(start_index.to_string()),
                    count: Some(count.to_string()),
                    ..params.clone()
                })
                .await?;
            resources.extend(page["Resources"].as_array().cloned().unwrap_or_default());
        }
        let room = count - resources.len() as i64;
        if room > 0 && group_total > 0 {
            let group_start = (skip - user_total).max(0) + 1;
            let page = self
                .list_groups(ListParams {
                    start_index: Some(group_start.to_string()),
                    count: Some(room.to_string()),
                    ..params.clone()
                })
                .await?;
            resources.extend(page["Resources"].as_array().cloned().unwrap_or_default());
        }
        Ok(json!({
            "schemas": [LIST_SCHEMA],
            "totalResults": user_total + group_total,
            "startIndex": start_index,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        }))
    }

    /// `POST /Groups/.search`: a `SearchRequest` body with the parameters of
    /// [`Self::list_groups`].
    pub async fn search_groups(&self, body: &Value) -> ScimResult<Value> {
        self.list_groups(search_params(body)?).await
    }
}

/// The startIndex, count and sortOrder of a list request.
struct Window {
    start_index: i64,
    count: i64,
    descending: bool,
}

fn window(params: &ListParams) -> ScimResult<Window> {
    let start_index = match params.start_index.as_deref() {
        None => 1,
        Some(raw) => raw.trim().parse::<i64>().map_err(|_| {
            ScimError::invalid_value(format!("startIndex must be an integer, not {raw:?}."))
        })?,
    }
    .max(1);
    let count = match params.count.as_deref() {
        None => MAX_RESULTS,
        Some(raw) => raw.trim().parse::<i64>().map_err(|_| {
            ScimError::invalid_value(format!("count must be an integer, not {raw:?}."))
        })?,
    }
    .clamp(0, MAX_RESULTS);
    let descending = match params.sort_order.as_deref().map(str::trim) {
        None | Some("") => false,
        Some(o) if o.eq_ignore_ascii_case("ascending") => false,
        Some(o) if o.eq_ignore_ascii_case("descending") => true,
        Some(o) => {
            return Err(ScimError::invalid_value(format!(
                "sortOrder must be \"ascending\" or \"descending\", not {o:?}."
            )));
        }
    };
    Ok(Window {
        start_index,
        count,
        descending,
    })
}

/// Reads a `SearchRequest` body into list parameters.
fn search_params(body: &Value) -> ScimResult<ListParams> {
    if !body.is_object() {
        return Err(ScimError::invalid_syntax(
            "A SearchRequest must be a JSON object.",
        ));
    }
    let text = |key: &str| -> ScimResult<Option<String>> {
        match crate::filter::get_ci(body, key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(ScimError::invalid_value(format!(
                "{key:?} must be a string or number, not {other}."
            ))),
        }
    };
    let names = |key: &str| -> ScimResult<Vec<String>> {
        match crate::filter::get_ci(body, key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::String(s)) => Ok(attribute_list(s)),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| {
                    i.as_str().map(str::to_owned).ok_or_else(|| {
                        ScimError::invalid_value(format!("{key:?} must list strings."))
                    })
                })
                .collect(),
            Some(other) => Err(ScimError::invalid_value(format!(
                "{key:?} must be an array of strings, not {other}."
            ))),
        }
    };
    Ok(ListParams {
        filter: text("filter")?,
        start_index: text("startIndex")?,
        count: text("count")?,
        sort_by: text("sortBy")?,
        sort_order: text("sortOrder")?,
        attributes: names("attributes")?,
        excluded_attributes: names("excludedAttributes")?,
    })
}

impl ScimService {
    async fn load(&self, org: OrganizationId, id: &str) -> ScimResult<ScimUserRecord> {
        let not_found = || ScimError::not_found("User", id);
        let uid: UserId = id.parse().map_err(|_| not_found())?;
        match self.repo.get_user(org, uid).await {
            Ok(r) => Ok(r),
            Err(RepoError::NotFound) => Err(not_found()),
            Err(e) => Err(e.into()),
        }
    }

    /// `GET /Users/{id}`.
    pub async fn get_user(&self, id: &str) -> ScimResult<Resource> {
        let org = self.organization().await?;
        let record = self.load(org, id).await?;
        Ok(self.resource(&record))
    }

    fn audit(
        &self,
        org: OrganizationId,
        action: AuditAction,
        record: &ScimUserRecord,
        meta: &RequestMeta,
    ) -> AuditEntry {
        let mut entry = AuditEntry::new(
            self.clock.now(),
            None,
            action,
            "user",
            record.user.id,
            record.user.username.as_str(),
        )
        .in_org(org)
        .by_subsystem(SCIM_SUBSYSTEM);
        entry.request = meta.clone();
        entry
    }

    /// `POST /Users`. An existing user with this userName or email is a 409
    /// `uniqueness`, unless it is suspended or was deleted by SCIM: then it is
    /// provisioned again (reactivated), as Coder does.
    pub async fn create_user(&self, body: &Value, meta: &RequestMeta) -> ScimResult<Resource> {
        let input = parse_user(body)?;
        let org = self.organization().await?;
        if let Some(existing) = self
            .repo
            .find_by_identity(org, &input.user_name, input.email.as_str())
            .await?
        {
            if existing.user.status != UserStatus::Suspended && !existing.scim_deleted {
                return Err(already_exists(&input));
            }
            let id = existing.user.id.to_string();
            return self
                .modify(
                    org,
                    &id,
                    None,
                    meta,
                    AuditAction::Write,
                    Some(existing),
                    |current| Ok(update_from(&input, current, false)),
                )
                .await;
        }
        let id = UserId::new_random();
        let derived = username_from(&input.user_name);
        let record = match self
            .insert_user(org, id, derived.clone(), &input, meta)
            .await
        {
            // The lookup above found no one with this userName or email, so a taken
            // name is most likely the one derived from the userName (or a race).
            // Probing only now keeps the common case to two round trips.
            Err(RepoError::Conflict(_))
                if derived != input.user_name
                    && self
                        .repo
                        .find_by_identity(org, &derived, "")
                        .await?
                        .is_some() =>
            {
                // Another user holds the derived name: disambiguate with the new id.
                let suffix: String = id.to_string().chars().take(6).collect();
                let stem: String = derived.chars().take(32 - 7).collect();
                let username = format!("{}-{suffix}", stem.trim_end_matches('-'));
                self.insert_user(org, id, username, &input, meta).await
            }
            other => other,
        }
        .map_err(|e| match e {
            RepoError::Conflict(_) => already_exists(&input),
            other => other.into(),
        })?;
        Ok(self.resource(&record))
    }

    /// Inserts a new SCIM user named `username`; a taken name, userName or email is
    /// `Conflict`.
    async fn insert_user(
        &self,
        org: OrganizationId,
        id: UserId,
        username: String,
        input: &UserInput,
        meta: &RequestMeta,
    ) -> Result<ScimUserRecord, RepoError> {
        let now = self.clock.now();
        let new = NewScimUser {
            user: NewUser {
                id,
                username: Username::from_trusted(username),
                email: input.email.clone(),
                name: input.name.clone(),
                hashed_password: None,
                status: next_status(UserStatus::Suspended, input.is_active()),
                login_type: LoginType::Oidc,
                site_roles: Vec::new(),
                organization_ids: vec![org],
                now,
            },
            scim_username: input.user_name.clone(),
            fields: input.fields.clone(),
        };
        let mut audit = AuditEntry::new(
            now,
            None,
            AuditAction::Create,
            "user",
            id,
            new.user.username.as_str(),
        )
        .in_org(org)
        .by_subsystem(SCIM_SUBSYSTEM);
        audit.request = meta.clone();
        self.repo.create_user(org, new, audit).await
    }

    /// `PUT /Users/{id}`: replaces every writable attribute; `userName` is immutable.
    pub async fn replace_user(
        &self,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        meta: &RequestMeta,
    ) -> ScimResult<Resource> {
        let input = parse_user(body)?;
        let org = self.organization().await?;
        self.modify(
            org,
            id,
            if_match,
            meta,
            AuditAction::Write,
            None,
            |current| {
                check_user_name(current, &input.user_name)?;
                Ok(update_from(&input, current, false))
            },
        )
        .await
    }

    /// `PATCH /Users/{id}`.
    pub async fn patch_user(
        &self,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        meta: &RequestMeta,
    ) -> ScimResult<Resource> {
        let org = self.organization().await?;
        let base = self.base_url().to_owned();
        self.modify(
            org,
            id,
            if_match,
            meta,
            AuditAction::Write,
            None,
            |current| {
                let mut doc = render(current, &base);
                // The document is parsed as a PUT would be: a removed attribute is
                // unassigned. A removed `active` therefore means what a POST or PUT
                // without `active` means, Warden's default (active): it neither
                // suspends nor keeps a SCIM suspension (RFC 7644 §3.5.2.2).
                apply_user_patch(&mut doc, body)?;
                let sent = doc
                    .as_object()
                    .and_then(|m| m.iter().find(|(k, _)| k.eq_ignore_ascii_case("userName")))
                    .and_then(|(_, v)| v.as_str())
                    .unwrap_or_default()
                    .to_owned();
                check_user_name(current, &sent)?;
                let input = parse_user(&doc)?;
                Ok(update_from(&input, current, false))
            },
        )
        .await
    }

    /// `DELETE /Users/{id}`: suspends the user (revoking its sessions and tokens) and
    /// hides it from SCIM; the Warden user and its audit trail stay.
    pub async fn delete_user(
        &self,
        id: &str,
        if_match: Option<&str>,
        meta: &RequestMeta,
    ) -> ScimResult<()> {
        let org = self.organization().await?;
        self.modify(
            org,
            id,
            if_match,
            meta,
            AuditAction::Delete,
            None,
            |current| {
                Ok(ScimUserUpdate {
                    user_name: current.user_name().to_owned(),
                    email: current.user.email.clone(),
                    name: current.user.name.clone(),
                    fields: current.fields.clone(),
                    status: UserStatus::Suspended,
                    scim_deleted: true,
                })
            },
        )
        .await
        .map(|_| ())
    }

    /// Read, change, write with an optimistic version check: with `If-Match` a lost
    /// race is a 412; without, the change is recomputed on the fresh state.
    #[allow(clippy::too_many_arguments)]
    async fn modify<F>(
        &self,
        org: OrganizationId,
        id: &str,
        if_match: Option<&str>,
        meta: &RequestMeta,
        action: AuditAction,
        mut known: Option<ScimUserRecord>,
        change: F,
    ) -> ScimResult<Resource>
    where
        F: Fn(&ScimUserRecord) -> ScimResult<ScimUserUpdate>,
    {
        for _ in 0..WRITE_ATTEMPTS {
            let current = match known.take() {
                Some(r) => r,
                None => self.load(org, id).await?,
            };
            if let Some(header) = if_match
                && !etag_matches(header, &user::version(&current))
            {
                return Err(ScimError::precondition_failed());
            }
            let update = change(&current)?;
            let mut audit = self.audit(org, action, &current, meta);
            let old = &current.user;
            if old.status != update.status {
                audit = audit.with_change("status", old.status.as_str(), update.status.as_str());
            }
            if old.email != update.email {
                audit = audit.with_change("email", old.email.as_str(), update.email.as_str());
            }
            if old.name != update.name {
                audit = audit.with_change("name", old.name.clone(), update.name.clone());
            }
            let now = self.clock.now();
            match self
                .repo
                .update_user(org, current.user.id, old.updated_at, update, now, audit)
                .await
            {
                Ok(record) => return Ok(self.resource(&record)),
                Err(RepoError::Conflict(what)) if what == "version" => {
                    if if_match.is_some() {
                        return Err(ScimError::precondition_failed());
                    }
                }
                Err(RepoError::NotFound) => return Err(ScimError::not_found("User", id)),
                Err(e) => return Err(e.into()),
            }
        }
        Err(ScimError::new(
            409,
            "The user kept changing concurrently; retry the request.",
        ))
    }
}

fn check_user_name(current: &ScimUserRecord, sent: &str) -> ScimResult<()> {
    if !sent.eq_ignore_ascii_case(current.user_name()) {
        return Err(ScimError::mutability(format!(
            "userName is immutable: it is {:?}.",
            current.user_name()
        )));
    }
    Ok(())
}

fn update_from(input: &UserInput, current: &ScimUserRecord, scim_deleted: bool) -> ScimUserUpdate {
    ScimUserUpdate {
        user_name: input.user_name.clone(),
        email: input.email.clone(),
        name: input.name.clone(),
        fields: input.fields.clone(),
        status: next_status(current.user.status, input.is_active()),
        scim_deleted,
    }
}

/// The audit diff of a group change.
fn group_audit_diff(mut audit: AuditEntry, before: &GroupState, after: &GroupState) -> AuditEntry {
    if before.display_name != after.display_name {
        audit = audit.with_change(
            "display_name",
            before.display_name.clone(),
            after.display_name.clone(),
        );
    }
    if before.external_id != after.external_id {
        audit = audit.with_change(
            "external_id",
            before.external_id.clone(),
            after.external_id.clone(),
        );
    }
    let mut old: Vec<String> = before.members.iter().map(ToString::to_string).collect();
    let mut new: Vec<String> = after.members.iter().map(ToString::to_string).collect();
    old.sort();
    new.sort();
    if old != new {
        audit = audit.with_change("members", old, new);
    }
    audit
}

fn rejection_to_error(rejection: Rejection) -> ScimError {
    match rejection.downcast::<ScimError>() {
        Ok(e) => *e,
        Err(other) => ScimError {
            internal: Some(other.to_string()),
            ..ScimError::new(500, "An internal server error occurred.")
        },
    }
}

fn group_repo_error(e: RepoError, id: &str, display_name: Option<&str>) -> ScimError {
    match e {
        RepoError::NotFound => ScimError::not_found("Group", id),
        RepoError::Conflict(what) if what == "version" => ScimError::precondition_failed(),
        RepoError::Conflict(_) => ScimError::uniqueness(match display_name {
            Some(name) => format!("A group with displayName {name:?} already exists."),
            None => "A group with this displayName already exists.".to_owned(),
        }),
        RepoError::MissingReference(what) => {
            ScimError::invalid_value(format!("Every member must be an existing user: {what}."))
        }
        other => other.into(),
    }
}

impl ScimService {
    fn group_resource(&self, record: &ScimGroupRecord) -> Resource {
        Resource {
            body: group::render(record, self.base_url()),
            version: group::version(record),
            location: format!("{}/Groups/{}", self.base_url(), record.group.id),
        }
    }

    /// `GET /Groups`: every group of the SCIM organization but its Everyone group,
    /// filtered and sorted in SQL; members are loaded only when the response shows
    /// them.
    pub async fn list_groups(&self, params: ListParams) -> ScimResult<Value> {
        let filter = match params.filter.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => Some(group::group_filter(&parse_filter(raw)?)?),
        };
        let Window {
            start_index,
            count,
            descending,
        } = window(&params)?;
        let sort = match params.sort_by.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(name) => Some((group::sort_attr(name)?, descending)),
        };
        let with_members = group::wants_members(&params.attributes, &params.excluded_attributes);
        let member_display = group::wants_member_display(&params.attributes);
        let org = self.organization().await?;
        let (records, total) = self
            .repo
            .list_groups(
                org,
                ScimGroupQuery {
                    filter,
                    sort,
                    offset: start_index - 1,
                    limit: count,
                    with_members,
                },
            )
            .await?;
        let resources: Vec<Value> = records
            .iter()
            .map(|r| {
                group::project(
                    group::render_with(r, self.base_url(), member_display),
                    &params.attributes,
                    &params.excluded_attributes,
                )
            })
            .collect();
        Ok(json!({
            "schemas": [LIST_SCHEMA],
            "totalResults": total,
            "startIndex": start_index,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        }))
    }

    fn group_id(id: &str) -> ScimResult<GroupId> {
        id.trim()
            .parse()
            .map_err(|_| ScimError::not_found("Group", id))
    }

    /// `GET /Groups/{id}`, shaped by `attributes`/`excludedAttributes` (members are
    /// not loaded when left out).
    pub async fn get_group(
        &self,
        id: &str,
        attributes: &[String],
        excluded: &[String],
    ) -> ScimResult<Resource> {
        let gid = Self::group_id(id)?;
        let org = self.organization().await?;
        let with_members = group::wants_members(attributes, excluded);
        let record = self
            .repo
            .get_group(org, gid, with_members)
            .await
            .map_err(|e| group_repo_error(e, id, None))?;
        let mut resource = self.group_resource(&record);
        if group::wants_member_display(attributes) {
            resource.body = group::render_with(&record, self.base_url(), true);
        }
        resource.body = group::project(resource.body, attributes, excluded);
        Ok(resource)
    }

    /// `POST /Groups`: creates a group (source `oidc`: managed by the identity
    /// provider) with its members; users not yet in the organization join it. A
    /// displayName another group shows is a 409 `uniqueness`.
    pub async fn create_group(&self, body: &Value, meta: &RequestMeta) -> ScimResult<Resource> {
        let input = group::parse_group(body)?;
        let org = self.organization().await?;
        let id = GroupId::new_random();
        let now = self.clock.now();
        let mut name = group::group_name_from(&input.display_name);
        for attempt in 0..2 {
            let group = Group {
                id,
                organization_id: org,
                name: name.clone(),
                display_name: input.display_name.clone(),
                avatar_url: String::new(),
                quota_allowance: 0,
                source: GroupSource::Oidc,
                created_at: now,
                updated_at: now,
            };
            let empty = GroupState {
                display_name: String::new(),
                external_id: String::new(),
                members: Vec::new(),
            };
            let after = GroupState {
                display_name: input.display_name.clone(),
                external_id: input.external_id.clone(),
                members: input.members.clone(),
            };
            let mut audit =
                AuditEntry::new(now, None, AuditAction::Create, "group", id, name.clone())
                    .in_org(org)
                    .by_subsystem(SCIM_SUBSYSTEM);
            audit.request = meta.clone();
            let audit = group_audit_diff(audit, &empty, &after);
            let created = self
                .repo
                .create_group(
                    org,
                    NewScimGroup {
                        group,
                        external_id: input.external_id.clone(),
                        members: input.members.clone(),
                    },
                    audit,
                )
                .await;
            match created {
                Ok(record) => return Ok(self.group_resource(&record)),
                Err(RepoError::Conflict(what)) if what == "name" && attempt == 0 => {
                    // Another displayName mapped to the same Warden name: disambiguate
                    // with the new id.
                    let suffix: String = id.to_string().chars().take(6).collect();
                    let stem: String = name.chars().take(32 - 7).collect();
                    name = format!("{}-{suffix}", stem.trim_end_matches('-'));
                }
                Err(e) => {
                    return Err(group_repo_error(
                        e,
                        &id.to_string(),
                        Some(&input.display_name),
                    ));
                }
            }
        }
        Err(ScimError::uniqueness(format!(
            "A group with displayName {:?} already exists.",
            input.display_name
        )))
    }

    /// Changes a group through [`ScimRepo::change_group`]: `compute` sees the state
    /// current inside the write transaction, so concurrent changes never lose one
    /// another's members; `If-Match` is checked there too.
    async fn change_group<F>(
        &self,
        id: &str,
        if_match: Option<&str>,
        meta: &RequestMeta,
        compute: F,
    ) -> ScimResult<Resource>
    where
        F: FnOnce(&ScimGroupRecord, GroupState) -> ScimResult<GroupState> + Send + 'static,
    {
        let gid = Self::group_id(id)?;
        let org = self.organization().await?;
        let if_match = if_match.map(str::to_owned);
        let clock = Arc::clone(&self.clock);
        let meta = meta.clone();
        let change: GroupChangeFn = Box::new(move |current: &ScimGroupRecord| {
            if let Some(header) = &if_match
                && !etag_matches(header, &group::version(current))
            {
                return Err(Box::new(ScimError::precondition_failed()) as Rejection);
            }
            let before = GroupState::of(current);
            let after = compute(current, before.clone()).map_err(|e| Box::new(e) as Rejection)?;
            let mut audit = AuditEntry::new(
                clock.now(),
                None,
                AuditAction::Write,
                "group",
                current.group.id,
                current.group.name.clone(),
            )
            .in_org(org)
            .by_subsystem(SCIM_SUBSYSTEM);
            audit.request = meta;
            let audit = group_audit_diff(audit, &before, &after);
            Ok(ScimGroupChange {
                display_name: after.display_name,
                external_id: after.external_id,
                members: after.members,
                audit,
            })
        });
        match self
            .repo
            .change_group(org, gid, self.clock.now(), change)
            .await
        {
            Ok(Ok(record)) => Ok(self.group_resource(&record)),
            Ok(Err(rejection)) => Err(rejection_to_error(rejection)),
            Err(e) => Err(group_repo_error(e, id, None)),
        }
    }

    /// `PUT /Groups/{id}`: replaces displayName, externalId and the member list.
    pub async fn replace_group(
        &self,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        meta: &RequestMeta,
    ) -> ScimResult<Resource> {
        let input = group::parse_group(body)?;
        self.change_group(id, if_match, meta, move |_, _| {
            Ok(GroupState {
                display_name: input.display_name,
                external_id: input.external_id,
                members: input.members,
            })
        })
        .await
    }

    /// `PATCH /Groups/{id}`: an RFC 7644 PatchOp, applied atomically (one bad
    /// operation and nothing changes).
    pub async fn patch_group(
        &self,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
        meta: &RequestMeta,
    ) -> ScimResult<Resource> {
        let body = body.clone();
        self.change_group(id, if_match, meta, move |current, mut state| {
            group::apply_group_patch(&mut state, current, &body)?;
            Ok(state)
        })
        .await
    }

    /// `DELETE /Groups/{id}`: deletes the Warden group (its members stay users and
    /// organization members).
    pub async fn delete_group(
        &self,
        id: &str,
        if_match: Option<&str>,
        meta: &RequestMeta,
    ) -> ScimResult<()> {
        let gid = Self::group_id(id)?;
        let org = self.organization().await?;
        let current = self
            .repo
            .get_group(org, gid, false)
            .await
            .map_err(|e| group_repo_error(e, id, None))?;
        let version = match if_match {
            Some(header) if !etag_matches(header, &group::version(&current)) => {
                return Err(ScimError::precondition_failed());
            }
            Some(_) => Some(current.group.updated_at),
            None => None,
        };
        let mut audit = AuditEntry::new(
            self.clock.now(),
            None,
            AuditAction::Delete,
            "group",
            gid,
            current.group.name.clone(),
        )
        .in_org(org)
        .by_subsystem(SCIM_SUBSYSTEM);
        audit.request = meta.clone();
        self.repo
            .delete_group(org, gid, version, audit)
            .await
            .map_err(|e| group_repo_error(e, id, None))
    }
}

/// The 409 `uniqueness` for a new user whose userName or email someone holds.
fn already_exists(input: &UserInput) -> ScimError {
    ScimError::uniqueness(format!(
        "A user with userName {:?} or email {:?} already exists.",
        input.user_name,
        input.email.as_str()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_from_email_addresses() {
        assert_eq!(username_from("alice"), "alice");
        assert_eq!(username_from("alice.smith@example.com"), "alice-smith");
        assert_eq!(username_from("__x__@y"), "x");
        assert_eq!(username_from("@@@"), "user");
        assert_eq!(username_from(&"a".repeat(40)), "a".repeat(32));
    }

    #[test]
    fn etags_compare_weakly_and_accept_star() {
        assert!(etag_matches("W/\"12\"", "W/\"12\""));
        assert!(etag_matches("\"12\"", "W/\"12\""));
        assert!(etag_matches("*", "W/\"12\""));
        assert!(etag_matches("W/\"1\", W/\"12\"", "W/\"12\""));
        assert!(!etag_matches("W/\"13\"", "W/\"12\""));
    }
}
