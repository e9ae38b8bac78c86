//! Table definitions, shared by both backends (see `migrations/`).

diesel::table! {
    organizations (id) {
        id -> Text,
        name -> Text,
        display_name -> Text,
        description -> Text,
        icon -> Text,
        is_default -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// An organization's member count, spread over slots that concurrent writers
    /// move independently; the count is their sum (kept by triggers).
    organization_member_counts (organization_id, slot) {
        organization_id -> Text,
        slot -> Integer,
        count -> Integer,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        username -> Text,
        name -> Text,
        avatar_url -> Text,
        hashed_password -> Nullable<Text>,
        status -> Text,
        login_type -> Text,
        is_service_account -> Bool,
        theme_preference -> Text,
        deleted -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        last_seen_at -> Timestamp,
    }
}

diesel::table! {
    user_site_roles (user_id, role_name) {
        user_id -> Text,
        role_name -> Text,
    }
}

diesel::table! {
    organization_members (organization_id, user_id) {
        organization_id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    organization_member_roles (organization_id, user_id, role_name) {
        organization_id -> Text,
        user_id -> Text,
        role_name -> Text,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        user_id -> Text,
        hashed_secret -> Binary,
        last_used -> Timestamp,
        expires_at -> Timestamp,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        login_type -> Text,
        lifetime_seconds -> BigInt,
        token_name -> Text,
        scopes -> Text,
        allow_list -> Text,
    }
}

diesel::table! {
    audit_logs (id) {
        id -> Text,
        time -> Timestamp,
        user_id -> Nullable<Text>,
        organization_id -> Nullable<Text>,
        action -> Text,
        resource_type -> Text,
        resource_id -> Text,
        resource_target -> Text,
        diff -> Text,
        request_id -> Nullable<Text>,
        ip -> Text,
        user_agent -> Text,
        status_code -> Integer,
        additional_fields -> Text,
    }
}

diesel::table! {
    custom_roles (organization_id, name) {
        organization_id -> Text,
        name -> Text,
        display_name -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    custom_role_permissions (organization_id, role_name, level, resource_type, action, negate) {
        organization_id -> Text,
        role_name -> Text,
        level -> Text,
        resource_type -> Text,
        action -> Text,
        negate -> Bool,
    }
}

diesel::table! {
    groups (id) {
        id -> Text,
        organization_id -> Text,
        name -> Text,
        display_name -> Text,
        avatar_url -> Text,
        quota_allowance -> Integer,
        source -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    group_members (group_id, user_id) {
        group_id -> Text,
        organization_id -> Text,
        user_id -> Text,
    }
}

diesel::table! {
    scim_users (user_id) {
        user_id -> Text,
        organization_id -> Text,
        user_name -> Text,
        external_id -> Text,
        given_name -> Text,
        family_name -> Text,
        deleted -> Bool,
        formatted_name -> Text,
        display_name -> Text,
        email_type -> Text,
        email_primary -> Nullable<Bool>,
        active_assigned -> Bool,
    }
}

diesel::table! {
    scim_groups (group_id) {
        group_id -> Text,
        organization_id -> Text,
        external_id -> Text,
    }
}

diesel::joinable!(user_site_roles -> users (user_id));
diesel::joinable!(api_keys -> users (user_id));
diesel::joinable!(organization_members -> users (user_id));
diesel::joinable!(organization_members -> organizations (organization_id));
diesel::joinable!(groups -> organizations (organization_id));
diesel::joinable!(group_members -> groups (group_id));
diesel::joinable!(group_members -> users (user_id));
diesel::joinable!(scim_users -> users (user_id));
diesel::joinable!(scim_groups -> groups (group_id));

diesel::allow_tables_to_appear_in_same_query!(
    organizations,
    users,
    user_site_roles,
    organization_members,
    organization_member_roles,
    api_keys,
    audit_logs,
    custom_roles,
    custom_role_permissions,
    groups,
    group_members,
    scim_users,
    scim_groups,
);

diesel::define_sql_function! {
    /// SQL `lower(text)`, the same on both backends.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

diesel::table! {
    oauth2_apps (id) {
        id -> Text,
        name -> Text,
        callback_url -> Text,
        icon -> Text,
        client_type -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        grant_types -> Text,
        scope -> Nullable<Text>,
    }
}

diesel::table! {
    oauth2_app_redirect_uris (app_id, position) {
        app_id -> Text,
        position -> Integer,
        uri -> Text,
    }
}

diesel::table! {
    oauth2_registrations (app_id) {
        app_id -> Text,
        token_prefix -> Text,
        hashed_token -> Binary,
        metadata -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    oauth2_device_codes (id) {
        id -> Text,
        prefix -> Text,
        hashed_secret -> Binary,
        user_code_hash -> Text,
        app_id -> Text,
        user_id -> Nullable<Text>,
        scopes -> Text,
        resource -> Nullable<Text>,
        status -> Text,
        interval_seconds -> BigInt,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        last_polled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    oauth2_app_secrets (id) {
        id -> Text,
        app_id -> Text,
        prefix -> Text,
        hashed_secret -> Binary,
        display_secret -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    oauth2_codes (id) {
        id -> Text,
        prefix -> Text,
        hashed_secret -> Binary,
        app_id -> Text,
        user_id -> Text,
        redirect_uri -> Text,
        redirect_uri_given -> Bool,
        code_challenge -> Text,
        scopes -> Text,
        resource -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    oauth2_tokens (id) {
        id -> Text,
        prefix -> Text,
        hashed_secret -> Binary,
        family_id -> Text,
        app_id -> Text,
        user_id -> Text,
        secret_id -> Nullable<Text>,
        api_key_id -> Text,
        scopes -> Text,
        audience -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        rotated_at -> Nullable<Timestamp>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    oauth2_apps,
    oauth2_app_secrets,
    oauth2_app_redirect_uris,
    oauth2_codes,
    oauth2_device_codes,
    oauth2_registrations,
    oauth2_tokens,
);

diesel::table! {
    replicas (id) {
        id -> Text,
        hostname -> Text,
        region_id -> Integer,
        relay_address -> Text,
        error -> Text,
        database_latency -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    rate_limit_attempts (id) {
        id -> Text,
        bucket -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    git_ssh_keys (user_id) {
        user_id -> Text,
        private_key -> Text,
        public_key -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    idp_sync_settings (scope) {
        scope -> Text,
        organization_id -> Nullable<Text>,
        settings -> Text,
        revision -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    user_links (user_id, login_type) {
        user_id -> Text,
        login_type -> Text,
        linked_id -> Text,
        claims -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    oidc_claim_fields (user_id, field) {
        user_id -> Text,
        field -> Text,
    }
}

diesel::table! {
    oidc_claim_values (user_id, field, value) {
        user_id -> Text,
        field -> Text,
        value -> Text,
    }
}

diesel::joinable!(user_links -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(user_links, oidc_claim_fields, oidc_claim_values);
diesel::allow_tables_to_appear_in_same_query!(user_links, users);
diesel::allow_tables_to_appear_in_same_query!(oidc_claim_fields, users);
diesel::allow_tables_to_appear_in_same_query!(oidc_claim_values, users);
diesel::allow_tables_to_appear_in_same_query!(oidc_claim_fields, organization_members);
diesel::allow_tables_to_appear_in_same_query!(oidc_claim_values, organization_members);
