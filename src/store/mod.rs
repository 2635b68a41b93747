//! Database access: connecting, and per-aggregate queries over `ConnectionTrait` so each
//! works on a pool or inside a transaction. Handlers never build ActiveModels themselves.

pub mod accounts;
pub mod activity;
pub mod content;
pub mod db;
pub mod drift;
pub mod email;
pub mod fanouts;
pub mod ops;
pub mod overview;
pub mod purge;
pub mod retention;
pub mod runs;
pub mod schedules;
pub mod scope;
pub mod sessions;
pub mod tenants;
pub mod uploads;
pub mod webhooks;

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::SqliteJournalMode;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr, SqlErr};
use secrecy::ExposeSecret;

use crate::settings::{DatabaseSettings, redact_url};

pub use db::Db;
pub use scope::TenantScope;

/// What a query can go wrong with, in terms callers can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique constraint rejected the write; `constraint` names what collided.
    #[error("already exists ({constraint})")]
    Conflict { constraint: String },
    /// A referenced row does not exist (or is still referenced on delete).
    #[error("refers to a missing record ({0})")]
    ForeignKey(String),
    /// A CHECK constraint rejected a value.
    #[error("value rejected by the database ({0})")]
    Check(String),
    /// The state of what is written to refuses the change; the message says why (a disabled
    /// tenant takes no starts).
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Crypto(#[from] crate::crypto::CryptoError),
    #[error("database error: {0}")]
    Db(DbErr),
}

impl From<DbErr> for StoreError {
    fn from(err: DbErr) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(detail)) => StoreError::Conflict {
                constraint: constraint_name(&detail),
            },
            Some(SqlErr::ForeignKeyConstraintViolation(detail)) => {
                StoreError::ForeignKey(constraint_name(&detail))
            }
            _ => {
                let text = err.to_string();
                let lower = text.to_lowercase();
                if lower.contains("check constraint") {
                    StoreError::Check(constraint_name(&text))
                } else if matches!(err, DbErr::RecordNotFound(_)) {
                    StoreError::NotFound
                } else {
                    StoreError::Db(err)
                }
            }
        }
    }
}

/// Pulls the constraint or column list out of a driver message, keeping no row values.
fn constraint_name(detail: &str) -> String {
    // PostgreSQL: `... violates unique constraint "ux_runs_active"`;
    // SQLite: `UNIQUE constraint failed: runs.tenant_id, runs.operation, ...`.
    if let Some(start) = detail.find('"')
        && let Some(len) = detail[start + 1..].find('"')
    {
        return detail[start + 1..start + 1 + len].to_string();
    }
    if let Some(pos) = detail.find("failed: ") {
        return detail[pos + 8..]
            .split(['\n', '('])
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
    }
    "constraint".to_string()
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// The database is away for now (connection refused or reset, pool exhausted, server
    /// shutting down, a serialization failure or deadlock, SQLite busy): the same statement
    /// may succeed later. Constraint violations and bad data never are.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Db(e) if is_transient(e))
    }
}

/// Runs `op` until it succeeds, fails for good, or the database has stayed away for
/// `budget`: transient errors ([`StoreError::is_transient`]) are retried with backoff
/// (0.2 s doubling to 5 s). For statements that are safe to repeat (upserts, guarded
/// updates, reads).
pub async fn retry_transient<T, F, Fut>(budget: Duration, mut op: F) -> StoreResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = StoreResult<T>>,
{
    let start = std::time::Instant::now();
    let mut delay = Duration::from_millis(200);
    loop {
        match op().await {
            Err(e) if e.is_transient() && start.elapsed() + delay <= budget => {
                tracing::debug!(error = %e, "database away; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            other => return other,
        }
    }
}

/// Waits until the database answers again, or `budget` has passed (false).
pub async fn wait_until_reachable(db: &DatabaseConnection, budget: Duration) -> bool {
    retry_transient(budget, || async {
        ping(db).await.map_err(StoreError::from)
    })
    .await
    .is_ok()
}

/// See [`StoreError::is_transient`].
pub fn is_transient(err: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            transient_sqlx(e)
        }
        _ => false,
    }
}

fn transient_sqlx(err: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error;
    match err {
        Error::Io(_)
        | Error::Tls(_)
        | Error::Protocol(_)
        | Error::PoolTimedOut
        | Error::WorkerCrashed => true,
        Error::Database(db) => db.code().is_some_and(|code| transient_code(&code)),
        _ => false,
    }
}

/// PostgreSQL SQLSTATEs of a database that is away or asked us to try again; SQLite's busy
/// and locked result codes.
fn transient_code(code: &str) -> bool {
    code.starts_with("08") // connection exception
        || matches!(
            code,
            "57P01" // admin_shutdown
                | "57P02" // crash_shutdown
                | "57P03" // cannot_connect_now
                | "53300" // too_many_connections
                | "40001" // serialization_failure
                | "40P01" // deadlock_detected
                | "5" // SQLITE_BUSY
                | "6" // SQLITE_LOCKED
                | "517" // SQLITE_BUSY_SNAPSHOT
        )
}

/// Why the database could not be opened or is not usable yet; one line for the operator.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot connect to the database at {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("cannot create the database directory {dir}: {source}")]
    Directory { dir: String, source: std::io::Error },
    #[error("the database schema is behind by {0} migration(s): run `policyvault migrate`")]
    SchemaBehind(usize),
    #[error("cannot read the migration state: {0}")]
    MigrationState(String),
}

/// A pooled connection idle for this long is pinged before it is handed out.
pub const IDLE_PING_AFTER_MS: u64 = 100;

/// Opens the pool. SQLite gets WAL and a busy timeout so the web process and workers of an
/// embedded install can share one file.
pub async fn connect(settings: &DatabaseSettings) -> Result<DatabaseConnection, ConnectError> {
    let url = settings.url.expose_secret().to_string();
    let mut options = ConnectOptions::new(url.clone());
    options
        .max_connections(settings.max_connections)
        .min_connections(0)
        .connect_timeout(Duration::from_secs(settings.connect_timeout_secs))
        .acquire_timeout(Duration::from_secs(
            settings.connect_timeout_secs.max(5) * 2,
        ))
        .sqlx_logging(false)
        // The pool pings every connection it takes back, so one handed out again within
        // moments was checked then; one idle for longer is pinged again before use. No
        // PostgreSQL restart completes in that time, so a connection idle across a restart
        // is still retired before it fails a request. Saves a round trip per statement
        // outside a transaction under load.
        .test_before_acquire_if_idle_for(Duration::from_millis(IDLE_PING_AFTER_MS))
        .map_sqlx_sqlite_opts(|opts| {
            opts.busy_timeout(Duration::from_secs(10))
                .journal_mode(SqliteJournalMode::Wal)
                .foreign_keys(true)
                .create_if_missing(true)
        });
    if url.starts_with("sqlite:") {
        ensure_sqlite_dir(&url)?;
    }
    Database::connect(options)
        .await
        .map_err(|e| ConnectError::Connect {
            url: redact_url(&url),
            reason: first_line(&e.to_string()),
        })
}

fn ensure_sqlite_dir(url: &str) -> Result<(), ConnectError> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path.starts_with(':') {
        return Ok(());
    }
    if let Some(dir) = std::path::Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|source| ConnectError::Directory {
            dir: dir.display().to_string(),
            source,
        })?;
    }
    Ok(())
}

pub(crate) fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_string()
}

pub async fn migrate_up(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Number of migrations this binary knows that the database has not applied.
pub async fn pending_migrations(db: &DatabaseConnection) -> Result<usize, DbErr> {
    Ok(Migrator::get_pending_migrations(db).await?.len())
}

/// Fails unless the schema is current, so a process never runs on an old schema.
pub async fn require_current_schema(db: &DatabaseConnection) -> Result<(), ConnectError> {
    match pending_migrations(db).await {
        Ok(0) => Ok(()),
        Ok(n) => Err(ConnectError::SchemaBehind(n)),
        Err(e) => Err(ConnectError::MigrationState(first_line(&e.to_string()))),
    }
}

pub async fn ping(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    db.execute_unprepared("SELECT 1").await.map(|_| ())
}

/// The `i`-th (from 1) parameter of a raw statement: `$i` on PostgreSQL, `?` elsewhere (so
/// parameters go in order there).
pub(crate) fn placeholder(backend: sea_orm::DbBackend, i: usize) -> String {
    match backend {
        sea_orm::DbBackend::Postgres => format!("${i}"),
        _ => "?".to_string(),
    }
}

/// `alias.<column> AS <prefix><column>, ...` for every column of `E`: a joined table's
/// columns in a raw select, read back with `E::Model::from_query_result(row, prefix)`.
pub(crate) fn aliased_columns<E: sea_orm::EntityTrait>(alias: &str, prefix: &str) -> String {
    use sea_orm::{IdenStatic, Iterable};
    E::Column::iter()
        .map(|c| format!("{alias}.{0} AS {prefix}{0}", c.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::{StoreError, constraint_name, transient_code};
    use sea_orm::{ConnAcquireErr, DbErr, RuntimeErr};

    #[test]
    fn an_away_database_is_transient_and_bad_data_is_not() {
        let transient = [
            DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
            DbErr::Conn(RuntimeErr::Internal("connection refused".into())),
            DbErr::Query(RuntimeErr::SqlxError(std::sync::Arc::new(
                sea_orm::sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
            ))),
            DbErr::Exec(RuntimeErr::SqlxError(std::sync::Arc::new(
                sea_orm::sqlx::Error::PoolTimedOut,
            ))),
        ];
        for err in transient {
            assert!(StoreError::from(err).is_transient());
        }
        let permanent = [
            DbErr::RecordNotFound("x".into()),
            DbErr::Custom("x".into()),
            DbErr::Query(RuntimeErr::SqlxError(std::sync::Arc::new(
                sea_orm::sqlx::Error::RowNotFound,
            ))),
        ];
        for err in permanent {
            assert!(!StoreError::from(err).is_transient());
        }
        assert!(!StoreError::NotFound.is_transient());
        for code in ["57P01", "08006", "40001", "40P01", "5"] {
            assert!(transient_code(code), "{code}");
        }
        for code in ["23505", "23503", "42P01", "22P02"] {
            assert!(!transient_code(code), "{code}");
        }
    }

    #[test]
    fn constraint_names_are_extracted() {
        assert_eq!(
            constraint_name(
                "error returned from database: duplicate key value violates unique constraint \"ux_runs_active\""
            ),
            "ux_runs_active"
        );
        assert_eq!(
            constraint_name("UNIQUE constraint failed: runs.tenant_id, runs.operation"),
            "runs.tenant_id, runs.operation"
        );
    }
}
