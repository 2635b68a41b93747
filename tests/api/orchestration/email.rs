//! E-mail copies of notifications against a local SMTP server: a failed run's notification
//! is mailed to its initiator (subject, link, sender as configured), a transient refusal is
//! retried, a notification nobody wanted is not mailed, and a disabled configuration sends
//! nothing.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::*;

type Mails = Arc<Mutex<Vec<String>>>;

/// A minimal SMTP server on port 0 (plain, no extensions). It refuses the first message
/// with `451` (try again later) and accepts the rest, recording each accepted message.
async fn smtp_server() -> (u16, Mails, Arc<Mutex<u32>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mails: Mails = Arc::default();
    let refused = Arc::new(Mutex::new(0u32));
    let (store, refusals) = (mails.clone(), refused.clone());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (store, refusals) = (store.clone(), refusals.clone());
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 fake.example ESMTP\r\n").await;
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(message) = data.as_mut() {
                        if line == "." {
                            let message = data.take().unwrap_or_default();
                            let first = {
                                let mut r = refusals.lock().unwrap();
                                *r += 1;
                                *r == 1
                            };
                            if first {
                                let _ = write.write_all(b"451 4.3.0 try again later\r\n").await;
                            } else {
                                store.lock().unwrap().push(message);
                                let _ = write.write_all(b"250 2.0.0 queued\r\n").await;
                            }
                        } else {
                            message.push_str(&line);
                            message.push('\n');
                        }
                        continue;
                    }
                    let verb = line
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 fake.example\r\n",
                        "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 2.1.0 ok\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 end with .\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            return;
                        }
                        _ => b"502 not implemented\r\n",
                    };
                    let _ = write.write_all(reply).await;
                }
            });
        }
    });
    (port, mails, refused)
}

#[tokio::test]
async fn a_failed_runs_notification_is_mailed_and_a_refusal_retried() {
    let (port, mails, refused) = smtp_server().await;
    let url = format!("smtp://127.0.0.1:{port}");
    let app = spawn_app_with(crate::helpers::AppOptions {
        worker: true,
        settings: vec![
            ("smtp.enabled".into(), "true".into()),
            ("smtp.url".into(), url),
            ("smtp.from".into(), "PolicyVault <pv@msp.example>".into()),
        ],
        ..crate::helpers::AppOptions::default()
    })
    .await;
    let tenant = app.add_tenant("Contoso").await;
    load_some_policies(&app, &tenant, 2).await;
    let operator = app.add_user("operator@example.com").await;
    app.grant(&operator, &tenant, Role::Operator).await;
    // A capture that succeeds tells nobody by default (so nothing is mailed) ...
    let ok: Value = app
        .post(
            &operator,
            &format!("/tenants/{}/snapshots", tenant.id),
            json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    let ok_id = ok["run"]["id"].as_str().unwrap().to_string();
    app.wait_for_terminal(&operator, tenant.id, &ok_id, TERMINAL_WAIT)
        .await;
    // ... a capture that fails does.
    // (The worker holds a token already: Graph itself refuses.)
    app.sim_fault(&tenant, json!({"kind": "error_rate", "status": 403}))
        .await;
    let failed: Value = app
        .post(
            &operator,
            &format!("/tenants/{}/snapshots", tenant.id),
            json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    let failed_id = failed["run"]["id"].as_str().unwrap().to_string();
    let run = app
        .wait_for_terminal(&operator, tenant.id, &failed_id, TERMINAL_WAIT)
        .await;
    assert_eq!(run["status"], "failed", "{run}");

    // The first attempt is refused (451) and retried after its backoff: the test moves the
    // retry forward rather than waiting 30 s.
    wait_until(Duration::from_secs(20), "the first attempt", || async {
        *refused.lock().unwrap() >= 1
    })
    .await;
    let notification = wait_for(Duration::from_secs(20), "the retry recorded", || async {
        use sea_orm::EntityTrait;
        let rows = entity::notifications::Entity::find()
            .all(&app.services.db)
            .await
            .unwrap();
        match rows
            .iter()
            .find(|n| n.email_state.as_deref() == Some("pending") && n.email_attempts == 1)
        {
            Some(n) => Ok(n.clone()),
            None => Err(format!("{rows:?}")),
        }
    })
    .await;
    assert!(
        notification
            .email_error
            .as_deref()
            .unwrap_or_default()
            .contains("451"),
        "{notification:?}"
    );
    {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        entity::notifications::Entity::update_many()
            .col_expr(
                entity::notifications::Column::EmailNextAt,
                sea_orm::prelude::Expr::value(chrono::Utc::now()),
            )
            .filter(entity::notifications::Column::Id.eq(notification.id))
            .exec(&app.services.db)
            .await
            .unwrap();
    }
    wait_until(Duration::from_secs(20), "the mail accepted", || async {
        !mails.lock().unwrap().is_empty()
    })
    .await;
    // Quoted-printable: soft line breaks undone.
    let mail = mails.lock().unwrap()[0].replace("=\n", "");
    assert!(mail.contains("To: operator@example.com"), "{mail}");
    assert!(
        mail.contains("From: PolicyVault <pv@msp.example>"),
        "{mail}"
    );
    assert!(
        mail.contains("Subject: [PolicyVault] Contoso: Snapshot capture failed"),
        "{mail}"
    );
    assert!(
        mail.contains(&format!("/tenants/{}/runs/{failed_id}", tenant.id)),
        "{mail}"
    );
    for secret in ["sim-secret", "Bearer", "client_secret"] {
        assert!(!mail.contains(secret), "{secret} in {mail}");
    }
    let sent = wait_for(
        Duration::from_secs(10),
        "the notification marked sent",
        || async {
            use sea_orm::EntityTrait;
            let n = entity::notifications::Entity::find_by_id(notification.id)
                .one(&app.services.db)
                .await
                .unwrap()
                .unwrap();
            if n.email_state.as_deref() == Some("sent") {
                Ok(n)
            } else {
                Err(format!("{n:?}"))
            }
        },
    )
    .await;
    assert_eq!(sent.email_attempts, 2);
    // Exactly one mail: mails come from notifications, and the successful capture (long
    // finished, its notifications written before it ended) notified nobody.
    {
        use sea_orm::EntityTrait;
        let all = entity::notifications::Entity::find()
            .all(&app.services.db)
            .await
            .unwrap();
        assert_eq!(all.len(), 1, "{all:?}");
        assert_eq!(all[0].id, notification.id);
        assert_ne!(all[0].run_id.map(|r| r.to_string()), Some(ok_id.clone()));
    }
    assert_eq!(mails.lock().unwrap().len(), 1);
    app.shutdown().await;
}

#[test]
fn a_bad_smtp_configuration_names_the_key() {
    let load = |pairs: &[(&str, &str)]| {
        let mut overrides: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        overrides.push(("smtp.enabled".into(), "true".into()));
        policyvault::settings::Settings::load(&policyvault::settings::SettingsSource {
            config_dir: Some(concat!(env!("CARGO_MANIFEST_DIR"), "/config").into()),
            env: Some("test".into()),
            overrides,
            use_process_env: false,
        })
    };
    let err = load(&[("smtp.url", "http://mail.example")]).unwrap_err();
    assert!(err.to_string().contains("smtp.url"), "{err}");
    let err = load(&[("smtp.from", "not an address")]).unwrap_err();
    assert!(err.to_string().contains("smtp.from"), "{err}");
    assert!(load(&[("smtp.url", "smtps://user:pw@mail.example:465")]).is_ok());
}
