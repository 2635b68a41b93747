//! Store tests on both databases: every aggregate written and read back through the store
//! layer, and constraint violations surfacing as typed errors.

use entity::enums::{ItemAction, Role, RunItemStatus, RunOperation, RunStatus, TargetType};
use policyvault::crypto::SecretBox;
use policyvault::domain::{Email, Password, TenantName};
use policyvault::store::activity::{self, NewAuditEvent, NewNotification};
use policyvault::store::content::{self, CapturedObject, NewBackupSet, SyncOutcome};
use policyvault::store::runs::{self as run_store, ItemResult, NewRun, PlannedItem, Terminal};
use policyvault::store::{self, StoreError, TenantScope, accounts, tenants};
use sea_orm::DatabaseConnection;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::TestDb;

/// Two `#[tokio::test]`s, `$sqlite` and `$postgres`, each running `$body(&connection)` on a
/// fresh, migrated database of its kind (PostgreSQL from `PV_TEST_DATABASE_URL`).
macro_rules! on_both_databases {
    ($sqlite:ident, $postgres:ident, $body:path) => {
        #[tokio::test]
        async fn $sqlite() {
            let db = crate::helpers::TestDb::sqlite();
            $body(&connect(&db).await).await;
            db.drop_db().await;
        }

        #[tokio::test]
        async fn $postgres() {
            let db = crate::helpers::TestDb::create().await;
            assert!(
                db.is_postgres(),
                "PV_TEST_DATABASE_URL must name a PostgreSQL server (scripts/test.sh sets it)"
            );
            $body(&connect(&db).await).await;
            db.drop_db().await;
        }
    };
}

mod captured_items;
mod held;
mod isolation;
mod retention;
mod round_trip;
mod sealing;
mod start_statement;
mod surroundings;
mod writers;

const KEY: &str = "dGVzdC1rZXktZm9yLXBvbGljeXZhdWx0LXRlc3RzISE=";

async fn connect(db: &TestDb) -> DatabaseConnection {
    let settings = crate::helpers::settings_for(&db.url, "unused", &[]);
    let conn = store::connect(&settings.database).await.expect("connect");
    store::migrate_up(&conn).await.expect("migrate");
    conn
}

fn new_tenant(name: &str) -> tenants::NewTenant {
    tenants::NewTenant {
        name: TenantName::parse(name).unwrap(),
        entra_tenant_id: Uuid::new_v4().to_string(),
        client_id: Uuid::new_v4().to_string(),
        credential: tenants::NewCredential::Secret(SecretString::from(
            "client-secret-value".to_string(),
        )),
        graph_base_url: "http://127.0.0.1:1".into(),
        login_base_url: "http://127.0.0.1:1".into(),
    }
}

/// A user of the test password, by e-mail.
async fn new_user(db: &DatabaseConnection, email: &str) -> entity::users::Model {
    accounts::create_user(
        db,
        &Email::parse(email).unwrap(),
        &Password::parse(SecretString::from("correct horse battery".to_string())).unwrap(),
    )
    .await
    .unwrap()
}

fn new_run(tenant: Uuid, user: Uuid, target: Uuid) -> NewRun {
    NewRun {
        id: Uuid::now_v7(),
        tenant_id: tenant,
        operation: RunOperation::CaptureSnapshot,
        target_type: entity::enums::TargetType::Tenant,
        target_id: target,
        selection_digest: String::new(),
        initiator_id: user,
        parent_run_id: None,
        params: json!({}),
        max_attempts: 3,
    }
}

/// A new capture of `tenant` by `user`, claimed by a worker: ready for its items.
async fn claimed_capture(db: &DatabaseConnection, tenant: Uuid, user: Uuid) -> entity::runs::Model {
    let run = run_store::insert(db, new_run(tenant, user, tenant))
        .await
        .unwrap();
    let claimed = run_store::claim(
        db,
        run.id,
        "w",
        Uuid::new_v4(),
        chrono::Duration::hours(1),
        5,
    )
    .await
    .unwrap()
    .expect("a new run is claimed");
    claimed.run
}
