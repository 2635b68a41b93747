//! The command line: process roles (`serve`, `worker`, `all`), `migrate`, `demo` and the
//! platform-administration commands.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "policyvault",
    version,
    about = "Capture, back up, preview and restore Microsoft Intune configuration for many tenants",
    long_about = "PolicyVault captures snapshots of Intune configuration, keeps backup sets, \
previews and performs restores. Every operation runs in the background on a worker fleet.\n\n\
Configuration: built-in defaults, then config/$PV_ENV.toml, then PV__SECTION__KEY environment \
variables (e.g. PV__DATABASE__URL, PV__REDIS__URL, PV__SERVER__LISTEN)."
)]
pub struct Cli {
    /// Log as JSON lines (same as PV__LOG__FORMAT=json).
    #[arg(long, global = true)]
    pub json_logs: bool,

    /// Directory holding {env}.toml files (default: ./config; env PV_CONFIG_DIR).
    #[arg(long, global = true, value_name = "DIR")]
    pub config_dir: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web UI and JSON API (server.listen).
    Serve,
    /// Run a worker: executes queued runs against Microsoft Graph (scale out by starting more).
    Worker,
    /// Run the web server and a worker in one process (the single-machine default).
    All,
    /// Apply database migrations (or show their state, or roll back).
    Migrate(MigrateArgs),
    /// Set up a demo: migrate, create the demo admin and API token, register graph-sim's tenants.
    Demo(DemoArgs),
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage tenant memberships (roles).
    #[command(subcommand)]
    Membership(MembershipCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage capture schedules.
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// Manage global webhooks: they take the events of every tenant (tenant admins manage
    /// their own tenant's webhooks in the web UI and API).
    #[command(subcommand)]
    Webhook(WebhookCommand),
}

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Add a global webhook; prints its id and its signing secret (shown once).
    Add(WebhookAddArgs),
    /// List the global webhooks (addresses shown by host only).
    List,
    /// Delete a global webhook.
    Remove(WebhookIdArgs),
    /// A global webhook's last 50 deliveries, newest first.
    Deliveries(WebhookIdArgs),
}

#[derive(Debug, Args)]
pub struct WebhookAddArgs {
    /// An https:// (or http://) address; it may carry a token (stored sealed).
    #[arg(long, value_name = "URL")]
    pub url: String,
    /// json (the event as JSON), teams or slack ({"text": ...}).
    #[arg(long, default_value = "json")]
    pub format: String,
    /// Event kinds, comma-separated: run.failed, run.partial, run.succeeded, run.canceled,
    /// drift (default: run.failed,run.partial).
    #[arg(long, value_delimiter = ',', value_name = "KINDS")]
    pub events: Option<Vec<String>>,
}

#[derive(Debug, Args)]
pub struct WebhookIdArgs {
    /// The webhook's id, as `webhook list` shows it.
    #[arg(long)]
    pub id: uuid::Uuid,
}

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Schedule a recurring capture of a tenant (or of one of its backup sets); prints its id.
    Add(ScheduleAddArgs),
    /// List a tenant's schedules.
    List(ScheduleListArgs),
}

#[derive(Debug, Args)]
pub struct ScheduleAddArgs {
    /// Tenant id or name.
    #[arg(long, value_name = "ID_OR_NAME")]
    pub tenant: String,
    /// The operator or admin of the tenant whose rights the schedule's runs use.
    #[arg(long, value_name = "EMAIL")]
    pub owner: String,
    /// Cron expression: 5 fields (minute hour day month weekday) or 6 with seconds first.
    #[arg(long, value_name = "EXPR")]
    pub cron: String,
    /// IANA time zone the expression is read in.
    #[arg(long, default_value = "UTC", value_name = "ZONE")]
    pub timezone: String,
    /// Offset each tenant's start inside this many seconds.
    #[arg(long, default_value_t = 0, value_name = "SECS")]
    pub spread_secs: u32,
    /// Capture this backup set instead of a snapshot of the tenant.
    #[arg(long, value_name = "ID")]
    pub backup_set: Option<uuid::Uuid>,
}

#[derive(Debug, Args)]
pub struct ScheduleListArgs {
    /// Tenant id or name.
    #[arg(long, value_name = "ID_OR_NAME")]
    pub tenant: String,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Only print applied and pending migrations.
    #[arg(long, conflicts_with = "down")]
    pub status: bool,
    /// Roll back the last N migrations instead of applying.
    #[arg(long, value_name = "N")]
    pub down: Option<u32>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Base URL of a running `graph-sim --demo` whose tenants to register.
    #[arg(long, default_value = "http://127.0.0.1:8090", value_name = "URL")]
    pub graph_sim_url: String,
    /// E-mail of the demo administrator.
    #[arg(long, default_value = "admin@demo.local")]
    pub email: String,
    /// Password for the demo administrator (default: keep the existing one, or generate one).
    #[arg(long, env = "PV_DEMO_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Where to remember the generated demo password between runs.
    #[arg(long, default_value = "var/demo-credentials.txt", value_name = "FILE")]
    pub credentials_file: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Register a customer tenant (prints its id).
    Add(TenantAddArgs),
    /// List registered tenants.
    List,
    /// Change a tenant's name, client id, credential (a rotated or mistyped client secret, a
    /// certificate, or the shared app) or URLs.
    Edit(TenantEditArgs),
    /// Disable a tenant: no starts, its schedules pause, its data is kept.
    Disable(TenantDisableArgs),
    /// Enable a disabled tenant again.
    Enable(TenantRefArgs),
    /// Remove a tenant: disable it and keep its data, or with --purge delete its data in a
    /// background `tenant_purge` run (its audit trail and members stay).
    Remove(TenantRemoveArgs),
}

#[derive(Debug, Args)]
pub struct TenantRefArgs {
    /// Tenant id or name.
    #[arg(long, value_name = "ID_OR_NAME")]
    pub tenant: String,
}

#[derive(Debug, Args)]
pub struct TenantDisableArgs {
    /// Tenant id or name.
    #[arg(long, value_name = "ID_OR_NAME")]
    pub tenant: String,
    /// Why; shown beside the tenant to its members.
    #[arg(long)]
    pub reason: String,
}

#[derive(Debug, Args)]
pub struct TenantRemoveArgs {
    /// Tenant id or name.
    #[arg(long, value_name = "ID_OR_NAME")]
    pub tenant: String,
    /// Why; shown beside the tenant (default: "removed").
    #[arg(long)]
    pub reason: Option<String>,
    /// Delete the tenant's snapshots, backup sets, runs, schedules and settings.
    #[arg(long, requires_all = ["confirm", "by"])]
    pub purge: bool,
    /// The tenant's exact name, typed to confirm a purge.
    #[arg(long, value_name = "NAME")]
    pub confirm: Option<String>,
    /// The platform admin (and tenant admin) the purge is run and audited as.
    #[arg(long, value_name = "EMAIL")]
    pub by: Option<String>,
}

#[derive(Debug, Args)]
pub struct TenantEditArgs {
    /// Tenant id or name.
    #[arg(long, value_name = "ID_OR_NAME")]
    pub tenant: String,
    /// A new display name.
    #[arg(long)]
    pub name: Option<String>,
    /// A new application (client) id.
    #[arg(long)]
    pub client_id: Option<String>,
    /// A new client secret (stored encrypted); prefer --client-secret-stdin.
    #[arg(long, env = "PV_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,
    /// Read the new client secret from the first line of standard input.
    #[arg(long, conflicts_with = "client_secret")]
    pub client_secret_stdin: bool,
    /// Sign in with a certificate from now on: a PEM file with the certificate uploaded to
    /// the app registration and its unencrypted RSA private key (stored encrypted).
    #[arg(long, value_name = "PEM_FILE", conflicts_with_all = ["client_secret", "client_secret_stdin"])]
    pub certificate_file: Option<std::path::PathBuf>,
    /// Sign in with the MSP's shared multi-tenant app (`[shared_app]`) from now on.
    #[arg(long, conflicts_with_all = ["client_secret", "client_secret_stdin", "certificate_file", "client_id"])]
    pub use_shared_app: bool,
    #[arg(long, value_name = "URL")]
    pub graph_base_url: Option<String>,
    #[arg(long, value_name = "URL")]
    pub login_base_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct TenantAddArgs {
    /// Display name; live restores must be confirmed by typing it.
    #[arg(long)]
    pub name: String,
    /// The Entra (Azure AD) tenant id or primary domain.
    #[arg(long)]
    pub entra_tenant_id: String,
    /// Application (client) id of the app registration with Intune Graph permissions. Leave
    /// it out (with the secret and certificate) to sign in with the shared app configured
    /// in `[shared_app]`, which the tenant's admin has consented to.
    #[arg(long)]
    pub client_id: Option<String>,
    /// Client secret of that app registration (stored encrypted).
    #[arg(
        long,
        env = "PV_CLIENT_SECRET",
        hide_env_values = true,
        requires = "client_id"
    )]
    pub client_secret: Option<String>,
    /// A PEM file with the app registration's certificate and its unencrypted RSA private
    /// key, instead of a client secret (stored encrypted).
    #[arg(
        long,
        value_name = "PEM_FILE",
        requires = "client_id",
        conflicts_with = "client_secret"
    )]
    pub certificate_file: Option<std::path::PathBuf>,
    /// Graph base URL (default: graph.graph_base_url, the real Microsoft Graph).
    #[arg(long, value_name = "URL")]
    pub graph_base_url: Option<String>,
    /// Entra login base URL (default: graph.login_base_url, the real Entra endpoint).
    #[arg(long, value_name = "URL")]
    pub login_base_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user who can sign in to the web UI.
    Add(UserAddArgs),
    /// Make a user a platform admin (may register and purge tenants), or with --revoke no
    /// longer one.
    PlatformAdmin(PlatformAdminArgs),
}

#[derive(Debug, Args)]
pub struct PlatformAdminArgs {
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub revoke: bool,
}

#[derive(Debug, Args)]
pub struct UserAddArgs {
    #[arg(long)]
    pub email: String,
    /// Password (at least 12 characters). Prefer --password-stdin on shared machines.
    #[arg(
        long,
        required_unless_present = "password_stdin",
        conflicts_with = "password_stdin"
    )]
    pub password: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// Make the user a platform admin: may register tenants and purge them.
    #[arg(long)]
    pub platform_admin: bool,
}

#[derive(Debug, Subcommand)]
pub enum MembershipCommand {
    /// Give a user a role in a tenant (or change it).
    Grant(GrantArgs),
}

#[derive(Debug, Args)]
pub struct GrantArgs {
    #[arg(long)]
    pub email: String,
    /// Tenant id or name.
    #[arg(long, value_name = "ID_OR_NAME")]
    pub tenant: String,
    /// viewer (read), operator (+ capture, backup, preview) or admin (+ live restore, members).
    #[arg(long)]
    pub role: String,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue an API token for a user (printed once; only its hash is stored).
    Create(TokenCreateArgs),
    /// List a user's API tokens (id, name, prefix, created, last used, revoked).
    List(TokenListArgs),
    /// Revoke an API token by its id (refused from the next request on).
    Revoke(TokenRevokeArgs),
}

#[derive(Debug, Args)]
pub struct TokenListArgs {
    #[arg(long)]
    pub email: String,
}

#[derive(Debug, Args)]
pub struct TokenRevokeArgs {
    /// The token's id, as `token list` shows it.
    #[arg(long)]
    pub id: String,
}

#[derive(Debug, Args)]
pub struct TokenCreateArgs {
    #[arg(long)]
    pub email: String,
    /// A label to recognise the token by.
    #[arg(long, default_value = "cli")]
    pub name: String,
    /// Refuse the token after this many days (1 to 366; default: until revoked).
    #[arg(long, value_name = "DAYS")]
    pub expires_in_days: Option<u32>,
    /// The token may only read: every change or start is refused with 403.
    #[arg(long)]
    pub read_only: bool,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
