//! The OpenAPI document, generated from the handlers' annotations. A copy is committed
//! at `docs/openapi.json`; `cargo xtask openapi --check` fails when it is stale.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::scim::ScimBearerScheme;
use crate::{dto, error, routes};

/// Warden's API description.
#[derive(OpenApi)]
#[openapi(
    info(title = "Warden API", description = "Coder-compatible identity and access API.", license(name = "AGPL-3.0-only")),
    paths(
        routes::meta::build_info,
        routes::meta::openapi,
        routes::meta::healthz,
        routes::meta::readyz,
        routes::users::get_first_user,
        routes::users::post_first_user,
        routes::users::login,
        routes::users::logout,
        routes::users::list_users,
        routes::users::create_user,
        routes::users::get_user,
        routes::users::suspend_user,
        routes::users::activate_user,
        routes::users::auth_methods,
        routes::oidc::oidc_callback,
        routes::users::delete_user,
        routes::users::update_profile,
        routes::users::update_password,
        routes::users::user_roles,
        routes::users::update_user_roles,
        routes::users::get_login_type,
        routes::users::appearance,
        routes::users::git_ssh_key,
        routes::users::regenerate_git_ssh_key,
        routes::keys::create_session_key,
        routes::keys::create_token,
        routes::keys::list_tokens,
        routes::keys::get_token_by_name,
        routes::keys::get_key,
        routes::keys::delete_key,
        routes::organizations::list_organizations,
        routes::organizations::create_organization,
        routes::organizations::get_organization,
        routes::organizations::update_organization,
        routes::organizations::delete_organization,
        routes::organizations::user_organizations,
        routes::members::site_roles,
        routes::members::list_members,
        routes::members::paginated_members,
        routes::members::organization_roles,
        routes::roles::create_role,
        routes::roles::update_role,
        routes::roles::delete_role,
        routes::members::get_member,
        routes::members::add_member,
        routes::members::remove_member,
        routes::members::update_member_roles,
        routes::groups::list_groups,
        routes::groups::organization_groups,
        routes::groups::get_group_by_name,
        routes::groups::create_group,
        routes::groups::get_group,
        routes::groups::update_group,
        routes::groups::delete_group,
        routes::idp_sync::organization_sync_settings,
        routes::idp_sync::update_organization_sync_settings,
        routes::idp_sync::patch_organization_sync_config,
        routes::idp_sync::patch_organization_sync_mapping,
        routes::idp_sync::group_sync_settings,
        routes::idp_sync::update_group_sync_settings,
        routes::idp_sync::patch_group_sync_config,
        routes::idp_sync::patch_group_sync_mapping,
        routes::idp_sync::role_sync_settings,
        routes::idp_sync::update_role_sync_settings,
        routes::idp_sync::patch_role_sync_config,
        routes::idp_sync::patch_role_sync_mapping,
        routes::idp_sync::available_fields,
        routes::idp_sync::field_values,
        routes::idp_sync::organization_available_fields,
        routes::idp_sync::organization_field_values,
        routes::audit::audit_logs,
        routes::replicas::replicas,
        routes::scim::service_provider_config,
        routes::scim::list_schemas,
        routes::scim::get_schema,
        routes::scim::list_resource_types,
        routes::scim::get_resource_type,
        routes::scim::list_users,
        routes::scim::create_user,
        routes::scim::get_user,
        routes::scim::replace_user,
        routes::scim::patch_user,
        routes::scim::delete_user,
        routes::scim::search_users,
        routes::scim::search_all,
        routes::scim::list_groups,
        routes::scim::search_groups,
        routes::scim::create_group,
        routes::scim::get_group,
        routes::scim::replace_group,
        routes::scim::patch_group,
        routes::scim::delete_group,
        routes::scim::bulk,
        routes::oauth2::server_metadata_root,
        routes::oauth2::server_metadata_api,
        routes::oauth2::resource_metadata,
        routes::oauth2_apps::list_apps,
        routes::oauth2_apps::create_app,
        routes::oauth2_apps::get_app,
        routes::oauth2_apps::update_app,
        routes::oauth2_apps::delete_app,
        routes::oauth2_apps::list_secrets,
        routes::oauth2_apps::create_secret,
        routes::oauth2_apps::delete_secret,
        routes::oauth2::authorize_page,
        routes::oauth2::authorize,
        routes::oauth2::token_endpoint,
        routes::oauth2::revoke_app,
        routes::oauth2::revoke,
        routes::oauth2::introspect,
        routes::oauth2_device::device_authorization,
        routes::oauth2_device::verify_page,
        routes::oauth2_device::verify,
        routes::oauth2_register::register,
        routes::oauth2_register::get_client,
        routes::oauth2_register::update_client,
        routes::oauth2_register::delete_client,
        routes::oauth2::login_form,
        routes::oauth2::login_submit,
    ),
    components(schemas(
        error::Response,
        error::ValidationError,
        dto::SlimRole,
        error::OAuth2ErrorBody
    )),
    modifiers(&SessionToken, &ScimBearerScheme, &Unauthenticated),
)]
pub struct ApiDoc;

struct SessionToken;

impl Modify for SessionToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "CoderSessionToken",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("Coder-Session-Token"))),
        );
    }
}

/// States the 401 every credentialed operation answers to a missing, expired or wrong
/// credential, in the error shape of the API the path belongs to (SCIM's under
/// `/scim`, Coder's elsewhere), where the handler's annotation does not already.
struct Unauthenticated;

impl Modify for Unauthenticated {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, ObjectBuilder, Ref, ResponseBuilder, Type};
        for (path, item) in &mut openapi.paths.paths {
            let (media, schema, description) = if path.starts_with("/scim/") {
                let scim_error = ObjectBuilder::new()
                    .property("schemas", ObjectBuilder::new().schema_type(Type::Array))
                    .property("status", ObjectBuilder::new().schema_type(Type::String))
                    .property("detail", ObjectBuilder::new().schema_type(Type::String))
                    .required("schemas")
                    .required("status");
                (
                    "application/scim+json",
                    scim_error.into(),
                    "Missing or wrong SCIM bearer key",
                )
            } else {
                (
                    "application/json",
                    Ref::from_schema_name("Response").into(),
                    "Missing, expired or unknown session token",
                )
            };
            let unauthorized = ResponseBuilder::new()
                .description(description)
                .content(
                    media,
                    ContentBuilder::new()
                        .schema(Some::<utoipa::openapi::RefOr<_>>(schema))
                        .build(),
                )
                .build();
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
                if secured {
                    operation
                        .responses
                        .responses
                        .entry("401".to_owned())
                        .or_insert_with(|| unauthorized.clone().into());
                }
            }
        }
    }
}

/// The document as pretty JSON with a trailing newline (the committed form).
pub fn openapi_json() -> String {
    let mut json = ApiDoc::openapi().to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}
