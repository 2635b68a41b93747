//! A task's held connection (`store::Db::holding`): one backend serves its statements,
//! transactions still take their own, a failed or abandoned statement gives the connection
//! back, and no more than half the pool is ever held.

use std::sync::Arc;
use std::time::Duration;

use policyvault::store::Db;
use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};

use super::connect;
use crate::helpers::{TestDb, wait_for};

/// How long the pool may take to check a connection it takes back.
const WAIT: Duration = Duration::from_secs(2);

async fn backend(db: &impl ConnectionTrait) -> i32 {
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT pg_backend_pid() AS pid",
        ))
        .await
        .expect("query")
        .expect("a row");
    row.try_get::<i32>("", "pid").expect("pid")
}

async fn postgres() -> (TestDb, Db) {
    let test_db = TestDb::create().await;
    assert!(
        test_db.is_postgres(),
        "PV_TEST_DATABASE_URL must name a PostgreSQL server (scripts/test.sh sets it)"
    );
    let db = Db::new(connect(&test_db).await, 4);
    (test_db, db)
}

#[tokio::test]
async fn a_held_connection_serves_the_tasks_statements_but_not_its_transactions() {
    let (_test_db, db) = postgres().await;
    db.holding(async {
        let first = backend(&db).await;
        for _ in 0..5 {
            assert_eq!(
                backend(&db).await,
                first,
                "every statement on the held backend"
            );
        }
        // Written through the held connection and committed at once: another connection
        // (the transaction's) sees it.
        db.execute_unprepared("CREATE TABLE held_probe (n int)")
            .await
            .unwrap();
        db.execute_unprepared("INSERT INTO held_probe VALUES (1)")
            .await
            .unwrap();
        let txn = db.begin().await.unwrap();
        assert_ne!(
            backend(&txn).await,
            first,
            "a transaction takes its own connection"
        );
        let seen = txn
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT count(*)::int AS n FROM held_probe",
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get::<i32>("", "n")
            .unwrap();
        assert_eq!(seen, 1);
        txn.commit().await.unwrap();
        assert_eq!(backend(&db).await, first);
        // Nested holding keeps the outer connection.
        assert_eq!(db.holding(backend(&db)).await, first);
    })
    .await;
}

#[tokio::test]
async fn a_failed_or_abandoned_statement_gives_the_held_connection_back() {
    let (_test_db, db) = postgres().await;
    db.holding(async {
        let first = backend(&db).await;
        let err = db.execute_unprepared("SELEC 1").await.unwrap_err();
        assert!(err.to_string().contains("syntax error"), "{err}");
        let second = backend(&db).await;
        assert_ne!(second, first, "a fresh connection after an error");
        assert_eq!(backend(&db).await, second);

        // Abandoned mid-statement (a timeout dropped it): the connection's state is unknown,
        // so the next statement runs on another one.
        let slow = db.execute_unprepared("SELECT pg_sleep(2)");
        assert!(
            tokio::time::timeout(Duration::from_millis(50), slow)
                .await
                .is_err()
        );
        let third = backend(&db).await;
        assert_ne!(third, second);
        assert_eq!(backend(&db).await, third);
    })
    .await;
}

/// The database went away while the task was between statements (here its backend is
/// terminated): the next statement after an idle spell does not fail on the dead
/// connection, as one taken from the pool would not.
#[tokio::test]
async fn a_held_connection_idle_while_the_database_went_away_is_not_used_again() {
    let (_test_db, db) = postgres().await;
    let other = db.pool().clone();
    db.holding(async {
        let first = backend(&db).await;
        other
            .execute_unprepared(&format!("SELECT pg_terminate_backend({first})"))
            .await
            .unwrap();
        // Wait on the backend's exit, not for it ...
        crate::helpers::wait_until(
            Duration::from_secs(10),
            "the terminated backend to exit",
            || async {
                let row = other
                    .query_one_raw(Statement::from_string(
                        DbBackend::Postgres,
                        format!("SELECT count(*) AS n FROM pg_stat_activity WHERE pid = {first}"),
                    ))
                    .await
                    .expect("query")
                    .expect("a row");
                row.try_get::<i64>("", "n").expect("n") == 0
            },
        )
        .await;
        // ... and let the held connection be idle for longer than the pool pings after.
        let idle = Duration::from_millis(policyvault::store::IDLE_PING_AFTER_MS + 50);
        tokio::time::sleep(idle).await;
        let second = backend(&db).await;
        assert_ne!(second, first);
        assert_eq!(backend(&db).await, second);
    })
    .await;
}

#[tokio::test]
async fn at_most_half_the_pool_is_held_and_the_other_tasks_still_run() {
    let (_test_db, db) = postgres().await;
    // A pool of 4: two may be held. Three tasks each run a statement, then wait for each
    // other while holding whatever they hold.
    let barrier = Arc::new(tokio::sync::Barrier::new(4));
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            let (db, barrier) = (db.clone(), barrier.clone());
            tokio::spawn(async move {
                db.holding(async {
                    let first = backend(&db).await;
                    barrier.wait().await;
                    barrier.wait().await;
                    (first, backend(&db).await)
                })
                .await
            })
        })
        .collect();
    barrier.wait().await;
    let pool = db.pool().get_postgres_connection_pool();
    // The connection of the task that holds none goes back to the pool (after the pool's
    // own check); the two held stay out.
    let checked_out = || pool.size() as usize - pool.num_idle();
    wait_for(
        WAIT,
        "2 connections checked out while three tasks hold",
        || async {
            match checked_out() {
                2 => Ok(()),
                n => Err(format!("{n} checked out")),
            }
        },
    )
    .await;
    barrier.wait().await;
    let mut kept = 0;
    for task in tasks {
        let (before, after) = task.await.unwrap();
        kept += usize::from(before == after);
    }
    assert!(kept >= 2, "the two holders keep their backends ({kept})");
    // Every held connection went back when its task ended.
    wait_for(WAIT, "every connection back in the pool", || async {
        match checked_out() {
            0 => Ok(()),
            n => Err(format!("{n} checked out")),
        }
    })
    .await;
}
