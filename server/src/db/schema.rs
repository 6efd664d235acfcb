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
        totp_cipher -> Nullable<Text>,
        totp_enabled -> Bool,
        totp_last_step -> Nullable<BigInt>,
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

diesel::table! {
    households (id) {
        id -> Text,
        external_id -> Nullable<Text>,
        address -> Text,
        lat -> Nullable<Double>,
        lon -> Nullable<Double>,
        grid_id -> Text,
        org_path -> Text,
        grid_overridden -> Bool,
        status -> Text,
        notes -> Text,
        head_member_id -> Nullable<Text>,
        head_name -> Nullable<Text>,
        member_count -> Integer,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    household_tags (household_id, tag) {
        household_id -> Text,
        tag -> Text,
    }
}

diesel::table! {
    members (id) {
        id -> Text,
        household_id -> Text,
        position -> Integer,
        name -> Text,
        relation -> Text,
        id_cipher -> Text,
        id_key_id -> Text,
        id_blind -> Binary,
        id_masked -> Text,
        birth_date -> Date,
        gender -> Text,
        health -> Text,
        disability_type -> Nullable<Text>,
        disability_level -> Nullable<Integer>,
        daily_living -> Text,
        work_status -> Text,
        student_status -> Text,
        income -> Text,
        annual_income_fen -> BigInt,
        phone_cipher -> Nullable<Text>,
        phone_masked -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    household_status_history (id) {
        id -> Text,
        household_id -> Text,
        status -> Text,
        from_date -> Date,
        to_date -> Nullable<Date>,
        note -> Text,
        recorded_by -> Nullable<Text>,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    id_conflicts (id) {
        id -> Text,
        id_blind -> Binary,
        id_masked -> Text,
        existing_household_id -> Text,
        org_path -> Text,
        attempted -> Text,
        attempted_by -> Nullable<Text>,
        resolved -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    import_jobs (id) {
        id -> Text,
        kind -> Text,
        status -> Text,
        org_path -> Text,
        created_by -> Nullable<Text>,
        rows_read -> BigInt,
        households_created -> BigInt,
        households_unchanged -> BigInt,
        rows_rejected -> BigInt,
        errors -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    audit_journal (id) {
        id -> BigInt,
        at -> Timestamp,
        actor_id -> Nullable<Text>,
        action -> Text,
        entity -> Text,
        entity_id -> Text,
        org_path -> Text,
        detail -> Text,
        result -> Text,
        request_id -> Nullable<Text>,
    }
}

diesel::table! {
    audit_log (seq) {
        seq -> BigInt,
        at -> Timestamp,
        actor_id -> Nullable<Text>,
        action -> Text,
        entity -> Text,
        entity_id -> Text,
        org_path -> Text,
        detail -> Text,
        prev_hash -> Text,
        hash -> Text,
        result -> Text,
        request_id -> Nullable<Text>,
    }
}

diesel::table! {
    audit_head (id) {
        id -> Integer,
        seq -> BigInt,
        hash -> Text,
        keyed_after -> Nullable<BigInt>,
    }
}

diesel::joinable!(users -> org_units (org_unit_id));
diesel::joinable!(tokens -> users (user_id));
diesel::joinable!(households -> org_units (grid_id));
diesel::joinable!(members -> households (household_id));
diesel::joinable!(household_tags -> households (household_id));
diesel::joinable!(household_status_history -> households (household_id));

diesel::table! {
    forms (key) {
        key -> Text,
        title -> Text,
        latest_version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    form_versions (form_key, version) {
        form_key -> Text,
        version -> Integer,
        definition -> Text,
        published_by -> Nullable<Text>,
        published_at -> Timestamp,
    }
}

diesel::table! {
    tasks (id) {
        id -> Text,
        kind -> Text,
        household_id -> Text,
        org_path -> Text,
        form_key -> Text,
        form_version -> Nullable<Integer>,
        assignee_id -> Nullable<Text>,
        state -> Text,
        due_date -> Date,
        priority -> Integer,
        note -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    task_events (id) {
        id -> Text,
        task_id -> Text,
        from_state -> Nullable<Text>,
        to_state -> Text,
        actor_id -> Nullable<Text>,
        note -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    changes (seq) {
        seq -> BigInt,
        entity -> Text,
        entity_id -> Text,
        worker_id -> Nullable<Text>,
        op -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    change_head (id) {
        id -> Integer,
        seq -> BigInt,
    }
}

diesel::table! {
    visits (id) {
        id -> Text,
        task_id -> Text,
        household_id -> Text,
        org_path -> Text,
        worker_id -> Text,
        form_key -> Text,
        form_version -> Integer,
        answers_key_id -> Text,
        answers_sealed -> Text,
        body_hash -> Text,
        fix_as_sent -> Text,
        lat -> Double,
        lon -> Double,
        accuracy_m -> Double,
        fix_time -> Timestamp,
        mock_location -> Bool,
        started_at -> Timestamp,
        finished_at -> Timestamp,
        photo_ids -> Text,
        staff -> Text,
        supersedes -> Nullable<Text>,
        flags -> Text,
        flag_count -> Integer,
        review_state -> Text,
        review_note -> Nullable<Text>,
        reviewed_by -> Nullable<Text>,
        reviewed_at -> Nullable<Timestamp>,
        received_at -> Timestamp,
    }
}

diesel::table! {
    job_leases (name) {
        name -> Text,
        last_run_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    photos (id) {
        id -> Text,
        owner_id -> Text,
        org_path -> Text,
        media_type -> Text,
        sha256 -> Text,
        phash -> BigInt,
        phash_b0 -> Integer,
        phash_b1 -> Integer,
        phash_b2 -> Integer,
        phash_b3 -> Integer,
        width -> Integer,
        height -> Integer,
        byte_size -> BigInt,
        exif_lat -> Nullable<Double>,
        exif_lon -> Nullable<Double>,
        exif_taken_at -> Nullable<Timestamp>,
        exif_make -> Nullable<Text>,
        exif_model -> Nullable<Text>,
        original_key -> Text,
        display_key -> Text,
        thumb_key -> Text,
        visit_id -> Nullable<Text>,
        household_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    uploads (id) {
        id -> Text,
        owner_id -> Text,
        photo_id -> Text,
        length -> BigInt,
        sha256 -> Text,
        committed -> BigInt,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    standards (district_code, effective_from) {
        district_code -> Text,
        effective_from -> Date,
        s_urban -> Nullable<BigInt>,
        s_rural -> Nullable<BigInt>,
        d_urban -> Nullable<BigInt>,
        d_rural -> Nullable<BigInt>,
        k -> Nullable<Double>,
        r -> Nullable<Double>,
        x -> Nullable<BigInt>,
        p -> Nullable<Double>,
        approval_delegated -> Bool,
        demo -> Bool,
        note -> Text,
        recorded_by -> Nullable<Text>,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    rules (id, version) {
        id -> Text,
        version -> Integer,
        definition -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    rule_gaps (rule_id, district_code, missing) {
        rule_id -> Text,
        district_code -> Text,
        missing -> Text,
        rule_version -> Integer,
        times -> BigInt,
        first_seen -> Timestamp,
        last_seen -> Timestamp,
    }
}

diesel::table! {
    findings (id) {
        id -> Text,
        kind -> Text,
        household_id -> Nullable<Text>,
        self_report_id -> Nullable<Text>,
        org_path -> Text,
        rule_id -> Nullable<Text>,
        rule_version -> Nullable<Integer>,
        source -> Text,
        source_id -> Nullable<Text>,
        inputs -> Text,
        computed -> Text,
        categories -> Text,
        state -> Text,
        reason -> Nullable<Text>,
        application_id -> Nullable<Text>,
        closed_by -> Nullable<Text>,
        closed_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    applications (id) {
        id -> Text,
        household_id -> Text,
        org_path -> Text,
        finding_id -> Nullable<Text>,
        state -> Text,
        delegated -> Bool,
        visit_id -> Nullable<Text>,
        data_check -> Nullable<Text>,
        objections -> Integer,
        submitted_at -> Timestamp,
        accepted_at -> Nullable<Timestamp>,
        notice_ends_on -> Nullable<Date>,
        decided_at -> Nullable<Timestamp>,
        exit_until -> Nullable<Date>,
        step_due -> Nullable<Date>,
        total_due -> Nullable<Date>,
        version -> BigInt,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    application_categories (application_id, category) {
        application_id -> Text,
        category -> Text,
        department -> Text,
        status -> Text,
        note -> Nullable<Text>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    application_events (application_id, seq) {
        application_id -> Text,
        seq -> Integer,
        action -> Text,
        from_state -> Nullable<Text>,
        to_state -> Text,
        actor_id -> Nullable<Text>,
        actor_role -> Nullable<Text>,
        note -> Text,
        public_note -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    citizen_codes (user_id) {
        user_id -> Text,
        code_hash -> Text,
        expires_at -> Timestamp,
        attempts -> Integer,
        verified_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    self_reports (id) {
        id -> Text,
        citizen_id -> Text,
        org_path -> Text,
        grid_id -> Nullable<Text>,
        household_id -> Nullable<Text>,
        description -> Text,
        category_hint -> Nullable<Text>,
        location_as_sent -> Text,
        lat -> Double,
        lon -> Double,
        phone_cipher -> Text,
        phone_masked -> Text,
        photo_ids -> Text,
        status -> Text,
        public_note -> Text,
        finding_id -> Nullable<Text>,
        task_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    department_records (source, record_id) {
        source -> Text,
        record_id -> Text,
        import_id -> Text,
        line -> BigInt,
        id_blind -> Binary,
        id_masked -> Text,
        member_id -> Nullable<Text>,
        household_id -> Nullable<Text>,
        event_date -> Date,
        amount_fen -> Nullable<BigInt>,
        detail -> Text,
        imported_at -> Timestamp,
    }
}

diesel::table! {
    department_imports (id) {
        id -> Text,
        source -> Text,
        org_path -> Text,
        rows_read -> BigInt,
        matched -> BigInt,
        unmatched -> BigInt,
        duplicates -> BigInt,
        rejected -> BigInt,
        findings_opened -> BigInt,
        tasks_created -> BigInt,
        errors -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    jobs (id) {
        id -> Text,
        kind -> Text,
        payload -> Text,
        org_path -> Text,
        state -> Text,
        attempts -> Integer,
        runs -> Integer,
        result -> Nullable<Text>,
        error -> Nullable<Text>,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        started_at -> Nullable<Timestamp>,
        finished_at -> Nullable<Timestamp>,
        progress -> Nullable<Text>,
    }
}

diesel::joinable!(tasks -> households (household_id));
diesel::joinable!(task_events -> tasks (task_id));
diesel::joinable!(form_versions -> forms (form_key));
diesel::joinable!(visits -> tasks (task_id));
diesel::joinable!(application_events -> applications (application_id));

diesel::allow_tables_to_appear_in_same_query!(
    org_units,
    users,
    tokens,
    login_attempts,
    login_lockouts,
    households,
    household_tags,
    members,
    household_status_history,
    id_conflicts,
    import_jobs,
    audit_log,
    audit_head,
    audit_journal,
    forms,
    form_versions,
    tasks,
    task_events,
    changes,
    change_head,
    visits,
    job_leases,
    photos,
    uploads,
    standards,
    rules,
    rule_gaps,
    findings,
    applications,
    application_categories,
    application_events,
    citizen_codes,
    self_reports,
    department_records,
    department_imports,
    jobs,
);
