//! The database handle every service uses: the pool, and one pooled connection a task may
//! keep for a sequence of statements ([`Db::holding`]).
//!
//! Each statement outside a transaction borrows a connection from the pool, and the pool
//! checks every connection it takes back with a round trip of its own before another task
//! may have it. A worker's run sends some twenty statements one after another: held for the
//! run, they cost one round trip each instead of two, and the pool's check runs once.

use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::sqlx::pool::PoolConnection;
use sea_orm::sqlx::{self, Postgres};
use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    ExecResult, IsolationLevel, QueryResult, RuntimeErr, Statement, TransactionError,
    TransactionOptions, TransactionTrait,
};
use sea_query_sqlx::SqlxValues;
use tokio::sync::{Mutex, OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};

tokio::task_local! {
    /// The connection the current task holds, inside [`Db::holding`].
    static HELD: Arc<Mutex<Held>>;
}

/// The pool plus the rule for held connections. Cheap to clone (both halves are shared).
///
/// Statements through [`ConnectionTrait`] use the task's held connection when it has one;
/// transactions always take their own connection from the pool, and so does anything that
/// reaches the pool through `Deref` (migrations, streams).
#[derive(Clone, Debug)]
pub struct Db {
    pool: DatabaseConnection,
    /// Connections that may be held at once: at most half the pool, so requests, heartbeats
    /// and transactions always find the other half.
    holds: Arc<Semaphore>,
}

/// What a task inside [`Db::holding`] keeps.
#[derive(Default)]
struct Held {
    conn: Option<PoolConnection<Postgres>>,
    permit: Option<OwnedSemaphorePermit>,
    /// When its last statement ended: one idle for longer is given back and another taken,
    /// as the pool pings one idle that long (the database may have gone away meanwhile).
    last_used: Option<Instant>,
    /// A statement was under way: if the task's future was dropped during it, the
    /// connection is in an unknown state and goes back to the pool (which checks it).
    busy: bool,
}

impl Db {
    /// `max_connections` is the pool's size (`database.max_connections`).
    pub fn new(pool: DatabaseConnection, max_connections: u32) -> Self {
        let holds = (max_connections / 2).max(1) as usize;
        Self {
            pool,
            holds: Arc::new(Semaphore::new(holds)),
        }
    }

    /// The pool itself.
    pub fn pool(&self) -> &DatabaseConnection {
        &self.pool
    }

    /// Runs `fut` with one pooled connection kept for its statements, taken at the first
    /// statement and given back when `fut` ends. A statement after 100 ms or more without
    /// one takes a connection afresh, which the pool checks as it checks any idle one. Only
    /// on PostgreSQL, and only while fewer than half the pool's connections are held;
    /// otherwise statements use the pool as usual. Tasks `fut` spawns do not share it.
    pub async fn holding<F: Future>(&self, fut: F) -> F::Output {
        if self.pool.get_database_backend() != DbBackend::Postgres || HELD.try_with(|_| ()).is_ok()
        {
            return fut.await;
        }
        HELD.scope(Arc::new(Mutex::new(Held::default())), fut).await
    }

    /// The task's held connection, taken from the pool at its first statement; `None` when
    /// it has none to use (outside [`Db::holding`], or no connection may be held now).
    async fn held(&self) -> Option<Result<HeldGuard, sqlx::Error>> {
        let slot = HELD.try_with(Arc::clone).ok()?;
        let mut held = slot.lock_owned().await;
        if held.busy {
            // The previous statement's future was dropped mid-way.
            held.conn = None;
            held.busy = false;
        }
        let idle_since = held.last_used.map_or(Duration::ZERO, |t| t.elapsed());
        if idle_since >= Duration::from_millis(super::IDLE_PING_AFTER_MS) {
            held.conn = None;
        }
        if held.conn.is_none() {
            if held.permit.is_none() {
                held.permit = Some(self.holds.clone().try_acquire_owned().ok()?);
            }
            match self.pool.get_postgres_connection_pool().acquire().await {
                Ok(conn) => held.conn = Some(conn),
                Err(e) => return Some(Err(e)),
            }
        }
        held.busy = true;
        Some(Ok(HeldGuard(held)))
    }
}

/// The held connection, locked for one statement.
struct HeldGuard(OwnedMutexGuard<Held>);

impl HeldGuard {
    fn conn(&mut self) -> &mut sqlx::PgConnection {
        self.0
            .conn
            .as_mut()
            .expect("a held guard always has a connection")
    }

    /// Ends the statement; after an error of any kind the connection goes back to the pool,
    /// which checks it before anyone reuses it.
    fn done<T>(mut self, result: Result<T, sqlx::Error>) -> Result<T, sqlx::Error> {
        self.0.busy = false;
        self.0.last_used = Some(Instant::now());
        if result.is_err() {
            self.0.conn = None;
        }
        result
    }
}

impl Deref for Db {
    type Target = DatabaseConnection;

    fn deref(&self) -> &DatabaseConnection {
        &self.pool
    }
}

impl From<DatabaseConnection> for Db {
    /// A handle with the default pool size's rule (`database.max_connections` = 10).
    fn from(pool: DatabaseConnection) -> Self {
        Self::new(pool, 10)
    }
}

fn query(stmt: &Statement) -> sqlx::query::Query<'_, Postgres, SqlxValues> {
    let values = stmt
        .values
        .as_ref()
        .map_or_else(|| sea_orm::sea_query::Values(Vec::new()), Clone::clone);
    sqlx::query_with(sqlx::AssertSqlSafe(stmt.sql.as_str()), SqlxValues(values))
}

fn exec_err(e: sqlx::Error) -> DbErr {
    DbErr::Exec(RuntimeErr::SqlxError(e.into()))
}

fn query_err(e: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(e.into()))
}

#[async_trait::async_trait]
impl ConnectionTrait for Db {
    fn get_database_backend(&self) -> DbBackend {
        self.pool.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        match self.held().await {
            Some(Ok(mut held)) => {
                let result = query(&stmt).execute(held.conn()).await;
                held.done(result).map(Into::into).map_err(exec_err)
            }
            Some(Err(e)) => Err(exec_err(e)),
            None => self.pool.execute_raw(stmt).await,
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        match self.held().await {
            Some(Ok(mut held)) => {
                let sql = sqlx::AssertSqlSafe(sql.to_owned());
                let result = sqlx::Executor::execute(held.conn(), sql).await;
                held.done(result).map(Into::into).map_err(exec_err)
            }
            Some(Err(e)) => Err(exec_err(e)),
            None => self.pool.execute_unprepared(sql).await,
        }
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        match self.held().await {
            Some(Ok(mut held)) => {
                let result = query(&stmt).fetch_optional(held.conn()).await;
                held.done(result)
                    .map(|row| row.map(Into::into))
                    .map_err(query_err)
            }
            Some(Err(e)) => Err(query_err(e)),
            None => self.pool.query_one_raw(stmt).await,
        }
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match self.held().await {
            Some(Ok(mut held)) => {
                let result = query(&stmt).fetch_all(held.conn()).await;
                held.done(result)
                    .map(|rows| rows.into_iter().map(Into::into).collect())
                    .map_err(query_err)
            }
            Some(Err(e)) => Err(query_err(e)),
            None => self.pool.query_all_raw(stmt).await,
        }
    }

    fn support_returning(&self) -> bool {
        self.pool.support_returning()
    }
}

/// Transactions take a connection of their own from the pool.
#[async_trait::async_trait]
impl TransactionTrait for Db {
    type Transaction = DatabaseTransaction;

    async fn begin(&self) -> Result<DatabaseTransaction, DbErr> {
        self.pool.begin().await
    }

    async fn begin_with_config(
        &self,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<DatabaseTransaction, DbErr> {
        self.pool
            .begin_with_config(isolation_level, access_mode)
            .await
    }

    async fn begin_with_options(
        &self,
        options: TransactionOptions,
    ) -> Result<DatabaseTransaction, DbErr> {
        self.pool.begin_with_options(options).await
    }

    async fn transaction<F, T, E>(&self, callback: F) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(
                &'c DatabaseTransaction,
            ) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>>
            + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        self.pool.transaction(callback).await
    }

    async fn transaction_with_config<F, T, E>(
        &self,
        callback: F,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(
                &'c DatabaseTransaction,
            ) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>>
            + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        self.pool
            .transaction_with_config(callback, isolation_level, access_mode)
            .await
    }
}
