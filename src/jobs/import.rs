//! `import`: read an uploaded archive (a PolicyVault export, or a folder of Intune JSON
//! exports as other tools and the admin center write them) into the run's new backup set,
//! one item per file. A file that cannot be read, is of no supported type, or repeats an
//! object another file already holds is a failed item with its reason; files that are not
//! JSON at all are skipped with theirs. Reads no Graph and writes none.

use std::collections::{BTreeMap, HashMap};

use entity::enums::{ItemAction, RunItemStatus};

use crate::graph::archive::{self, Limits};
use crate::graph::registry::PolicyType;
use crate::runs::{ExecError, Execution, SafeError};
use crate::store::content::{self, CapturedObject, SyncOutcome};
use crate::store::runs::{ItemResult, PlannedItem};
use crate::store::{StoreError, uploads};

pub async fn import(
    execution: &Execution,
    upload_id: uuid::Uuid,
    backup_set_id: uuid::Uuid,
) -> Result<(), ExecError> {
    let db = &execution.services().db;
    let scope = execution.scope();
    let gone = |what: &'static str, message: &'static str| {
        move |e: StoreError| match e {
            StoreError::NotFound => ExecError::Failed(SafeError::new(what, message)),
            other => other.into(),
        }
    };
    let upload = match uploads::get(db, scope, upload_id).await {
        Ok(upload) => upload,
        // Read and deleted by an earlier attempt that stopped before the run was finished:
        // the items it recorded are the import.
        Err(StoreError::NotFound) if !execution.finished_items().await?.is_empty() => {
            return Ok(());
        }
        Err(e) => {
            return Err(gone(
                "upload_missing",
                "the uploaded archive is no longer stored",
            )(e));
        }
    };
    let set = content::backup_set(db, scope, backup_set_id)
        .await
        .map_err(gone(
            "backup_set_missing",
            "the import's backup set no longer exists",
        ))?;
    let settings = &execution.services().settings.imports;
    let limits = Limits {
        max_files: settings.max_files,
        max_file_bytes: settings.max_file_bytes,
        max_total_bytes: settings.max_unpacked_bytes,
    };
    let files = archive::files(&upload.content, &upload.filename, limits)
        .map_err(|e| ExecError::Failed(SafeError::new("unreadable_archive", e.to_string())))?;
    let manifest = archive::manifest(&files);
    let listed: Option<BTreeMap<String, archive::ManifestEntry>> = manifest.as_ref().map(|m| {
        m.objects
            .iter()
            .map(|e| (e.file.clone(), e.clone()))
            .collect()
    });
    // Assignments some tools keep in files of their own: joined to their object's file.
    let assignment_files = archive::assignment_files(&files);
    let mut assignments_of: HashMap<&str, &serde_json::Value> = HashMap::new();
    for (owner, list) in assignment_files.values() {
        if let Some(owner) = owner {
            assignments_of.insert(owner.as_str(), list);
        }
    }
    let files: Vec<&archive::RawFile> = files
        .iter()
        .filter(|f| manifest.is_none() || f.path != archive::MANIFEST)
        .collect();
    let key = |path: &str| format!("file:{path}");
    let planned: Vec<PlannedItem> = files
        .iter()
        .map(|f| PlannedItem {
            item_key: key(&f.path),
            policy_type: String::new(),
            display_name: f.path.clone(),
            source_ref: None,
        })
        .collect();
    if !planned.is_empty() {
        execution.plan(&planned).await?;
    }
    let done = execution.finished_items().await?;
    // (type, id) → the file that holds it: a second file with the same object is reported.
    let mut seen: HashMap<(PolicyType, String), String> = HashMap::new();
    let mut types: Vec<PolicyType> = Vec::new();
    for file in files {
        execution.check_lease()?;
        let item_key = key(&file.path);
        if let Some((owner, list)) = assignment_files.get(&file.path) {
            let count = list.as_array().map_or(0, Vec::len);
            let result = match owner {
                Some(owner) => ItemResult {
                    status: RunItemStatus::Succeeded,
                    error_message: Some(format!("{count} assignment(s) of {owner}")),
                    ..ItemResult::succeeded(&item_key, "", &file.path)
                },
                None => ItemResult {
                    status: RunItemStatus::Failed,
                    error_code: Some("assignments_without_object".into()),
                    error_message: Some(format!(
                        "{count} assignment(s) whose object file (the same name one folder up) is not in the archive"
                    )),
                    ..ItemResult::succeeded(&item_key, "", &file.path)
                },
            };
            if !done.contains(&item_key) {
                execution.record(result).await?;
            }
            continue;
        }
        let is_json = file.path.to_ascii_lowercase().ends_with(".json");
        let read = file.bytes.as_ref().map_err(Clone::clone).and_then(|bytes| {
            archive::read_object_with(
                &file.path,
                bytes,
                listed.as_ref(),
                assignments_of.get(file.path.as_str()).copied(),
            )
        });
        let result = match read {
            Err(e) if !is_json && e.code != "file_too_large" => ItemResult {
                status: RunItemStatus::Skipped,
                error_code: Some("not_json".into()),
                error_message: Some("not a .json file: not an exported object".into()),
                ..ItemResult::succeeded(&item_key, "", &file.path)
            },
            Err(e) => ItemResult {
                status: RunItemStatus::Failed,
                error_code: Some(e.code.to_string()),
                error_message: Some(e.message),
                ..ItemResult::succeeded(&item_key, "", &file.path)
            },
            Ok(object) => {
                let n = object.normalized;
                // An export without ids still names each object: by its file.
                let source_id = n.source_id.clone().unwrap_or_else(|| {
                    format!(
                        "import-{}",
                        &archive::sha256_hex(file.path.as_bytes())[..16]
                    )
                });
                let policy_type = object.policy_type;
                if let Some(first) = seen.get(&(policy_type, source_id.clone())) {
                    ItemResult {
                        status: RunItemStatus::Failed,
                        error_code: Some("duplicate_id".into()),
                        error_message: Some(format!(
                            "the same {} (id {source_id}) as {first}",
                            policy_type.contract().label
                        )),
                        ..ItemResult::succeeded(&item_key, policy_type.key(), &n.display_name)
                    }
                } else {
                    seen.insert((policy_type, source_id.clone()), file.path.clone());
                    if !types.contains(&policy_type) {
                        types.push(policy_type);
                    }
                    if done.contains(&item_key) {
                        continue;
                    }
                    let captured = CapturedObject {
                        policy_type: policy_type.key().to_string(),
                        source_id: source_id.clone(),
                        display_name: n.display_name.clone(),
                        payload: n.payload,
                        assignments: n.assignments,
                        content_hash: n.content_hash,
                    };
                    let (outcome, stored) =
                        content::sync_backup_item(db, &set, &captured, execution.run.id).await?;
                    ItemResult {
                        status: RunItemStatus::Succeeded,
                        action: Some(match outcome {
                            SyncOutcome::Added => ItemAction::Added,
                            SyncOutcome::NewVersion => ItemAction::NewVersion,
                            SyncOutcome::Unchanged => ItemAction::Unchanged,
                        }),
                        source_ref: Some(stored.id),
                        result_graph_id: Some(source_id),
                        ..ItemResult::succeeded(&item_key, policy_type.key(), &n.display_name)
                    }
                }
            }
        };
        if done.contains(&item_key) {
            continue;
        }
        execution.record(result).await?;
    }
    content::set_backup_set_types(db, scope, set.id, &types).await?;
    content::touch_backup_set(db, scope, set.id).await?;
    uploads::delete(db, scope, upload.id).await?;
    Ok(())
}
