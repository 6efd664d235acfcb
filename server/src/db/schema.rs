//! Table definitions in portable types, shared by both backends (kept in step with `migrations/`).

diesel::table! {
    org_units (id) {
        id -> Text,
        kind -> Text,
        code -> Text,
        name -> Text,
        parent_id -> Nullable<Text>,
        path -> Text,
        boundary -> Nullable<Text>,
        min_lon -> Nullable<Double>,
        min_lat -> Nullable<Double>,
        max_lon -> Nullable<Double>,
        max_lat -> Nullable<Double>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        display_name -> Text,
        role -> Text,
        org_unit_id -> Text,
        org_path -> Text,
        password_hash -> Text,
        disabled -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    tokens (id) {
        id -> Text,
        token_hash -> Text,
        kind -> Text,
        user_id -> Text,
        family_id -> Text,
        device_id -> Nullable<Text>,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    login_attempts (id) {
        id -> Text,
        ip -> Text,
        username -> Text,
        succeeded -> Bool,
        at -> Timestamp,
    }
}

diesel::table! {
    login_lockouts (username) {
        username -> Text,
        failures -> Integer,
        locked_until -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(users -> org_units (org_unit_id));
diesel::joinable!(tokens -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(
    org_units,
    users,
    tokens,
    login_attempts,
    login_lockouts
);
