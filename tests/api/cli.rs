//! The binary's behaviour for operators: bad configuration and unreachable services give a
//! one-line error and a non-zero exit, never a panic; every command has `--help`.

use std::process::{Command, Output};

fn policyvault(args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = std::env::temp_dir().join(format!("pv-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_policyvault"))
        .args(args)
        .current_dir(&dir)
        .env_remove("PV_ENV")
        .envs(env.iter().copied())
        .output()
        .expect("run policyvault");
    let _ = std::fs::remove_dir_all(&dir);
    output
}

fn assert_one_line_failure(output: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(lines[0].contains(needle), "{needle:?} not in {stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"));
}

#[test]
fn a_bad_config_value_names_the_key() {
    let output = policyvault(&["migrate"], &[("PV__SERVER__PORT", "abc")]);
    assert_one_line_failure(&output, "server.port");
    let output = policyvault(&["migrate"], &[("PV__WORKER__CONCURRENCY", "0")]);
    assert_one_line_failure(&output, "worker.concurrency");
    let output = policyvault(&["migrate"], &[("PV__SERVER__NOPE", "1")]);
    assert_one_line_failure(&output, "nope");
}

#[test]
fn an_unreachable_database_is_one_line_without_its_password() {
    let output = policyvault(
        &["migrate"],
        &[("PV__DATABASE__URL", "postgres://pv:hunter2@127.0.0.1:1/pv")],
    );
    assert_one_line_failure(
        &output,
        "cannot connect to the database at postgres://127.0.0.1:1/pv",
    );
    assert!(!String::from_utf8_lossy(&output.stderr).contains("hunter2"));
}

#[test]
fn an_unreachable_redis_is_one_line() {
    let output = policyvault(&["serve"], &[("PV__REDIS__URL", "redis://127.0.0.1:1")]);
    assert_one_line_failure(&output, "cannot connect to Redis at redis://127.0.0.1:1");
}

#[test]
fn every_command_has_help() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["worker", "--help"],
        vec!["all", "--help"],
        vec!["migrate", "--help"],
        vec!["demo", "--help"],
        vec!["tenant", "add", "--help"],
        vec!["user", "add", "--help"],
        vec!["membership", "grant", "--help"],
        vec!["token", "create", "--help"],
        vec!["token", "list", "--help"],
        vec!["token", "revoke", "--help"],
        vec!["schedule", "add", "--help"],
        vec!["schedule", "list", "--help"],
    ] {
        let output = policyvault(&args, &[]);
        assert!(output.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("Usage:"),
            "{args:?}"
        );
    }
}

#[test]
fn tokens_can_be_listed_and_revoked_from_the_command_line() {
    let dir = std::env::temp_dir().join(format!("pv-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_policyvault"))
            .args(args)
            .current_dir(&dir)
            .env_remove("PV_ENV")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).to_string()
    };
    run(&["migrate"]);
    run(&[
        "user",
        "add",
        "--email",
        "ops@example.com",
        "--password",
        "long enough password",
    ]);
    let token = run(&[
        "token",
        "create",
        "--email",
        "ops@example.com",
        "--name",
        "ci",
    ]);
    assert!(token.trim().starts_with("pv_"));
    let listed = run(&["token", "list", "--email", "ops@example.com"]);
    assert!(
        !listed.contains(token.trim()),
        "the secret is shown once only"
    );
    let row = listed
        .lines()
        .find(|l| l.contains("\tci\t"))
        .expect("the token is listed");
    let id = row.split('\t').next().unwrap();
    assert!(row.ends_with("\t-"), "not revoked yet: {row}");
    run(&["token", "revoke", "--id", id]);
    let listed = run(&["token", "list", "--email", "ops@example.com"]);
    let row = listed.lines().find(|l| l.contains("\tci\t")).unwrap();
    assert!(!row.ends_with("\t-"), "revoked: {row}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn schedules_can_be_added_and_listed_from_the_command_line() {
    let dir = std::env::temp_dir().join(format!("pv-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_policyvault"))
            .args(args)
            .current_dir(&dir)
            .env_remove("PV_ENV")
            .output()
            .unwrap()
    };
    let ok = |args: &[&str]| {
        let output = run(args);
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).to_string()
    };
    ok(&["migrate"]);
    ok(&[
        "user",
        "add",
        "--email",
        "ops@example.com",
        "--password",
        "long enough password",
    ]);
    ok(&[
        "tenant",
        "add",
        "--name",
        "Contoso",
        "--entra-tenant-id",
        "contoso.example",
        "--client-id",
        "c",
        "--client-secret",
        "s",
    ]);
    let add = |cron: &str| {
        run(&[
            "schedule",
            "add",
            "--tenant",
            "Contoso",
            "--owner",
            "ops@example.com",
            "--cron",
            cron,
            "--timezone",
            "Europe/Berlin",
            "--spread-secs",
            "900",
        ])
    };
    // The owner must be able to start captures there.
    assert_one_line_failure(&add("0 2 * * *"), "not a member of Contoso");
    ok(&[
        "membership",
        "grant",
        "--email",
        "ops@example.com",
        "--tenant",
        "Contoso",
        "--role",
        "operator",
    ]);
    let output = add("0 2 * * *");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let id = String::from_utf8_lossy(&output.stdout).trim().to_string();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    assert!(String::from_utf8_lossy(&output.stderr).starts_with("next run: "));
    assert_one_line_failure(&add("0 2 * *"), "--cron");
    let listed = ok(&["schedule", "list", "--tenant", "Contoso"]);
    let row = listed.lines().find(|l| l.starts_with(&id)).expect("listed");
    assert!(
        row.contains("capture_snapshot\t0 2 * * *\tEurope/Berlin\tenabled"),
        "{row}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_tenant_can_be_edited_from_the_command_line() {
    let dir = std::env::temp_dir().join(format!("pv-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |args: &[&str], stdin: Option<&str>| {
        use std::io::Write;
        let mut child = Command::new(env!("CARGO_BIN_EXE_policyvault"))
            .args(args)
            .current_dir(&dir)
            .env_remove("PV_ENV")
            .env_remove("PV_CLIENT_SECRET")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(text) = stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
        }
        child.wait_with_output().unwrap()
    };
    let ok = |args: &[&str], stdin: Option<&str>| {
        let output = run(args, stdin);
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).to_string()
    };
    ok(&["migrate"], None);
    ok(
        &[
            "tenant",
            "add",
            "--name",
            "Contoso",
            "--entra-tenant-id",
            "contoso.example",
            "--client-id",
            "c",
            "--client-secret",
            "mistyped",
        ],
        None,
    );
    let edited = ok(
        &[
            "tenant",
            "edit",
            "--tenant",
            "Contoso",
            "--name",
            "Contoso Ltd",
            "--client-secret-stdin",
        ],
        Some("the-right-secret\n"),
    );
    assert!(
        edited.contains("Contoso Ltd") && edited.contains("client_secret"),
        "{edited}"
    );
    assert!(!edited.contains("the-right-secret"), "{edited}");
    let list = ok(&["tenant", "list"], None);
    assert!(list.contains("Contoso Ltd"), "{list}");
    assert_one_line_failure(
        &run(
            &[
                "tenant",
                "edit",
                "--tenant",
                "Contoso Ltd",
                "--graph-base-url",
                "ftp://graph",
            ],
            None,
        ),
        "--graph-base-url",
    );
    assert_one_line_failure(
        &run(
            &["tenant", "edit", "--tenant", "Nobody", "--name", "X"],
            None,
        ),
        "tenant not found",
    );
    assert_one_line_failure(
        &run(&["tenant", "edit", "--tenant", "Contoso Ltd"], None),
        "give at least one",
    );
    // A certificate instead of the secret; an unusable one names the flag.
    let pem_file = dir.join("app.pem");
    std::fs::write(&pem_file, crate::helpers::certificate_pem("cli")).unwrap();
    let pem = pem_file.to_str().unwrap();
    let edited = ok(
        &[
            "tenant",
            "edit",
            "--tenant",
            "Contoso Ltd",
            "--certificate-file",
            pem,
        ],
        None,
    );
    assert!(edited.contains("changed: certificate"), "{edited}");
    let bad_file = dir.join("bad.pem");
    std::fs::write(&bad_file, "not a certificate").unwrap();
    assert_one_line_failure(
        &run(
            &[
                "tenant",
                "edit",
                "--tenant",
                "Contoso Ltd",
                "--certificate-file",
                bad_file.to_str().unwrap(),
            ],
            None,
        ),
        "--certificate-file: no certificate found",
    );
    // By directory id alone only with a shared app configured.
    let add_by_directory = [
        "tenant",
        "add",
        "--name",
        "Fabrikam",
        "--entra-tenant-id",
        "fabrikam.example",
    ];
    assert_one_line_failure(&run(&add_by_directory, None), "shared_app.client_id");
    assert_one_line_failure(
        &run(
            &[
                "tenant",
                "edit",
                "--tenant",
                "Contoso Ltd",
                "--use-shared-app",
            ],
            None,
        ),
        "--use-shared-app: no shared app is configured",
    );
    let _ = std::fs::remove_dir_all(&dir);
}
