//! The restore flow: choose a source (a snapshot or backup set of any of the user's
//! tenants), its items and the target tenant → preview (`restore_preview`) → the preview's
//! results on its run page → live restore behind a confirmation that names the target
//! tenant. Also the re-run of a finished live restore.

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use entity::enums::{Role, RunOperation, RunStatus, TargetType};
use serde::Deserialize;
use uuid::Uuid;

use super::view::{TenantLink, encode, opt_time, policy_type_label, time};
use super::{FormData, PageError, Shell, redirect, render, started};
use super::{Path, Query};
use crate::runs;
use crate::store::{content, runs as run_store};
use crate::web::AppState;
use crate::web::auth::{CurrentUser, TenantAccess, member_access};
use crate::web::error::ApiError;
use crate::web::restores::{
    self as restore_api, Mode, RerunBody, RestoreBody, SourceRef, UndoBody,
};

/// Sources offered per tenant.
const SOURCES_PER_TENANT: u64 = 20;

/// A restore source as the forms name it: `snapshot:<id>` or `backup_set:<id>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Snapshot(Uuid),
    BackupSet(Uuid),
}

impl Source {
    fn parse(text: &str) -> Result<Self, ApiError> {
        let bad = || {
            ApiError::Validation(format!(
                "source: {text:?} is not a snapshot or backup set of yours"
            ))
        };
        let (kind, id) = text.split_once(':').ok_or_else(bad)?;
        let id = Uuid::parse_str(id).map_err(|_| bad())?;
        match kind {
            "snapshot" => Ok(Self::Snapshot(id)),
            "backup_set" => Ok(Self::BackupSet(id)),
            _ => Err(bad()),
        }
    }

    fn form_value(self) -> String {
        match self {
            Self::Snapshot(id) => format!("snapshot:{id}"),
            Self::BackupSet(id) => format!("backup_set:{id}"),
        }
    }

    fn reference(self) -> SourceRef {
        match self {
            Self::Snapshot(id) => SourceRef {
                snapshot_id: Some(id),
                backup_set_id: None,
            },
            Self::BackupSet(id) => SourceRef {
                snapshot_id: None,
                backup_set_id: Some(id),
            },
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct TargetQuery {
    target: Option<String>,
    source: Option<String>,
}

/// `GET /restore?target=&source=`: the first step's form names the target tenant in a
/// field; this moves it into the path.
pub(super) async fn choose_target(Query(query): Query<TargetQuery>) -> Result<Response, PageError> {
    let target = query
        .target
        .as_deref()
        .and_then(|t| Uuid::parse_str(t.trim()).ok())
        .ok_or_else(|| ApiError::Validation("target: choose the tenant to restore into".into()))?;
    let mut url = format!("/tenants/{target}/restore");
    if let Some(source) = query.source.as_deref().filter(|s| !s.trim().is_empty()) {
        url.push_str(&format!("?source={}", encode(source.trim())));
    }
    Ok(redirect(&url))
}

#[derive(Template)]
#[template(path = "restore.html")]
struct RestorePage {
    shell: Shell,
    /// Tenants the user may restore into (operator or admin).
    targets: Vec<TenantLink>,
    /// Step 1: the tenant whose sources are listed, and its sources.
    from: Uuid,
    sources: Vec<SourceGroup>,
    /// Step 2: the chosen source and its items.
    chosen: Option<Chosen>,
}

struct SourceGroup {
    tenant_name: String,
    options: Vec<SourceOption>,
}

struct SourceOption {
    value: String,
    label: String,
    detail: String,
}

struct Chosen {
    value: String,
    label: String,
    tenant_name: String,
    items: Vec<ChosenItem>,
    /// The items' policy types, once each, for the picker's "select by type".
    types: Vec<String>,
}

struct ChosenItem {
    id: Uuid,
    policy_type: String,
    name: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct SourceQuery {
    source: Option<String>,
    /// The tenant whose sources step 1 lists (default: this one).
    #[serde(default, deserialize_with = "crate::web::extract::opt_uuid")]
    from: Option<Uuid>,
}

/// `GET /tenants/{tenant}/restore[?source=]`: choose the source, then its items.
pub(super) async fn page(
    State(state): State<AppState>,
    access: TenantAccess,
    Query(query): Query<SourceQuery>,
) -> Result<Response, PageError> {
    let shell = Shell::new(
        &state,
        &access.user,
        Some(&access),
        format!("Restore into {}", access.tenant.name),
    )
    .await?
    .in_section("restore");
    let targets = shell
        .tenants
        .iter()
        .filter(|t| t.can_operate)
        .cloned()
        .collect();
    let db = &state.services().db;
    let (sources, chosen) = match query.source.as_deref().filter(|s| !s.trim().is_empty()) {
        None => {
            let mut groups = Vec::new();
            // One tenant's sources at a time: an MSP may have hundreds of tenants.
            let from = query.from.unwrap_or(access.tenant_id());
            for tenant in shell.tenants.iter().filter(|t| t.id == from) {
                let scope = &tenant.scope;
                let mut options = Vec::new();
                for set in content::backup_sets(db, scope, None, SOURCES_PER_TENANT).await? {
                    options.push(SourceOption {
                        value: Source::BackupSet(set.id).form_value(),
                        label: format!("Backup set “{}”", set.name),
                        detail: format!("last captured {}", opt_time(set.last_captured_at)),
                    });
                }
                for snap in content::snapshots(db, scope, None, SOURCES_PER_TENANT).await? {
                    options.push(SourceOption {
                        value: Source::Snapshot(snap.id).form_value(),
                        label: format!("Snapshot of {}", time(snap.created_at)),
                        detail: format!("{} items", snap.item_count),
                    });
                }
                groups.push(SourceGroup {
                    tenant_name: tenant.name.clone(),
                    options,
                });
            }
            (groups, None)
        }
        Some(text) => {
            let source = Source::parse(text.trim())?;
            (
                Vec::new(),
                Some(chosen(&state, &access.user, source).await?),
            )
        }
    };
    render(&RestorePage {
        from: query.from.unwrap_or(access.tenant_id()),
        shell,
        targets,
        sources,
        chosen,
    })
}

/// The chosen source with its items; a source in a tenant the user is not a member of is
/// not found.
async fn chosen(state: &AppState, user: &CurrentUser, source: Source) -> Result<Chosen, PageError> {
    let db = &state.services().db;
    let (tenant_name, label, items): (String, String, Vec<ChosenItem>) = match source {
        Source::Snapshot(id) => {
            let owner = content::content_owner(db, TargetType::Snapshot, id)
                .await?
                .ok_or(ApiError::NotFound)?;
            let access = member_access(state, user.clone(), owner).await?;
            let snap = content::snapshot(db, access.scope(), id).await?;
            let items = content::all_snapshot_items(db, access.scope(), snap.id)
                .await?
                .into_iter()
                .map(|i| ChosenItem {
                    id: i.id,
                    policy_type: policy_type_label(&i.policy_type),
                    name: i.display_name,
                })
                .collect();
            (
                access.tenant.name,
                format!("Snapshot of {}", time(snap.created_at)),
                items,
            )
        }
        Source::BackupSet(id) => {
            let owner = content::content_owner(db, TargetType::BackupSet, id)
                .await?
                .ok_or(ApiError::NotFound)?;
            let access = member_access(state, user.clone(), owner).await?;
            let set = content::backup_set(db, access.scope(), id).await?;
            let items = content::latest_backup_items(db, access.scope(), set.id)
                .await?
                .into_iter()
                .filter(|i| i.missing_since.is_none())
                .map(|i| ChosenItem {
                    id: i.id,
                    policy_type: policy_type_label(&i.policy_type),
                    name: i.display_name,
                })
                .collect();
            (
                access.tenant.name,
                format!("Backup set “{}”", set.name),
                items,
            )
        }
    };
    let mut types: Vec<String> = items.iter().map(|i| i.policy_type.clone()).collect();
    types.sort();
    types.dedup();
    Ok(Chosen {
        value: source.form_value(),
        label,
        tenant_name,
        items,
        types,
    })
}

/// `POST /tenants/{tenant}/restore/preview`: queue a dry run of the chosen items.
pub(super) async fn preview(
    State(state): State<AppState>,
    access: TenantAccess,
    headers: HeaderMap,
    form: FormData,
) -> Result<Response, PageError> {
    let source = Source::parse(form.get("source").unwrap_or_default())?;
    let item_ids = form
        .all("item_id")
        .into_iter()
        .map(|id| {
            Uuid::parse_str(id)
                .map_err(|_| ApiError::Validation(format!("item_id: {id:?} is not an item id")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if item_ids.is_empty() {
        return Err(ApiError::Validation("items: tick at least one item to preview".into()).into());
    }
    let run = restore_api::restore(
        &state,
        &access,
        RestoreBody {
            source: source.reference(),
            item_ids: Some(item_ids),
            mode: Mode::Preview,
            confirm: None,
            keep_conditional_access_state: form.get("keep_conditional_access_state").is_some(),
        },
    )
    .await?;
    started(&headers, &run)
}

/// `POST /tenants/{tenant}/restore/live`: restore exactly what a finished preview showed,
/// after the admin typed the tenant's name.
pub(super) async fn live(
    State(state): State<AppState>,
    access: TenantAccess,
    headers: HeaderMap,
    form: FormData,
) -> Result<Response, PageError> {
    let fail = PageError::for_request(&headers);
    access.require(Role::Admin).map_err(&fail)?;
    let preview_id = form
        .get("preview_run")
        .and_then(|id| Uuid::parse_str(id).ok())
        .ok_or_else(|| fail(ApiError::Validation("preview_run: missing".into())))?;
    let preview = run_store::get_in_tenant(&state.services().db, access.scope(), preview_id)
        .await
        .map_err(|e| fail(e.into()))?;
    if preview.operation != RunOperation::RestorePreview
        || !matches!(preview.status, RunStatus::Succeeded | RunStatus::Partial)
    {
        return Err(fail(ApiError::Conflict(
            "a live restore starts from a finished preview".into(),
        )));
    }
    let spec = restore_api::stored_spec(&preview).map_err(&fail)?;
    let Some(previewed) = spec.restore() else {
        return Err(fail(ApiError::Internal(anyhow::anyhow!(
            "a preview without restore parameters"
        ))));
    };
    let source = match previewed.source {
        runs::Source::BackupSet { id, .. } => Source::BackupSet(id),
        runs::Source::Snapshot { id, .. } => Source::Snapshot(id),
    };
    let item_ids: Vec<Uuid> = previewed
        .selection
        .item_ids()
        .map(<[Uuid]>::to_vec)
        .unwrap_or_default();
    // A backup set captured again since the preview has new versions of its items: what the
    // preview showed is no longer what would be restored.
    if let Source::BackupSet(set_id) = source {
        let owner = member_access(&state, access.user.clone(), previewed.source.tenant_id())
            .await
            .map_err(&fail)?;
        let current = content::source_item_ids(
            &state.services().db,
            owner.scope(),
            TargetType::BackupSet,
            set_id,
        )
        .await
        .map_err(|e| fail(e.into()))?;
        if item_ids.iter().any(|id| !current.contains(id)) {
            return Err(fail(ApiError::Conflict(
                "the backup set was captured again since this preview; preview it again to \
                 restore its current versions"
                    .into(),
            )));
        }
    }
    let run = restore_api::restore(
        &state,
        &access,
        RestoreBody {
            source: source.reference(),
            // A preview of everything restores everything.
            item_ids: (!item_ids.is_empty()).then_some(item_ids),
            mode: Mode::Live,
            confirm: form.get("confirm").map(str::to_string),
            // As previewed: the preview showed the states it would write.
            keep_conditional_access_state: previewed.keep_enforcement,
        },
    )
    .await
    .map_err(&fail)?;
    started(&headers, &run)
}

/// `POST /tenants/{tenant}/runs/{run}/rerun`: re-run a finished live restore.
pub(super) async fn rerun(
    State(state): State<AppState>,
    access: TenantAccess,
    headers: HeaderMap,
    Path((_, run_id)): Path<(String, Uuid)>,
    form: FormData,
) -> Result<Response, PageError> {
    let fail = PageError::for_request(&headers);
    let run = restore_api::rerun_restore(
        &state,
        &access,
        run_id,
        RerunBody {
            confirm: form.get("confirm").map(str::to_string),
            only_failed: form.get("items") == Some("failed"),
        },
    )
    .await
    .map_err(&fail)?;
    started(&headers, &run)
}

/// `POST /tenants/{tenant}/runs/{run}/undo`: undo a finished live restore.
pub(super) async fn undo(
    State(state): State<AppState>,
    access: TenantAccess,
    headers: HeaderMap,
    Path((_, run_id)): Path<(String, Uuid)>,
    form: FormData,
) -> Result<Response, PageError> {
    let fail = PageError::for_request(&headers);
    let run = restore_api::undo_restore(
        &state,
        &access,
        run_id,
        UndoBody {
            confirm: form.get("confirm").map(str::to_string),
            delete_created: form.get("delete_created") == Some("true"),
        },
    )
    .await
    .map_err(&fail)?;
    started(&headers, &run)
}
