//! What each CLI command does; `main` only parses arguments and reports errors.

use std::io::BufRead;

use anyhow::{Context as _, anyhow, bail};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::cli::{
    Command, DemoArgs, GrantArgs, MembershipCommand, MigrateArgs, ScheduleAddArgs, ScheduleCommand,
    ScheduleListArgs, TenantAddArgs, TenantCommand, TenantEditArgs, TenantRemoveArgs, TokenCommand,
    TokenCreateArgs, UserAddArgs, UserCommand, WebhookCommand,
};
use crate::domain::{Email, Password};
use crate::services::Services;
use crate::settings::Settings;
use crate::startup::{Application, shutdown_signal};
use crate::store::{self, StoreError, accounts, tenants};
use entity::enums::{Role, RunOperation};

/// A command failure: one line for the operator, exit code 1.
pub type CmdResult = anyhow::Result<()>;

pub async fn run(command: Command, settings: Settings) -> CmdResult {
    match command {
        Command::Serve => serve(settings).await,
        Command::Worker => crate::worker::run_worker_process(connect(settings).await?).await,
        Command::All => all(settings).await,
        Command::Migrate(args) => migrate(settings, args).await,
        Command::Demo(args) => demo(settings, args).await,
        Command::Tenant(TenantCommand::Add(args)) => tenant_add(settings, args).await,
        Command::Tenant(TenantCommand::List) => tenant_list(settings).await,
        Command::Tenant(TenantCommand::Edit(args)) => tenant_edit(settings, args).await,
        Command::Tenant(TenantCommand::Disable(args)) => {
            tenant_disable(settings, &args.tenant, Some(&args.reason)).await
        }
        Command::Tenant(TenantCommand::Enable(args)) => tenant_enable(settings, &args.tenant).await,
        Command::Tenant(TenantCommand::Remove(args)) => tenant_remove(settings, args).await,
        Command::User(UserCommand::Add(args)) => user_add(settings, args).await,
        Command::User(UserCommand::PlatformAdmin(args)) => {
            platform_admin(settings, &args.email, !args.revoke).await
        }
        Command::Membership(MembershipCommand::Grant(args)) => grant(settings, args).await,
        Command::Schedule(ScheduleCommand::Add(args)) => schedule_add(settings, args).await,
        Command::Schedule(ScheduleCommand::List(args)) => schedule_list(settings, args).await,
        Command::Webhook(command) => webhook(settings, command).await,
        Command::Token(TokenCommand::List(args)) => token_list(settings, &args.email).await,
        Command::Token(TokenCommand::Revoke(args)) => token_revoke(settings, &args.id).await,
        Command::Token(TokenCommand::Create(args)) => token_create(settings, args)
            .await
            .map(|secret| println!("{}", secret.expose_secret())),
    }
}

async fn connect(settings: Settings) -> anyhow::Result<Services> {
    let services = Services::connect(settings).await?;
    services.require_current_schema().await?;
    Ok(services)
}

async fn serve(settings: Settings) -> CmdResult {
    let services = connect(settings).await?;
    let app = Application::build(services).await?;
    println!("PolicyVault listening on http://{}", app.addr());
    app.run_until(shutdown_signal())
        .await
        .context("web server failed")
}

async fn all(settings: Settings) -> CmdResult {
    let services = connect(settings).await?;
    let app = Application::build(services.clone()).await?;
    println!("PolicyVault listening on http://{}", app.addr());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let web = tokio::spawn(app.run_until(wait_for(stop_rx.clone())));
    let worker = tokio::spawn(crate::worker::run_worker(services, wait_for(stop_rx)));
    shutdown_signal().await;
    let _ = stop_tx.send(true);
    let web = web.await?;
    let worker = worker.await?;
    web.context("web server failed")?;
    worker
}

async fn wait_for(mut rx: tokio::sync::watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

async fn migrate(settings: Settings, args: MigrateArgs) -> CmdResult {
    use migration::{Migrator, MigratorTrait};
    let db = store::connect(&settings.database).await?;
    let fail =
        |e: sea_orm::DbErr| anyhow!("migration failed: {}", store::first_line(&e.to_string()));
    if args.status {
        let applied = Migrator::get_applied_migrations(&db).await.map_err(fail)?;
        let pending = Migrator::get_pending_migrations(&db).await.map_err(fail)?;
        for m in applied {
            println!("applied  {}", m.name());
        }
        for m in pending {
            println!("pending  {}", m.name());
        }
        return Ok(());
    }
    if let Some(steps) = args.down {
        Migrator::down(&db, Some(steps)).await.map_err(fail)?;
        println!("rolled back {steps} migration(s)");
        return Ok(());
    }
    let before = store::pending_migrations(&db).await.map_err(fail)?;
    store::migrate_up(&db).await.map_err(fail)?;
    println!("database is current ({before} migration(s) applied now)");
    Ok(())
}

/// What the administration commands need: the database and the key, not Redis.
struct Admin {
    db: sea_orm::DatabaseConnection,
    secrets: crate::crypto::SecretBox,
    shared_app: Option<tenants::SharedApp>,
}

async fn admin_services(settings: Settings) -> anyhow::Result<Admin> {
    let secrets = crate::crypto::SecretBox::from_settings(&settings)?;
    let db = store::connect(&settings.database).await?;
    store::require_current_schema(&db).await?;
    let shared_app = tenants::SharedApp::from_settings(&settings.shared_app)
        .map_err(|e| anyhow!("configuration error: {e}"))?;
    Ok(Admin {
        db,
        secrets,
        shared_app,
    })
}

fn store_err(what: &str) -> impl Fn(StoreError) -> anyhow::Error + '_ {
    move |e| match e {
        StoreError::NotFound => anyhow!("{what} not found"),
        StoreError::Conflict { .. } => anyhow!("{what} already exists"),
        other => anyhow!("{what}: {other}"),
    }
}

async fn tenant_add(settings: Settings, args: TenantAddArgs) -> CmdResult {
    let graph_default = settings.graph.graph_base_url.clone();
    let login_default = settings.graph.login_base_url.clone();
    let services = admin_services(settings).await?;
    let certificate = read_certificate(args.certificate_file.as_deref())?;
    let new = tenants::NewTenant::register(
        &args.name,
        &args.entra_tenant_id,
        tenants::CredentialInput {
            client_id: args.client_id.as_deref(),
            client_secret: args.client_secret.map(SecretString::from),
            certificate: certificate.as_deref(),
            use_shared_app: false,
        },
        services.shared_app.as_ref(),
        &args.graph_base_url.unwrap_or(graph_default),
        &args.login_base_url.unwrap_or(login_default),
    )
    .map_err(flag_error)?;
    let tenant = tenants::create(&services.db, &services.secrets, new)
        .await
        .map_err(store_err("tenant"))?;
    println!("{}", tenant.id);
    Ok(())
}

/// A field-prefixed validation message (`client_secret: ...`) in the words of the flags
/// (`--client-secret: ...`).
fn flag_error(message: String) -> anyhow::Error {
    match message.split_once(':') {
        Some(("certificate", rest)) => anyhow!("--certificate-file:{rest}"),
        Some(("shared_app", rest)) => anyhow!("--use-shared-app:{rest}"),
        Some((field, rest)) => anyhow!("--{}:{rest}", field.replace('_', "-")),
        None => anyhow!(message),
    }
}

/// The text of a `--certificate-file`.
fn read_certificate(path: Option<&std::path::Path>) -> anyhow::Result<Option<String>> {
    path.map(|p| {
        std::fs::read_to_string(p)
            .map_err(|e| anyhow!("--certificate-file: cannot read {}: {e}", p.display()))
    })
    .transpose()
}

async fn tenant_edit(settings: Settings, args: TenantEditArgs) -> CmdResult {
    let secret = if args.client_secret_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        Some(SecretString::from(
            line.trim_end_matches(['\r', '\n']).to_string(),
        ))
    } else {
        args.client_secret.map(SecretString::from)
    };
    let certificate = read_certificate(args.certificate_file.as_deref())?;
    let services = admin_services(settings).await?;
    let changes = tenants::TenantChanges::parse(
        args.name.as_deref(),
        tenants::CredentialInput {
            client_id: args.client_id.as_deref(),
            client_secret: secret,
            certificate: certificate.as_deref(),
            use_shared_app: args.use_shared_app,
        },
        services.shared_app.as_ref(),
        args.graph_base_url.as_deref(),
        args.login_base_url.as_deref(),
    )
    .map_err(flag_error)?;
    let tenant = tenants::find_by_id_or_name(&services.db, &args.tenant)
        .await
        .map_err(store_err("tenant"))?;
    changes.check_for(&tenant).map_err(flag_error)?;
    let fields = changes.fields().join(", ");
    let tenant = tenants::update(&services.db, &services.secrets, tenant, changes)
        .await
        .map_err(store_err("tenant"))?;
    println!("{}\t{}\tchanged: {fields}", tenant.id, tenant.name);
    Ok(())
}

async fn tenant_list(settings: Settings) -> CmdResult {
    let services = admin_services(settings).await?;
    let all = tenants::list_all(&services.db)
        .await
        .map_err(store_err("tenants"))?;
    for t in all {
        let state = match (&t.purged_at, &t.disabled_at) {
            (Some(_), _) => "purged".to_string(),
            (None, Some(_)) => format!(
                "disabled: {}",
                t.disabled_reason.as_deref().unwrap_or_default()
            ),
            (None, None) => "active".to_string(),
        };
        println!("{}\t{}\t{}\t{state}", t.id, t.name, t.graph_base_url);
    }
    Ok(())
}

async fn user_add(settings: Settings, args: UserAddArgs) -> CmdResult {
    let email = Email::parse(&args.email)?;
    let raw = match args.password {
        Some(p) => p,
        None => read_stdin_line()?,
    };
    let password = Password::parse(SecretString::from(raw))?;
    let services = admin_services(settings).await?;
    let mut user = accounts::create_user(&services.db, &email, &password)
        .await
        .map_err(store_err("user"))?;
    if args.platform_admin {
        user = accounts::set_platform_admin(&services.db, user, true)
            .await
            .map_err(store_err("user"))?;
    }
    println!("{}", user.id);
    Ok(())
}

async fn platform_admin(settings: Settings, email: &str, on: bool) -> CmdResult {
    let email = Email::parse(email)?;
    let services = admin_services(settings).await?;
    let user = accounts::user_by_email(&services.db, &email)
        .await
        .map_err(store_err("user"))?;
    accounts::set_platform_admin(&services.db, user, on)
        .await
        .map_err(store_err("user"))?;
    println!(
        "{email} is {} a platform admin",
        if on { "now" } else { "no longer" }
    );
    Ok(())
}

/// An audit event of a command-line change (`actor`: whom it was run as, if anyone).
async fn audit_cli(
    db: &sea_orm::DatabaseConnection,
    tenant_id: uuid::Uuid,
    actor: Option<uuid::Uuid>,
    action: &str,
    details: serde_json::Value,
) -> CmdResult {
    crate::store::activity::audit(
        db,
        crate::store::activity::NewAuditEvent {
            tenant_id,
            actor_id: actor,
            action: action.to_string(),
            run_id: None,
            details: serde_json::json!({"via": "command line", "details": details}),
        },
    )
    .await
    .map_err(store_err("audit event"))?;
    Ok(())
}

async fn tenant_disable(settings: Settings, key: &str, reason: Option<&str>) -> CmdResult {
    let reason = tenants::parse_reason(reason).map_err(flag_error)?;
    let services = admin_services(settings).await?;
    let tenant = tenants::find_by_id_or_name(&services.db, key)
        .await
        .map_err(store_err("tenant"))?;
    let tenant = tenants::disable(&services.db, tenant, reason.clone())
        .await
        .map_err(store_err("tenant"))?;
    audit_cli(
        &services.db,
        tenant.id,
        None,
        "tenant.disabled",
        serde_json::json!({"reason": reason}),
    )
    .await?;
    println!("{}\t{}\tdisabled: {reason}", tenant.id, tenant.name);
    Ok(())
}

async fn tenant_enable(settings: Settings, key: &str) -> CmdResult {
    let services = admin_services(settings).await?;
    let tenant = tenants::find_by_id_or_name(&services.db, key)
        .await
        .map_err(store_err("tenant"))?;
    let tenant = tenants::enable(&services.db, tenant)
        .await
        .map_err(store_err("tenant"))?;
    audit_cli(
        &services.db,
        tenant.id,
        None,
        "tenant.enabled",
        serde_json::json!({}),
    )
    .await?;
    println!("{}\t{}\tenabled", tenant.id, tenant.name);
    Ok(())
}

async fn tenant_remove(settings: Settings, args: TenantRemoveArgs) -> CmdResult {
    let reason = args.reason.as_deref().unwrap_or("removed");
    if !args.purge {
        tenant_disable(settings, &args.tenant, Some(reason)).await?;
        eprintln!("its data is kept; `tenant remove --purge` deletes it");
        return Ok(());
    }
    let reason = tenants::parse_reason(Some(reason)).map_err(flag_error)?;
    let by = Email::parse(args.by.as_deref().unwrap_or_default())
        .map_err(|_| anyhow!("--by: the e-mail of the platform admin the purge runs as"))?;
    let services = connect(settings).await?;
    let db = &services.db;
    let tenant = tenants::find_by_id_or_name(db, &args.tenant)
        .await
        .map_err(store_err("tenant"))?;
    if args.confirm.as_deref().map(str::trim) != Some(tenant.name.as_str()) {
        bail!(
            "--confirm: type the tenant's exact name ({:?}) to purge its data",
            tenant.name
        );
    }
    let user = accounts::user_by_email(db, &by)
        .await
        .map_err(store_err("user"))?;
    if !user.platform_admin {
        bail!("--by: {by} is not a platform admin (policyvault user platform-admin --email {by})");
    }
    let Some((scope, Role::Admin)) = accounts::member_scope(db, tenant.id, user.id).await? else {
        bail!("--by: {by} is not an admin of {}", tenant.name);
    };
    let active = crate::store::runs::count_active(db, std::slice::from_ref(&scope)).await?;
    if active > 0 {
        bail!(
            "{active} run(s) of {} are still queued or running; cancel them or let them finish first",
            tenant.name
        );
    }
    let tenant_id = tenant.id;
    if tenant.disabled_at.is_none() {
        tenants::disable(db, tenant, reason.clone())
            .await
            .map_err(store_err("tenant"))?;
    }
    audit_cli(
        db,
        tenant_id,
        Some(user.id),
        "tenant.purge.queued",
        serde_json::json!({"reason": reason}),
    )
    .await?;
    let orchestrator = crate::runs::Orchestrator::new(services.clone());
    let started = orchestrator
        .start(crate::runs::start::StartRequest {
            run_id: None,
            fanout_id: None,
            scope,
            initiator_id: user.id,
            spec: crate::runs::RunSpec::TenantPurge,
        })
        .await
        .map_err(store_err("purge run"))?;
    println!("{}", started.run.id);
    eprintln!(
        "purge queued as run {}; a worker deletes the data",
        started.run.id
    );
    Ok(())
}

fn read_stdin_line() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

async fn grant(settings: Settings, args: GrantArgs) -> CmdResult {
    let email = Email::parse(&args.email)?;
    let role: Role = args
        .role
        .parse()
        .map_err(|e: entity::enums::UnknownValue| anyhow!(e))?;
    let services = admin_services(settings).await?;
    let user = accounts::user_by_email(&services.db, &email)
        .await
        .map_err(store_err("user"))?;
    let tenant = tenants::find_by_id_or_name(&services.db, &args.tenant)
        .await
        .map_err(store_err("tenant"))?;
    accounts::grant_membership(&services.db, &tenant, &user, role)
        .await
        .map_err(store_err("membership"))?;
    println!("{} is now {} of {}", email, role, tenant.name);
    Ok(())
}

async fn schedule_add(settings: Settings, args: ScheduleAddArgs) -> CmdResult {
    use crate::store::schedules::{self as schedule_store, NewSchedule};
    let email = Email::parse(&args.owner)?;
    let services = admin_services(settings).await?;
    let db = &services.db;
    let tenant = tenants::find_by_id_or_name(db, &args.tenant)
        .await
        .map_err(store_err("tenant"))?;
    let owner = accounts::user_by_email(db, &email)
        .await
        .map_err(store_err("user"))?;
    let Some((scope, role)) = accounts::member_scope(db, tenant.id, owner.id).await? else {
        bail!(
            "{email} is not a member of {}; grant them operator first",
            tenant.name
        );
    };
    if !role.allows(Role::Operator) {
        bail!(
            "{email} is {role} of {}; a schedule's owner needs operator",
            tenant.name
        );
    }
    let operation = match args.backup_set {
        Some(set) => {
            crate::store::content::backup_set(db, &scope, set)
                .await
                .map_err(|_| anyhow!("--backup-set: no backup set {set} in {}", tenant.name))?;
            RunOperation::BackupSetCapture
        }
        None => RunOperation::CaptureSnapshot,
    };
    let id = uuid::Uuid::now_v7();
    let timing = crate::domain::schedule::Timing::parse(
        &args.cron,
        &args.timezone,
        args.spread_secs,
        id.as_bytes(),
    )
    .map_err(|e| anyhow!("--{}", e.to_string().replace('_', "-")))?;
    let row = schedule_store::create(
        db,
        &scope,
        id,
        NewSchedule {
            owner_id: owner.id,
            operation,
            backup_set_id: args.backup_set,
            cron: args.cron.trim().to_string(),
            timezone: args.timezone.trim().to_string(),
            spread_secs: i32::try_from(args.spread_secs).unwrap_or(0),
            enabled: true,
        },
        timing.next_start(chrono::Utc::now()),
    )
    .await?;
    println!("{}", row.id);
    eprintln!(
        "next run: {}",
        row.next_run_at
            .map(|t| t.to_rfc3339())
            .unwrap_or_else(|| "never".into())
    );
    Ok(())
}

async fn schedule_list(settings: Settings, args: ScheduleListArgs) -> CmdResult {
    let services = admin_services(settings).await?;
    let db = &services.db;
    let tenant = tenants::find_by_id_or_name(db, &args.tenant)
        .await
        .map_err(store_err("tenant"))?;
    let scope = tenants::command_line_scope(&tenant);
    for s in crate::store::schedules::list(db, &scope, None, 200).await? {
        println!(
            "{}\t{}\t{}\t{}\t{}\tnext {}",
            s.id,
            s.operation,
            s.cron,
            s.timezone,
            if s.enabled { "enabled" } else { "disabled" },
            s.next_run_at
                .filter(|_| s.enabled)
                .map(|t| t.to_rfc3339())
                .unwrap_or_else(|| "—".into())
        );
    }
    Ok(())
}

async fn webhook(settings: Settings, command: WebhookCommand) -> CmdResult {
    use crate::store::webhooks as hook_store;
    let services = admin_services(settings).await?;
    let db = &services.db;
    match command {
        WebhookCommand::Add(args) => {
            let (new, secret) =
                crate::runs::webhooks::prepare(&args.url, Some(&args.format), args.events, None)
                    .map_err(|e| anyhow!("--{e}"))?;
            let row = hook_store::create_global(db, &services.secrets, new).await?;
            println!("{}", row.id);
            println!("{}", secret.expose_secret());
        }
        WebhookCommand::List => {
            for h in hook_store::list_global(db).await? {
                let kinds: Vec<&str> = h
                    .kinds
                    .as_array()
                    .map(|k| k.iter().filter_map(|v| v.as_str()).collect())
                    .unwrap_or_default();
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    h.id,
                    h.url_hint,
                    h.format,
                    kinds.join(","),
                    if h.enabled { "enabled" } else { "disabled" }
                );
            }
        }
        WebhookCommand::Remove(args) => {
            if !hook_store::delete_global(db, args.id).await? {
                bail!("no global webhook {}", args.id);
            }
        }
        WebhookCommand::Deliveries(args) => {
            let rows = hook_store::global_deliveries(db, args.id, 50)
                .await
                .map_err(store_err("global webhook"))?;
            for d in rows {
                println!(
                    "{}\t{}\t{}\t{}\tattempts {}\t{}",
                    d.created_at.to_rfc3339(),
                    d.event,
                    d.tenant_id,
                    d.status,
                    d.attempts,
                    d.last_status
                        .map(|s| format!("HTTP {s}"))
                        .or(d.last_error)
                        .unwrap_or_default()
                );
            }
        }
    }
    Ok(())
}

async fn token_create(settings: Settings, args: TokenCreateArgs) -> anyhow::Result<SecretString> {
    let email = Email::parse(&args.email)?;
    let name = accounts::parse_token_name(&args.name).map_err(flag_error)?;
    let max = crate::web::tokens::MAX_EXPIRY_DAYS;
    let expires_at = match args.expires_in_days {
        None => None,
        Some(days) if (1..=max).contains(&days) => {
            Some(chrono::Utc::now() + chrono::Duration::days(i64::from(days)))
        }
        Some(_) => bail!("--expires-in-days must be 1 to {max}"),
    };
    let services = admin_services(settings).await?;
    let user = accounts::user_by_email(&services.db, &email)
        .await
        .map_err(store_err("user"))?;
    let (_, secret) = accounts::issue_token(
        &services.db,
        &user,
        &name,
        accounts::TokenLimits {
            expires_at,
            read_only: args.read_only,
        },
    )
    .await
    .map_err(store_err("token"))?;
    Ok(secret)
}

async fn token_list(settings: Settings, email: &str) -> CmdResult {
    let email = Email::parse(email)?;
    let services = admin_services(settings).await?;
    let user = accounts::user_by_email(&services.db, &email)
        .await
        .map_err(store_err("user"))?;
    let tokens = accounts::tokens_of(&services.db, user.id)
        .await
        .map_err(store_err("tokens"))?;
    println!("id\tname\tprefix\tcreated\tlast used\trevoked");
    let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.to_rfc3339()).unwrap_or_else(|| "-".into())
    };
    for t in tokens {
        println!(
            "{}\t{}\t{}…\t{}\t{}\t{}",
            t.id,
            t.name,
            t.token_prefix,
            t.created_at.to_rfc3339(),
            when(t.last_used_at),
            when(t.revoked_at)
        );
    }
    Ok(())
}

async fn token_revoke(settings: Settings, id: &str) -> CmdResult {
    let id = uuid::Uuid::parse_str(id.trim()).map_err(|_| anyhow!("{id:?} is not a token id"))?;
    let services = admin_services(settings.clone()).await?;
    accounts::revoke_token(&services.db, id)
        .await
        .map_err(store_err("token"))?;
    println!("token {id} revoked");
    // The revocation stands without Redis; telling the web processes only ends the token's
    // open event streams now rather than at their next re-check.
    match crate::broker::Broker::connect(&settings.redis).await {
        Ok(broker) => {
            crate::runs::events::publish_revoked(
                &broker,
                crate::runs::events::Credential::Token(id),
            )
            .await;
        }
        Err(e) => eprintln!(
            "note: {e}; event streams of this token end within {} s",
            crate::web::events::CREDENTIAL_RECHECK.as_secs()
        ),
    }
    Ok(())
}

#[derive(Deserialize)]
struct SimTenant {
    id: String,
    name: String,
    client_id: String,
    client_secret: String,
}

/// Idempotent demo set-up: safe to run on every start of `scripts/demo.sh`.
async fn demo(settings: Settings, args: DemoArgs) -> CmdResult {
    let public_url = settings.server.public_url.clone();
    let db = store::connect(&settings.database).await?;
    store::migrate_up(&db)
        .await
        .map_err(|e| anyhow!("migration failed: {}", store::first_line(&e.to_string())))?;
    drop(db);
    let services = admin_services(settings).await?;
    let email = Email::parse(&args.email)?;

    let password = match args.password {
        Some(p) => p,
        None => std::fs::read_to_string(&args.credentials_file)
            .ok()
            .and_then(|text| text.lines().next().map(str::to_string))
            .filter(|p| p.len() >= Password::MIN_LEN)
            .unwrap_or_else(crate::auth::password::generate),
    };
    let parsed = Password::parse(SecretString::from(password.clone()))?;
    let user = match accounts::find_user_by_email(&services.db, &email)
        .await
        .map_err(store_err("user"))?
    {
        Some(user) => accounts::set_password(&services.db, user, &parsed).await,
        None => accounts::create_user(&services.db, &email, &parsed).await,
    }
    .map_err(store_err("demo user"))?;
    remember_password(&args.credentials_file, &password)?;

    let sim_tenants = fetch_sim_tenants(&args.graph_sim_url).await?;
    let sim_url = args.graph_sim_url.trim_end_matches('/').to_string();
    let mut names = Vec::new();
    for sim in sim_tenants {
        let new = tenants::NewTenant::parse(
            &sim.name,
            &sim.id,
            &sim.client_id,
            SecretString::from(sim.client_secret),
            &sim_url,
            &sim_url,
        )
        .map_err(|e| anyhow!("graph-sim tenant {:?}: {e}", sim.name))?;
        let tenant = tenants::upsert_by_name(&services.db, &services.secrets, new)
            .await
            .map_err(store_err("tenant"))?;
        accounts::grant_membership(&services.db, &tenant, &user, Role::Admin)
            .await
            .map_err(store_err("membership"))?;
        names.push(tenant.name);
    }
    let (_, token) = accounts::create_token(&services.db, &user, "demo")
        .await
        .map_err(store_err("token"))?;
    println!("PolicyVault demo is set up.");
    println!("  URL:       {public_url}");
    println!("  E-mail:    {email}");
    println!("  Password:  {password}");
    println!("  API token: {}", token.expose_secret());
    println!("  Tenants:   {}", names.join(", "));
    Ok(())
}

fn remember_password(path: &std::path::Path, password: &str) -> CmdResult {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(path, format!("{password}\n"))
        .with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    Ok(())
}

async fn fetch_sim_tenants(base: &str) -> anyhow::Result<Vec<SimTenant>> {
    let url = format!("{}/_sim/tenants", base.trim_end_matches('/'));
    let client = crate::http::client(std::time::Duration::from_secs(10))?;
    let response = client
        .get(&url)
        .send()
        .await
        .with_context(|| format!("cannot reach graph-sim at {base}"))?;
    if !response.status().is_success() {
        bail!("graph-sim at {base} answered {}", response.status());
    }
    response
        .json()
        .await
        .with_context(|| format!("graph-sim at {base} sent an unexpected tenant list"))
}
