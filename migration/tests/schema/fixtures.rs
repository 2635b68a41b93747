//! Rows the tests need, inserted through the entities.

use chrono::{DateTime, SubsecRound, Utc};
use entity::enums::{Role, RunItemStatus, RunOperation, RunStatus};
use entity::{
    api_tokens, audit_events, backup_items, backup_sets, baselines, drift_exceptions,
    drift_reports, fanout_runs, fanouts, memberships, notifications, object_mappings,
    run_cancellations, run_items, runs, schedule_ticks, schedules, sessions, snapshot_items,
    snapshots, tenant_retention, tenants, uploads, users,
};
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, Set};
use serde_json::json;
use uuid::Uuid;

/// The current time at the precision both backends keep (PostgreSQL: microseconds).
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

pub async fn insert_tenant(db: &DatabaseConnection, name: &str) -> tenants::Model {
    let now = now();
    let tenant = tenants::Model {
        id: Uuid::new_v4(),
        name: name.to_owned(),
        entra_tenant_id: Uuid::new_v4().to_string(),
        graph_base_url: "https://graph.microsoft.com".to_owned(),
        login_base_url: "https://login.microsoftonline.com".to_owned(),
        client_id: Uuid::new_v4().to_string(),
        client_secret_enc: "bm90LWEtcmVhbC1zZWNyZXQ=".to_owned(),
        read_quota: None,
        write_quota: None,
        quota_window_secs: None,
        credential: "secret".to_owned(),
        certificate_pem: None,
        certificate_thumbprint: None,
        certificate_expires_at: None,
        private_key_enc: None,
        disabled_at: None,
        disabled_reason: None,
        purged_at: None,
        created_at: now,
        updated_at: now,
    };
    insert_tenant_row(db, tenant).await
}

/// Inserts a tenant with only the columns every schema version has (the later ones take
/// their defaults, which the model holds).
async fn insert_tenant_row(db: &DatabaseConnection, tenant: tenants::Model) -> tenants::Model {
    let mut row: tenants::ActiveModel = tenant.clone().into();
    row.disabled_at = sea_orm::ActiveValue::NotSet;
    row.disabled_reason = sea_orm::ActiveValue::NotSet;
    row.purged_at = sea_orm::ActiveValue::NotSet;
    row.credential = sea_orm::ActiveValue::NotSet;
    row.certificate_pem = sea_orm::ActiveValue::NotSet;
    row.certificate_thumbprint = sea_orm::ActiveValue::NotSet;
    row.certificate_expires_at = sea_orm::ActiveValue::NotSet;
    row.private_key_enc = sea_orm::ActiveValue::NotSet;
    tenants::Entity::insert(row)
        .exec_without_returning(db)
        .await
        .expect("insert tenant");
    tenant
}

pub async fn insert_user(db: &DatabaseConnection, email: &str) -> users::Model {
    let now = now();
    let user = users::Model {
        id: Uuid::new_v4(),
        email: email.to_owned(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        disabled: false,
        platform_admin: false,
        created_at: now,
        updated_at: now,
    };
    let mut row: users::ActiveModel = user.clone().into();
    row.platform_admin = sea_orm::ActiveValue::NotSet;
    users::Entity::insert(row)
        .exec_without_returning(db)
        .await
        .expect("insert user");
    user
}

/// A freshly started run: `queued`, no lease, counts left to their column defaults.
pub fn queued_run(
    tenant_id: Uuid,
    initiator_id: Uuid,
    operation: RunOperation,
    target_id: Uuid,
) -> runs::ActiveModel {
    let now = now();
    runs::ActiveModel {
        id: Set(Uuid::new_v4()),
        tenant_id: Set(tenant_id),
        operation: Set(operation),
        target_type: Set(entity::enums::TargetType::BackupSet),
        target_id: Set(target_id),
        status: Set(RunStatus::Queued),
        initiator_id: Set(initiator_id),
        params: Set(json!({})),
        max_attempts: Set(3),
        queued_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

/// One row in every table, with every nullable column filled in, linked the way the
/// application links them.
pub struct Graph {
    pub tenant: tenants::Model,
    /// Target of `object_mapping`.
    pub other_tenant: tenants::Model,
    /// Member, token owner, author of the content, initiator of the runs.
    pub operator: users::Model,
    pub membership: memberships::Model,
    pub api_token: api_tokens::Model,
    pub session: sessions::Model,
    pub snapshot: snapshots::Model,
    pub snapshot_item: snapshot_items::Model,
    pub backup_set: backup_sets::Model,
    pub backup_item: backup_items::Model,
    pub run: runs::Model,
    /// A rerun of `run`.
    pub child_run: runs::Model,
    pub run_item: run_items::Model,
    pub notification: notifications::Model,
    pub audit_event: audit_events::Model,
    pub object_mapping: object_mappings::Model,
    /// What later migrations added (`None` when populated at an earlier schema).
    pub later: Option<Later>,
}

/// Rows of the tables the drift and import migrations added.
pub struct Later {
    /// `other_tenant`'s baseline is `backup_set`.
    pub baseline: baselines::Model,
    pub drift_report: drift_reports::Model,
    pub drift_exception: drift_exceptions::Model,
    pub upload: uploads::Model,
    /// `run`'s cancel request.
    pub cancellation: run_cancellations::Model,
    pub schedule: schedules::Model,
    pub tick: schedule_ticks::Model,
    /// A fan-out of `operator` whose child in `tenant` is `run`.
    pub fanout: fanouts::Model,
    pub fanout_run: fanout_runs::Model,
    pub retention: tenant_retention::Model,
    /// A fan-out's notification.
    pub fanout_notification: notifications::Model,
}

pub async fn populate(db: &DatabaseConnection) -> Graph {
    populate_schema(db, true).await
}

/// Populates a schema migrated only up to the run-spec migration: no drift or upload tables,
/// no backup-set changes.
pub async fn populate_early(db: &DatabaseConnection) -> Graph {
    populate_schema(db, false).await
}

async fn populate_schema(db: &DatabaseConnection, latest: bool) -> Graph {
    let now = now();
    let tenant = insert_tenant_row(
        db,
        tenants::Model {
            id: Uuid::new_v4(),
            name: "Contoso Ltd — Zürich".to_owned(),
            entra_tenant_id: Uuid::new_v4().to_string(),
            graph_base_url: "http://127.0.0.1:9000/graph".to_owned(),
            login_base_url: "http://127.0.0.1:9000/login".to_owned(),
            client_id: Uuid::new_v4().to_string(),
            client_secret_enc: "c2VjcmV0LWNpcGhlcnRleHQ=".to_owned(),
            read_quota: Some(100),
            write_quota: Some(10),
            quota_window_secs: Some(60),
            credential: "secret".to_owned(),
            certificate_pem: None,
            certificate_thumbprint: None,
            certificate_expires_at: None,
            private_key_enc: None,
            disabled_at: None,
            disabled_reason: None,
            purged_at: None,
            created_at: now,
            updated_at: now,
        },
    )
    .await;
    let other_tenant = insert_tenant(db, "fabrikam").await;
    let operator = insert_user(db, "operator@example.com").await;

    let membership = memberships::ActiveModel {
        id: Set(Uuid::new_v4()),
        tenant_id: Set(tenant.id),
        user_id: Set(operator.id),
        role: Set(Role::Operator),
        created_at: Set(now),
    }
    .insert(db)
    .await
    .expect("insert membership");
    let api_token = api_tokens::Model {
        id: Uuid::new_v4(),
        user_id: operator.id,
        name: "ci".to_owned(),
        token_hash: "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8".to_owned(),
        token_prefix: "pv_5e88".to_owned(),
        created_at: now,
        last_used_at: Some(now),
        revoked_at: Some(now),
        expires_at: None,
        read_only: false,
    };
    let mut row: api_tokens::ActiveModel = api_token.clone().into();
    row.expires_at = sea_orm::ActiveValue::NotSet;
    row.read_only = sea_orm::ActiveValue::NotSet;
    api_tokens::Entity::insert(row)
        .exec_without_returning(db)
        .await
        .expect("insert api token");
    let session = sessions::ActiveModel {
        id: Set(Uuid::new_v4()),
        user_id: Set(operator.id),
        token_hash: Set(
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".to_owned(),
        ),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(now + chrono::Duration::hours(12)),
        ip_address: Set(Some("192.0.2.7".to_owned())),
        user_agent: Set(Some("Mozilla/5.0 (X11; Linux x86_64)".to_owned())),
    }
    .insert(db)
    .await
    .expect("insert session");

    let run = runs::ActiveModel {
        id: Set(Uuid::new_v4()),
        tenant_id: Set(tenant.id),
        operation: Set(RunOperation::Restore),
        target_type: Set(entity::enums::TargetType::BackupSet),
        target_id: Set(Uuid::new_v4()),
        selection_digest: Set("3f2a".repeat(16)),
        status: Set(RunStatus::Partial),
        initiator_id: Set(operator.id),
        parent_run_id: Set(None),
        params: Set(json!({"confirm": "Contoso Ltd — Zürich", "policy_types": ["a", "b"]})),
        attempt: Set(2),
        progress_attempt: Set(1),
        max_attempts: Set(3),
        lease_owner: Set(Some("worker-host-1234-0".to_owned())),
        lease_token: Set(Some(Uuid::new_v4())),
        heartbeat_at: Set(Some(now)),
        queued_at: Set(now),
        started_at: Set(Some(now)),
        finished_at: Set(Some(now)),
        deadline_at: Set(Some(now)),
        total_items: Set(4),
        succeeded_items: Set(2),
        failed_items: Set(1),
        skipped_items: Set(1),
        created_items: Set(1),
        updated_items: Set(1),
        unchanged_items: Set(0),
        conflict_items: Set(1),
        deleted_items: Set(0),
        pre_restore_snapshot_id: Set(Some(Uuid::new_v4())),
        error_code: Set(Some("graph_error".to_owned())),
        error_context: Set(Some(json!({"http_status": 409, "request_id": "r-1"}))),
        summary: Set(Some("2 of 4 items restored".to_owned())),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .expect("insert run");
    let child_run = runs::ActiveModel {
        operation: Set(RunOperation::RestoreRerun),
        target_type: Set(entity::enums::TargetType::Run),
        target_id: Set(run.id),
        status: Set(RunStatus::Queued),
        parent_run_id: Set(Some(run.id)),
        ..queued_run(tenant.id, operator.id, RunOperation::RestoreRerun, run.id)
    }
    .insert(db)
    .await
    .expect("insert child run");

    // Written without the columns of later migrations and without reading the row back:
    // tests populate older schemas too.
    let snapshot = snapshots::Model {
        id: Uuid::new_v4(),
        tenant_id: tenant.id,
        run_id: Some(Uuid::new_v4()),
        policy_types: json!(["deviceConfigurations", "deviceCompliancePolicies"]),
        item_count: 1,
        purpose: "pre_restore".to_owned(),
        created_by: Some(operator.id),
        created_at: now,
        previous_snapshot_id: None,
        changes: None,
    };
    let mut row: snapshots::ActiveModel = snapshot.clone().into();
    row.previous_snapshot_id = sea_orm::ActiveValue::NotSet;
    row.changes = sea_orm::ActiveValue::NotSet;
    snapshots::Entity::insert(row)
        .exec_without_returning(db)
        .await
        .expect("insert snapshot");
    let snapshot_item = snapshot_items::ActiveModel {
        id: Set(Uuid::new_v4()),
        tenant_id: Set(tenant.id),
        snapshot_id: Set(snapshot.id),
        policy_type: Set("deviceConfigurations".to_owned()),
        source_id: Set(Uuid::new_v4().to_string()),
        display_name: Set("Baseline — Windows 11".to_owned()),
        payload: Set(
            json!({"displayName": "Baseline", "settings": [{"id": 1, "on": true}], "x": null}),
        ),
        assignments: Set(json!([{"target": {"groupId": "g-1"}}])),
        content_hash: Set("sha256:aa".to_owned()),
        created_at: Set(now),
    }
    .insert(db)
    .await
    .expect("insert snapshot item");

    let backup_set = backup_sets::Model {
        id: Uuid::new_v4(),
        tenant_id: tenant.id,
        name: "Weekly".to_owned(),
        description: Some("Compliance and configuration".to_owned()),
        policy_types: json!(["deviceCompliancePolicies"]),
        created_by: Some(operator.id),
        created_at: now,
        updated_at: now,
        last_captured_at: Some(now),
        changes: latest
            .then(|| json!([{"policy_type": "deviceCompliancePolicies", "change": "added"}])),
        changes_run_id: latest.then(Uuid::new_v4),
        changes_since: latest.then_some(now),
    };
    let mut row: backup_sets::ActiveModel = backup_set.clone().into();
    if !latest {
        // Columns the drift migration adds.
        row.changes = sea_orm::ActiveValue::NotSet;
        row.changes_run_id = sea_orm::ActiveValue::NotSet;
        row.changes_since = sea_orm::ActiveValue::NotSet;
    }
    backup_sets::Entity::insert(row)
        .exec_without_returning(db)
        .await
        .expect("insert backup set");
    let backup_item = backup_items::ActiveModel {
        id: Set(Uuid::new_v4()),
        tenant_id: Set(tenant.id),
        backup_set_id: Set(backup_set.id),
        policy_type: Set("deviceCompliancePolicies".to_owned()),
        source_id: Set(Uuid::new_v4().to_string()),
        display_name: Set("Require BitLocker".to_owned()),
        version: Set(2),
        payload: Set(json!({"displayName": "Require BitLocker", "bitLockerEnabled": true})),
        assignments: Set(json!([])),
        content_hash: Set("sha256:bb".to_owned()),
        is_latest: Set(true),
        missing_since: Set(Some(now)),
        run_id: Set(Some(Uuid::new_v4())),
        captured_at: Set(now),
    }
    .insert(db)
    .await
    .expect("insert backup item");

    let run_item = run_items::ActiveModel {
        id: Set(Uuid::new_v4()),
        run_id: Set(run.id),
        tenant_id: Set(tenant.id),
        item_key: Set(format!("backup_item:{}", backup_item.id)),
        policy_type: Set(backup_item.policy_type.clone()),
        display_name: Set(backup_item.display_name.clone()),
        source_ref: Set(Some(backup_item.id)),
        status: Set(RunItemStatus::Failed),
        action: Set(Some(entity::enums::ItemAction::Conflict)),
        error_code: Set(Some("graph_conflict".to_owned())),
        error_message: Set(Some("HTTP 409 from Graph (request r-1)".to_owned())),
        error_context: Set(Some(
            json!({"status": 409, "graph_message": "Conflict — ünïcode"}),
        )),
        match_kind: Set(Some("name".to_owned())),
        diff: Set(Some(json!({"changed": ["bitLockerEnabled"]}))),
        result_graph_id: Set(Some(Uuid::new_v4().to_string())),
        write_intent: Set(Some(json!({"method": "PATCH", "attempt": 1}))),
        attempts: Set(2),
        started_at: Set(Some(now)),
        finished_at: Set(Some(now)),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .expect("insert run item");

    let notification = notifications::Model {
        id: Uuid::new_v4(),
        user_id: operator.id,
        tenant_id: tenant.id,
        run_id: Some(run.id),
        fanout_id: None,
        kind: "run_finished".to_owned(),
        title: "Restore finished with failures".to_owned(),
        body: "2 of 4 items restored".to_owned(),
        created_at: now,
        read_at: Some(now),
        email_state: None,
        email_attempts: 0,
        email_next_at: None,
        email_error: None,
    };
    let mut row: notifications::ActiveModel = notification.clone().into();
    row.fanout_id = sea_orm::ActiveValue::NotSet;
    row.email_state = sea_orm::ActiveValue::NotSet;
    row.email_attempts = sea_orm::ActiveValue::NotSet;
    row.email_next_at = sea_orm::ActiveValue::NotSet;
    row.email_error = sea_orm::ActiveValue::NotSet;
    notifications::Entity::insert(row)
        .exec_without_returning(db)
        .await
        .expect("insert notification");
    let audit_event = audit_events::ActiveModel {
        id: Set(Uuid::new_v4()),
        tenant_id: Set(tenant.id),
        actor_id: Set(Some(operator.id)),
        action: Set("restore.live.queued".to_owned()),
        run_id: Set(Some(run.id)),
        details: Set(json!({"backup_set_id": backup_set.id})),
        created_at: Set(now),
    }
    .insert(db)
    .await
    .expect("insert audit event");
    let object_mapping = object_mappings::ActiveModel {
        id: Set(Uuid::new_v4()),
        source_tenant_id: Set(tenant.id),
        policy_type: Set(backup_item.policy_type.clone()),
        source_graph_id: Set(backup_item.source_id.clone()),
        target_tenant_id: Set(other_tenant.id),
        target_graph_id: Set(Uuid::new_v4().to_string()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .expect("insert object mapping");

    let later = if latest {
        Some(
            later(
                db,
                &tenant,
                &other_tenant,
                &operator,
                &snapshot,
                &backup_set,
                &backup_item,
                &run,
            )
            .await,
        )
    } else {
        None
    };

    Graph {
        tenant,
        other_tenant,
        operator,
        membership,
        api_token,
        session,
        snapshot,
        snapshot_item,
        backup_set,
        backup_item,
        run,
        child_run,
        run_item,
        notification,
        audit_event,
        object_mapping,
        later,
    }
}

#[allow(clippy::too_many_arguments)]
async fn later(
    db: &DatabaseConnection,
    tenant: &tenants::Model,
    other_tenant: &tenants::Model,
    operator: &users::Model,
    snapshot: &snapshots::Model,
    backup_set: &backup_sets::Model,
    backup_item: &backup_items::Model,
    run: &runs::Model,
) -> Later {
    let now = now();
    let baseline = baselines::ActiveModel {
        tenant_id: Set(other_tenant.id),
        backup_set_id: Set(backup_set.id),
        set_by: Set(Some(operator.id)),
        set_at: Set(now),
        latest_report_id: Set(Some(Uuid::new_v4())),
    }
    .insert(db)
    .await
    .expect("insert baseline");
    let drift_report = drift_reports::ActiveModel {
        id: Set(Uuid::new_v4()),
        tenant_id: Set(other_tenant.id),
        snapshot_id: Set(snapshot.id),
        backup_set_id: Set(backup_set.id),
        run_id: Set(Some(run.id)),
        computed_at: Set(now),
        score: Set(0.75),
        baseline_settings: Set(8),
        matching_settings: Set(6),
        missing: Set(1),
        extra: Set(0),
        differing: Set(1),
        excepted: Set(1),
        entries: Set(json!([{"kind": "missing", "display_name": "Require BitLocker — ü"}])),
    }
    .insert(db)
    .await
    .expect("insert drift report");
    let drift_exception = drift_exceptions::ActiveModel {
        id: Set(Uuid::new_v4()),
        tenant_id: Set(other_tenant.id),
        policy_type: Set(backup_item.policy_type.clone()),
        graph_id: Set(backup_item.source_id.clone()),
        path: Set("bitLockerEnabled".to_owned()),
        reason: Set("Kiosks run without BitLocker".to_owned()),
        created_by: Set(Some(operator.id)),
        created_at: Set(now),
    }
    .insert(db)
    .await
    .expect("insert drift exception");
    let upload = uploads::ActiveModel {
        id: Set(Uuid::new_v4()),
        tenant_id: Set(tenant.id),
        filename: Set("export — ü.zip".to_owned()),
        size_bytes: Set(4),
        sha256: Set("00ff".to_owned()),
        content: Set(vec![0x50, 0x4b, 0x00, 0xff]),
        created_by: Set(Some(operator.id)),
        created_at: Set(now),
    }
    .insert(db)
    .await
    .expect("insert upload");
    let cancellation = run_cancellations::ActiveModel {
        run_id: Set(run.id),
        tenant_id: Set(tenant.id),
        requested_by: Set(Some(operator.id)),
        requested_at: Set(now),
    }
    .insert(db)
    .await
    .expect("insert cancellation");
    let schedule = schedules::ActiveModel {
        id: Set(Uuid::new_v4()),
        tenant_id: Set(tenant.id),
        owner_id: Set(Some(operator.id)),
        operation: Set(RunOperation::BackupSetCapture),
        backup_set_id: Set(Some(backup_set.id)),
        cron: Set("0 2 * * 1-5".to_owned()),
        timezone: Set("Europe/Zürich".replace('ü', "u")),
        spread_secs: Set(600),
        enabled: Set(false),
        next_run_at: Set(Some(now)),
        last_tick_at: Set(Some(now)),
        last_run_id: Set(Some(run.id)),
        disabled_reason: Set(Some("owner_lost_access: ü".to_owned())),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .expect("insert schedule");
    let tick = schedule_ticks::ActiveModel {
        schedule_id: Set(schedule.id),
        tick_at: Set(now),
        run_id: Set(Some(run.id)),
        claimed_by: Set("pv-host-1-abc".to_owned()),
        claimed_at: Set(now),
    }
    .insert(db)
    .await
    .expect("insert tick");
    let fanout = fanouts::ActiveModel {
        id: Set(Uuid::new_v4()),
        initiator_id: Set(operator.id),
        operation: Set(RunOperation::Restore),
        params: Set(json!({"tenant_ids": [tenant.id], "note": "ü"})),
        status: Set(RunStatus::Partial),
        tenant_count: Set(2),
        summary: Set(Some(
            "Restore in 2 tenant(s): 1 succeeded, 1 failed — ü".to_owned(),
        )),
        started_at: Set(Some(now)),
        cancel_requested_at: Set(None),
        created_at: Set(now),
        finished_at: Set(Some(now)),
    }
    .insert(db)
    .await
    .expect("insert fanout");
    let fanout_run = fanout_runs::ActiveModel {
        fanout_id: Set(fanout.id),
        tenant_id: Set(tenant.id),
        run_id: Set(run.id),
        joined: Set(true),
    }
    .insert(db)
    .await
    .expect("insert fanout run");
    let retention = tenant_retention::ActiveModel {
        tenant_id: Set(tenant.id),
        snapshot_days: Set(Some(30)),
        snapshot_keep: Set(None),
        backup_versions_keep: Set(Some(5)),
        run_days: Set(Some(0)),
        updated_by: Set(Some(operator.id)),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .expect("insert tenant retention");
    let fanout_notification = notifications::ActiveModel {
        id: Set(Uuid::new_v4()),
        user_id: Set(operator.id),
        tenant_id: Set(tenant.id),
        run_id: Set(None),
        fanout_id: Set(Some(fanout.id)),
        kind: Set("fanout".to_owned()),
        title: Set("Restore in 2 tenants finished with some failures".to_owned()),
        body: Set("1 succeeded, 1 failed".to_owned()),
        created_at: Set(now),
        read_at: Set(None),
        email_state: Set(Some("failed".to_owned())),
        email_attempts: Set(6),
        email_next_at: Set(Some(now)),
        email_error: Set(Some("451 try later — ü".to_owned())),
    }
    .insert(db)
    .await
    .expect("insert fanout notification");
    Later {
        schedule,
        tick,
        fanout,
        fanout_run,
        retention,
        fanout_notification,
        baseline,
        drift_report,
        drift_exception,
        upload,
        cancellation,
    }
}
