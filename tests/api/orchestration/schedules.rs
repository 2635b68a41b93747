//! Schedules across a fleet: one run per tenant per tick with three worker processes, two of
//! them killed and restarted; one catch-up run after every worker was down; a schedule whose
//! owner lost access stops with the reason; bad timings are 422s naming the field.

use std::process::Child;

use super::*;
use crate::helpers::{TestApp, TestTenant, TestUser};

const EVERY_SECS: i64 = 3;
/// Schedulers look every 200 ms here (1 s by default).
const FAST_POLL: &[(&str, &str)] = &[("PV__SCHEDULES__POLL_MS", "200")];

async fn detail(app: &TestApp, user: &TestUser, tenant: &TestTenant, id: &str) -> Value {
    app.get_json(user, &format!("/tenants/{}/schedules/{id}", tenant.id))
        .await
}

fn kill(worker: &mut Child) {
    let _ = worker.kill();
    let _ = worker.wait();
}

/// Tick times of a schedule's detail, in seconds since the epoch.
fn tick_secs(detail: &Value) -> Vec<i64> {
    detail["ticks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            chrono::DateTime::parse_from_rfc3339(t["tick_at"].as_str().unwrap())
                .unwrap()
                .timestamp()
        })
        .collect()
}

#[tokio::test]
async fn twenty_tenants_three_workers_two_killed_one_run_per_tick_and_one_catch_up() {
    let app = spawn_app_with(no_worker()).await;
    let operator = app.add_user("operator@example.com").await;
    let mut tenants = Vec::new();
    for i in 0..20 {
        let t = app.add_tenant(&format!("Scheduled {i:02}")).await;
        app.grant(&operator, &t, Role::Operator).await;
        tenants.push(t);
    }
    let r = app
        .post(
            &operator,
            "/schedules",
            json!({"all_tenants": true, "cron": format!("*/{EVERY_SECS} * * * * *"), "timezone": "Europe/Berlin"}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 201);
    let created: Value = r.json().await.unwrap();
    let schedules = created["schedules"].as_array().unwrap().clone();
    assert_eq!(schedules.len(), 20, "{created}");
    assert!(schedules.iter().all(|s| s["next_run_at"].is_string()));
    let id_of = |t: &TestTenant| {
        schedules
            .iter()
            .find(|s| s["tenant_id"] == t.id.to_string())
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };

    let mut workers: Vec<Child> = (0..3)
        .map(|_| spawn_worker_process_with(&app, FAST_POLL))
        .collect();
    // Three ticks or more for every tenant, while two of the workers are killed and
    // restarted (at random points of their scheduler's work) once every tenant has a
    // started tick.
    wait_until(
        Duration::from_secs(60),
        "a started tick per tenant",
        || async {
            for t in &tenants {
                let d = detail(&app, &operator, t, &id_of(t)).await;
                let ticks = d["ticks"].as_array().unwrap();
                if !ticks.iter().any(|t| t["run_id"].is_string()) {
                    return false;
                }
            }
            true
        },
    )
    .await;
    kill(&mut workers[0]);
    kill(&mut workers[1]);
    workers[0] = spawn_worker_process_with(&app, FAST_POLL);
    tokio::time::sleep(Duration::from_millis(700)).await;
    workers[1] = spawn_worker_process_with(&app, FAST_POLL);
    wait_for(
        Duration::from_secs(60),
        "three started ticks per tenant",
        || async {
            for t in &tenants {
                let d = detail(&app, &operator, t, &id_of(t)).await;
                let started = d["ticks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|t| t["run_id"].is_string())
                    .count();
                if started < 4 {
                    return Err(format!("{}: {started} ticks", t.name));
                }
            }
            Ok(())
        },
    )
    .await;

    // Every worker down for five ticks, then back: one catch-up run each, not five.
    for w in &mut workers {
        kill(w);
    }
    let down_at = chrono::Utc::now().timestamp();
    tokio::time::sleep(Duration::from_secs(5 * EVERY_SECS as u64)).await;
    let up_at = chrono::Utc::now().timestamp();
    let mut workers: Vec<Child> = (0..3)
        .map(|_| spawn_worker_process_with(&app, FAST_POLL))
        .collect();
    wait_for(
        Duration::from_secs(60),
        "a tick after the outage",
        || async {
            for t in &tenants {
                let ticks = tick_secs(&detail(&app, &operator, t, &id_of(t)).await);
                if !ticks.iter().any(|s| *s >= up_at - EVERY_SECS) {
                    return Err(format!("{}: {ticks:?}", t.name));
                }
            }
            Ok(())
        },
    )
    .await;
    // A tick a killed worker took but never started is taken over by another one.
    wait_for(
        Duration::from_secs(60),
        "every tick with its run",
        || async {
            for t in &tenants {
                let d = detail(&app, &operator, t, &id_of(t)).await;
                if d["ticks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|t| t["run_id"].is_null())
                {
                    return Err(format!("{}: {d}", t.name));
                }
            }
            Ok(())
        },
    )
    .await;
    // No new ticks from here on: the checks below see a settled history.
    for t in &tenants {
        let r = app
            .patch(
                &operator,
                &format!("/tenants/{}/schedules/{}", t.id, id_of(t)),
                json!({"enabled": false}),
            )
            .await;
        assert_eq!(r.status().as_u16(), 200);
    }
    // A poll that read a schedule before it was disabled may still add a tick: wait until
    // two reads in a row see the same ticks, every one with its run.
    let previous = std::sync::Mutex::new(Vec::new());
    wait_for(
        Duration::from_secs(30),
        "a settled tick history",
        || async {
            let mut all = Vec::new();
            for t in &tenants {
                let d = detail(&app, &operator, t, &id_of(t)).await;
                all.push(d["ticks"].clone());
            }
            let settled = all.iter().all(|ticks| {
                ticks
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|t| t["run_id"].is_string())
            });
            let mut previous = previous.lock().unwrap();
            let same = *previous == all;
            *previous = all;
            if settled && same {
                Ok(())
            } else {
                Err("ticks still changing".into())
            }
        },
    )
    .await;

    for t in &tenants {
        let id = id_of(t);
        let d = detail(&app, &operator, t, &id).await;
        let ticks = tick_secs(&d);
        // On the schedule's grid, each once (the table's key), none missing while a worker
        // was up, and none for the grid points of the outage but the latest.
        assert!(ticks.iter().all(|s| s % EVERY_SECS == 0), "{ticks:?}");
        let gaps: Vec<i64> = ticks.windows(2).map(|w| w[1] - w[0]).collect();
        let outage_gaps: Vec<&i64> = gaps.iter().filter(|g| **g > EVERY_SECS).collect();
        assert_eq!(outage_gaps.len(), 1, "{}: ticks {ticks:?}", t.name);
        let during: Vec<&i64> = ticks
            .iter()
            .filter(|s| **s > down_at + EVERY_SECS && **s < up_at - EVERY_SECS)
            .collect();
        assert!(
            during.is_empty(),
            "{}: ticks {during:?} ran during the outage",
            t.name
        );
        // One run per tick, each naming the schedule; no run of the schedule besides.
        let tick_runs: Vec<String> = d["ticks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                t["run_id"]
                    .as_str()
                    .expect("every tick has its run")
                    .to_string()
            })
            .collect();
        // Each tick's run is its own (its id derives from the tick) or, when another tick's
        // run was still going as it started (a late tick taken over from a killed worker,
        // or the previous run still busy), that run: the start path de-duplicates. Never a
        // run of no tick.
        let tick_times: Vec<chrono::DateTime<chrono::Utc>> = d["ticks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["tick_at"].as_str().unwrap().parse().unwrap())
            .collect();
        let schedule_uuid = uuid::Uuid::parse_str(&id).unwrap();
        let own: Vec<String> = tick_times
            .iter()
            .map(|at| policyvault::runs::scheduler::run_id_of(schedule_uuid, *at).to_string())
            .collect();
        for (at, run) in tick_times.iter().zip(&tick_runs) {
            assert!(own.contains(run), "{}: tick {at} ran {run}", t.name);
        }
        // A tick taken over late (from a killed worker) may join a later tick's run that is
        // still going, so the ticks sharing a run need not be neighbours; what holds is that
        // the tenant's scheduled runs are exactly the ticks' runs (below).
        let mut distinct_sorted = tick_runs.clone();
        distinct_sorted.sort();
        distinct_sorted.dedup();
        let runs = app
            .get_json(
                &operator,
                &format!(
                    "/tenants/{}/runs?operation=capture_snapshot&limit=200",
                    t.id
                ),
            )
            .await;
        let mut scheduled: Vec<String> = runs["runs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["schedule_id"] == id.as_str())
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect();
        scheduled.sort();
        assert_eq!(scheduled, distinct_sorted, "{}", t.name);
        let scheduled: Vec<&Value> = runs["runs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["schedule_id"] == id.as_str())
            .collect();
        assert!(
            scheduled
                .iter()
                .all(|r| r["initiator"] == operator.id.to_string())
        );
    }
    for w in &mut workers {
        kill(w);
    }
    app.shutdown().await;
}

#[tokio::test]
async fn a_schedule_whose_owner_lost_access_stops_and_says_why() {
    let app = spawn_app_with(spawn_default()).await;
    let tenant = app.add_tenant("Contoso").await;
    let owner = app.add_user("owner@example.com").await;
    app.grant(&owner, &tenant, Role::Operator).await;
    let admin = app.add_user("admin@example.com").await;
    app.grant(&admin, &tenant, Role::Admin).await;
    let path = format!("/tenants/{}/schedules", tenant.id);

    // Mistakes name their field.
    for (body, field) in [
        (
            json!({"operation": "capture_snapshot", "cron": "0 2 * *"}),
            "cron",
        ),
        (
            json!({"operation": "capture_snapshot", "cron": "0 2 * * *", "timezone": "Mars/Olympus"}),
            "timezone",
        ),
        (
            json!({"operation": "restore", "cron": "0 2 * * *"}),
            "operation",
        ),
        (
            json!({"operation": "backup_set_capture", "cron": "0 2 * * *"}),
            "backup_set_id",
        ),
        (
            json!({"operation": "capture_snapshot", "cron": "0 2 * * *", "spread_secs": 100000}),
            "spread_secs",
        ),
    ] {
        let r = app.post(&owner, &path, body.clone()).await;
        assert_eq!(r.status().as_u16(), 422, "{body}");
        let err: Value = r.json().await.unwrap();
        assert!(
            err["error"]["message"].as_str().unwrap().starts_with(field),
            "{body}: {err}"
        );
    }
    let viewer = app.add_user("viewer@example.com").await;
    app.grant(&viewer, &tenant, Role::Viewer).await;
    let r = app
        .post(
            &viewer,
            &path,
            json!({"operation": "capture_snapshot", "cron": "0 2 * * *"}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 403);

    let r = app
        .post(
            &owner,
            &path,
            json!({"operation": "capture_snapshot", "cron": "* * * * * *", "timezone": "UTC"}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 201);
    let body: Value = r.json().await.unwrap();
    let id = body["schedule"]["id"].as_str().unwrap().to_string();
    assert_eq!(body["schedule"]["owner_id"], owner.id.to_string());
    let started = wait_for(Duration::from_secs(30), "a scheduled run", || async {
        let d = detail(&app, &owner, &tenant, &id).await;
        match d["ticks"]
            .as_array()
            .unwrap()
            .iter()
            .find_map(|t| t["run_id"].as_str())
        {
            Some(run) => Ok(run.to_string()),
            None => Err(d.to_string()),
        }
    })
    .await;
    let run = app
        .get_json(&owner, &format!("/tenants/{}/runs/{started}", tenant.id))
        .await;
    assert_eq!(run["run"]["schedule_id"], id.as_str());

    // The owner is demoted to viewer: the next tick starts nothing and disables the schedule.
    let r = app
        .put(
            &admin,
            &format!("/tenants/{}/memberships", tenant.id),
            json!({"email": owner.email, "role": "viewer"}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let stopped = wait_for(Duration::from_secs(30), "the schedule to stop", || async {
        let d = detail(&app, &admin, &tenant, &id).await;
        if d["schedule"]["enabled"] == false {
            Ok(d)
        } else {
            Err(d.to_string())
        }
    })
    .await;
    assert!(
        stopped["schedule"]["disabled_reason"]
            .as_str()
            .unwrap()
            .starts_with("owner_lost_access"),
        "{stopped}"
    );
    assert_eq!(stopped["schedule"]["next_run_at"], Value::Null);
    let ticks_then = stopped["ticks"].as_array().unwrap().len();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let later = detail(&app, &admin, &tenant, &id).await;
    assert_eq!(later["ticks"].as_array().unwrap().len(), ticks_then);

    // An admin who enables it again becomes its owner; deleting it keeps its runs.
    let r = app
        .patch(
            &admin,
            &format!("{path}/{id}"),
            json!({"enabled": true, "cron": "0 2 * * *", "timezone": "Europe/Berlin"}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["schedule"]["owner_id"], admin.id.to_string());
    assert_eq!(body["schedule"]["disabled_reason"], Value::Null);
    let next =
        chrono::DateTime::parse_from_rfc3339(body["schedule"]["next_run_at"].as_str().unwrap())
            .unwrap()
            .with_timezone(&chrono_tz::Europe::Berlin);
    assert_eq!(chrono::Timelike::hour(&next), 2);
    let r = app.delete(&admin, &format!("{path}/{id}")).await;
    assert_eq!(r.status().as_u16(), 204);
    let r = app
        .get(&admin, &format!("/tenants/{}/runs/{started}", tenant.id))
        .await;
    assert_eq!(r.status().as_u16(), 200);
    app.shutdown().await;
}

fn spawn_default() -> crate::helpers::AppOptions {
    crate::helpers::AppOptions {
        worker: true,
        settings: vec![("schedules.poll_ms".into(), "200".into())],
        ..crate::helpers::AppOptions::default()
    }
}

/// With an injected clock: a schedule firing every minute for 20 tenants, every worker down
/// for ten minutes, then three schedulers polling at once — one catch-up run per schedule
/// (its latest missed tick), never ten.
#[tokio::test]
async fn a_ten_minute_outage_of_every_worker_gives_one_catch_up_run_each() {
    let app = spawn_app_with(no_worker()).await;
    let operator = app.add_user("operator@example.com").await;
    let mut tenants = Vec::new();
    for i in 0..20 {
        let t = app.add_tenant(&format!("Nightly {i:02}")).await;
        app.grant(&operator, &t, Role::Operator).await;
        tenants.push(t);
    }
    let created: Value = app
        .post(
            &operator,
            "/schedules",
            json!({"all_tenants": true, "cron": "* * * * *", "timezone": "Europe/Berlin"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let schedules = created["schedules"].as_array().unwrap().clone();
    assert_eq!(schedules.len(), 20, "{created}");
    let first: chrono::DateTime<chrono::Utc> = schedules[0]["next_run_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(first.timestamp() % 60, 0, "every minute, no spread");
    let orchestrator = policyvault::runs::Orchestrator::new(app.services.clone());

    // The first tick: one run each.
    let poll = orchestrator
        .poll_schedules("scheduler-a", first + chrono::Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(poll.started, 20);
    let runs = |app: &TestApp| {
        let db = app.services.db.clone();
        async move {
            use sea_orm::EntityTrait;
            entity::runs::Entity::find().all(&db).await.unwrap()
        }
    };
    let before = runs(&app).await;
    assert_eq!(before.len(), 20);
    // They end (canceled here, no worker runs), so a later tick starts a run of its own.
    for run in &before {
        let r = app
            .post(
                &operator,
                &format!("/tenants/{}/runs/{}/cancel", run.tenant_id, run.id),
                json!({}),
            )
            .await;
        assert_eq!(r.status().as_u16(), 202);
    }

    // Ten minutes with no scheduler at all, then three at once, twice. (A scheduler may
    // also take over a tick another is starting — its claim looks old to the injected
    // clock — and starts it with the same run id: still one run.)
    let back = first + chrono::Duration::minutes(10) + chrono::Duration::seconds(20);
    for _ in 0..2 {
        join_all(["scheduler-a", "scheduler-b", "scheduler-c"].map(|w| {
            let orchestrator = orchestrator.clone();
            async move { orchestrator.poll_schedules(w, back).await.unwrap() }
        }))
        .await;
    }
    let after = runs(&app).await;
    assert_eq!(after.len(), 40, "one catch-up run per schedule, not ten");
    let catch_up_tick = first + chrono::Duration::minutes(10);
    for s in &schedules {
        let id: uuid::Uuid = s["id"].as_str().unwrap().parse().unwrap();
        let tenant: uuid::Uuid = s["tenant_id"].as_str().unwrap().parse().unwrap();
        let of_tenant: Vec<_> = after.iter().filter(|r| r.tenant_id == tenant).collect();
        assert_eq!(of_tenant.len(), 2);
        let expected = policyvault::runs::scheduler::run_id_of(id, catch_up_tick);
        assert!(
            of_tenant
                .iter()
                .any(|r| r.id == expected && r.status.as_str() == "queued"),
            "the catch-up run is the latest missed tick's"
        );
    }
    // Each schedule recorded exactly two ticks: the first and the latest missed one.
    for (s, t) in schedules.iter().zip(&tenants) {
        assert_eq!(s["tenant_id"], t.id.to_string());
        let d = detail(&app, &operator, t, s["id"].as_str().unwrap()).await;
        assert_eq!(
            tick_secs(&d),
            vec![first.timestamp(), catch_up_tick.timestamp()],
            "{d}"
        );
        let next: chrono::DateTime<chrono::Utc> = d["schedule"]["next_run_at"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(next, catch_up_tick + chrono::Duration::minutes(1));
    }
    app.shutdown().await;
}
