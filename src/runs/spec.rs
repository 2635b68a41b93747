//! `RunSpec`: what a run does, as one typed value — the operation and its parameters (the
//! content source, the item selection, the run it follows from).
//!
//! `runs::start` takes it, the claimed run carries it to `jobs`, and the run page and the
//! API read it. It is stored as JSON in `runs.params` (the variant's body; the variant is
//! the `operation` column) and parsed back into the type at every boundary: a stored spec
//! that is unknown or malformed is a [`SpecError`], and the worker fails such a run with
//! `invalid_run_spec` instead of guessing what it meant.

use entity::enums::{RunOperation, TargetType};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::graph::registry::PolicyType;
use uuid::Uuid;

use super::start::selection_digest;

/// One variant per operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunSpec {
    /// Capture a snapshot of the run's tenant.
    CaptureSnapshot {
        /// Policy-type keys to capture; empty means every supported type.
        policy_types: Vec<PolicyType>,
        /// The schedule that started it, if one did.
        schedule_id: Option<Uuid>,
    },
    /// Capture (sync) a backup set of the run's tenant.
    BackupSetCapture {
        backup_set_id: Uuid,
        schedule_id: Option<Uuid>,
    },
    /// Restore content into the run's tenant (live, confirmed).
    Restore(RestoreSpec),
    /// What a restore would do, without writing.
    RestorePreview(RestoreSpec),
    /// Restore again what an earlier live restore restored (all items or its failed ones).
    RestoreRerun {
        original_run_id: Uuid,
        restore: RestoreSpec,
        only_failed: bool,
    },
    /// Put back what a live restore changed, from its pre-restore snapshot.
    RestoreUndo {
        original_run_id: Uuid,
        /// Also delete the objects the restore created (by their recorded ids).
        delete_created: bool,
        pre_restore_snapshot_id: Option<Uuid>,
    },
    /// What changed from `left` to `right` (reads only).
    Compare { left: Side, right: Side },
    /// Read an uploaded archive into a new backup set of the run's tenant, one item per file.
    Import {
        upload_id: Uuid,
        backup_set_id: Uuid,
    },
    /// Apply the tenant's retention: delete what it no longer keeps, one item per deletion.
    Prune { schedule_id: Option<Uuid> },
    /// Sign in to the run's tenant and read one collection.
    ConnectionTest,
    /// Delete a disabled tenant's stored data (all but its audit trail and members).
    TenantPurge,
}

/// One side of a comparison: stored content (of the run's tenant or of another one the
/// initiator is a member of, a baseline), or the run's tenant as Graph serves it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Stored(Source),
    Live,
}

/// Content a restore reads: a snapshot or a backup set, of the run's tenant or (a
/// cross-tenant restore) of another tenant the initiator is a member of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Snapshot { id: Uuid, tenant_id: Uuid },
    BackupSet { id: Uuid, tenant_id: Uuid },
}

impl Source {
    pub fn id(&self) -> Uuid {
        match self {
            Source::Snapshot { id, .. } | Source::BackupSet { id, .. } => *id,
        }
    }

    /// The tenant the content belongs to.
    pub fn tenant_id(&self) -> Uuid {
        match self {
            Source::Snapshot { tenant_id, .. } | Source::BackupSet { tenant_id, .. } => *tenant_id,
        }
    }

    pub fn target_type(&self) -> TargetType {
        match self {
            Source::Snapshot { .. } => TargetType::Snapshot,
            Source::BackupSet { .. } => TargetType::BackupSet,
        }
    }
}

/// Which items of the source a run acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    All,
    /// Sorted, without duplicates, never empty.
    Items(Vec<Uuid>),
}

impl Selection {
    /// `None` is everything; ids are sorted and de-duplicated. An empty list is refused:
    /// selecting nothing is a mistake, not "everything".
    pub fn of(item_ids: Option<Vec<Uuid>>) -> Result<Self, SpecError> {
        match item_ids {
            None => Ok(Self::All),
            Some(mut ids) => {
                if ids.is_empty() {
                    return Err(SpecError::Malformed(
                        "item_ids: the selection is empty".into(),
                    ));
                }
                ids.sort();
                ids.dedup();
                Ok(Self::Items(ids))
            }
        }
    }

    pub fn item_ids(&self) -> Option<&[Uuid]> {
        match self {
            Selection::All => None,
            Selection::Items(ids) => Some(ids),
        }
    }
}

/// A restore's (or preview's) parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreSpec {
    pub source: Source,
    pub selection: Selection,
    /// Write guarded properties as captured (conditional access policies' `state`) instead of
    /// their safe value (report-only). A restore that could lock a customer's admins out
    /// takes this second, explicit choice besides the typed confirmation.
    pub keep_enforcement: bool,
}

/// A stored spec that cannot be read as one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("the run's parameters are malformed: {0}")]
    Malformed(String),
}

impl SpecError {
    /// The run error code of a run whose stored spec cannot be read.
    pub const CODE: &'static str = "invalid_run_spec";
}

impl RunSpec {
    pub fn operation(&self) -> RunOperation {
        match self {
            RunSpec::CaptureSnapshot { .. } => RunOperation::CaptureSnapshot,
            RunSpec::BackupSetCapture { .. } => RunOperation::BackupSetCapture,
            RunSpec::Restore(_) => RunOperation::Restore,
            RunSpec::RestorePreview(_) => RunOperation::RestorePreview,
            RunSpec::RestoreRerun { .. } => RunOperation::RestoreRerun,
            RunSpec::RestoreUndo { .. } => RunOperation::RestoreUndo,
            RunSpec::Compare { .. } => RunOperation::Compare,
            RunSpec::Import { .. } => RunOperation::Import,
            RunSpec::Prune { .. } => RunOperation::Prune,
            RunSpec::ConnectionTest => RunOperation::ConnectionTest,
            RunSpec::TenantPurge => RunOperation::TenantPurge,
        }
    }

    /// What the run is de-duplicated on, with the run's tenant: `(type, id)`.
    pub fn target(&self, tenant_id: Uuid) -> (TargetType, Uuid) {
        match self {
            RunSpec::CaptureSnapshot { .. }
            | RunSpec::Prune { .. }
            | RunSpec::ConnectionTest
            | RunSpec::TenantPurge => (TargetType::Tenant, tenant_id),
            RunSpec::BackupSetCapture { backup_set_id, .. }
            | RunSpec::Import { backup_set_id, .. } => (TargetType::BackupSet, *backup_set_id),
            RunSpec::Restore(r) | RunSpec::RestorePreview(r) => {
                (r.source.target_type(), r.source.id())
            }
            RunSpec::RestoreRerun {
                original_run_id, ..
            }
            | RunSpec::RestoreUndo {
                original_run_id, ..
            } => (TargetType::Run, *original_run_id),
            RunSpec::Compare { left, .. } => match left {
                Side::Stored(s) => (s.target_type(), s.id()),
                Side::Live => (TargetType::Tenant, tenant_id),
            },
        }
    }

    /// The schedule that started the run, if one did.
    pub fn schedule_id(&self) -> Option<Uuid> {
        match self {
            RunSpec::CaptureSnapshot { schedule_id, .. }
            | RunSpec::BackupSetCapture { schedule_id, .. }
            | RunSpec::Prune { schedule_id } => *schedule_id,
            _ => None,
        }
    }

    /// The run this one follows from (a re-run or an undo of a restore).
    pub fn parent_run_id(&self) -> Option<Uuid> {
        match self {
            RunSpec::RestoreRerun {
                original_run_id, ..
            }
            | RunSpec::RestoreUndo {
                original_run_id, ..
            } => Some(*original_run_id),
            _ => None,
        }
    }

    /// The restore parameters of restores, previews and re-runs.
    pub fn restore(&self) -> Option<&RestoreSpec> {
        match self {
            RunSpec::Restore(r) | RunSpec::RestorePreview(r) => Some(r),
            RunSpec::RestoreRerun { restore, .. } => Some(restore),
            _ => None,
        }
    }

    /// The item selection (everything for operations that have none).
    pub fn selection(&self) -> &Selection {
        const ALL: &Selection = &Selection::All;
        self.restore().map_or(ALL, |r| &r.selection)
    }

    /// Part of the de-duplication key: two starts of one target with different selections
    /// are different runs. An undo is one per restore, whatever it deletes.
    pub fn selection_digest(&self) -> String {
        if let RunSpec::Compare { right, .. } = self {
            // One comparison of a left side with each right side.
            let right = match right {
                Side::Stored(s) => format!("right:{}", s.id()),
                Side::Live => "right:live".to_string(),
            };
            return selection_digest(None, &[right.as_str()]);
        }
        let keep = self.restore().is_some_and(|r| r.keep_enforcement);
        let options: &[&str] = if keep { &["keep_enforcement"] } else { &[] };
        selection_digest(self.selection().item_ids(), options)
    }

    /// Every tenant the run reads or writes, the run's own first: the initiator must be a
    /// member of each when the run starts and again when it executes.
    pub fn tenants(&self, tenant_id: Uuid) -> Vec<Uuid> {
        let mut tenants = vec![tenant_id];
        if let Some(r) = self.restore()
            && r.source.tenant_id() != tenant_id
        {
            tenants.push(r.source.tenant_id());
        }
        if let RunSpec::Compare { left, right } = self {
            for side in [left, right] {
                if let Side::Stored(s) = side
                    && !tenants.contains(&s.tenant_id())
                {
                    tenants.push(s.tenant_id());
                }
            }
        }
        tenants
    }

    /// The JSON stored in `runs.params`.
    pub fn to_stored(&self) -> Json {
        let value = match self {
            RunSpec::CaptureSnapshot {
                policy_types,
                schedule_id,
            } => serde_json::to_value(CaptureWire {
                policy_types: policy_types.clone(),
                schedule_id: *schedule_id,
            }),
            RunSpec::BackupSetCapture {
                backup_set_id,
                schedule_id,
            } => serde_json::to_value(BackupSetWire {
                backup_set_id: *backup_set_id,
                schedule_id: *schedule_id,
            }),
            RunSpec::Restore(r) | RunSpec::RestorePreview(r) => {
                serde_json::to_value(RestoreWire::from(r))
            }
            RunSpec::RestoreRerun {
                original_run_id,
                restore,
                only_failed,
            } => {
                let r = RestoreWire::from(restore);
                serde_json::to_value(RerunWire {
                    original_run_id: *original_run_id,
                    only_failed: *only_failed,
                    source_kind: r.source_kind,
                    source_id: r.source_id,
                    source_tenant_id: r.source_tenant_id,
                    item_ids: r.item_ids,
                    keep_enforcement: r.keep_enforcement,
                })
            }
            RunSpec::RestoreUndo {
                original_run_id,
                delete_created,
                pre_restore_snapshot_id,
            } => serde_json::to_value(UndoWire {
                original_run_id: *original_run_id,
                delete_created: *delete_created,
                pre_restore_snapshot_id: *pre_restore_snapshot_id,
            }),
            RunSpec::Compare { left, right } => serde_json::to_value(CompareWire {
                left: SideWire::from(*left),
                right: SideWire::from(*right),
            }),
            RunSpec::Import {
                upload_id,
                backup_set_id,
            } => serde_json::to_value(ImportWire {
                upload_id: *upload_id,
                backup_set_id: *backup_set_id,
            }),
            RunSpec::Prune { schedule_id } => serde_json::to_value(PruneWire {
                schedule_id: *schedule_id,
            }),
            RunSpec::ConnectionTest | RunSpec::TenantPurge => {
                serde_json::to_value(ConnectionTestWire {})
            }
        };
        // Plain structs of ids, bools and strings always serialize.
        value.unwrap_or_default()
    }

    /// The spec of a stored run.
    pub fn of(run: &entity::runs::Model) -> Result<Self, SpecError> {
        Self::from_stored(run.operation, &run.params)
    }

    /// Reads a stored spec: the operation column says which variant, the params its body.
    pub fn from_stored(operation: RunOperation, params: &Json) -> Result<Self, SpecError> {
        fn body<T: serde::de::DeserializeOwned>(params: &Json) -> Result<T, SpecError> {
            T::deserialize(params).map_err(|e| SpecError::Malformed(e.to_string()))
        }
        Ok(match operation {
            RunOperation::CaptureSnapshot => {
                let w: CaptureWire = body(params)?;
                RunSpec::CaptureSnapshot {
                    policy_types: w.policy_types,
                    schedule_id: w.schedule_id,
                }
            }
            RunOperation::BackupSetCapture => {
                let w: BackupSetWire = body(params)?;
                RunSpec::BackupSetCapture {
                    backup_set_id: w.backup_set_id,
                    schedule_id: w.schedule_id,
                }
            }
            RunOperation::Restore => RunSpec::Restore(body::<RestoreWire>(params)?.parse()?),
            RunOperation::RestorePreview => {
                RunSpec::RestorePreview(body::<RestoreWire>(params)?.parse()?)
            }
            RunOperation::RestoreRerun => {
                let w: RerunWire = body(params)?;
                let restore = RestoreWire {
                    source_kind: w.source_kind,
                    source_id: w.source_id,
                    source_tenant_id: w.source_tenant_id,
                    item_ids: w.item_ids,
                    keep_enforcement: w.keep_enforcement,
                };
                RunSpec::RestoreRerun {
                    original_run_id: w.original_run_id,
                    only_failed: w.only_failed,
                    restore: restore.parse()?,
                }
            }
            RunOperation::RestoreUndo => {
                let w: UndoWire = body(params)?;
                RunSpec::RestoreUndo {
                    original_run_id: w.original_run_id,
                    delete_created: w.delete_created,
                    pre_restore_snapshot_id: w.pre_restore_snapshot_id,
                }
            }
            RunOperation::Compare => {
                let w: CompareWire = body(params)?;
                RunSpec::Compare {
                    left: w.left.parse()?,
                    right: w.right.parse()?,
                }
            }
            RunOperation::Import => {
                let w: ImportWire = body(params)?;
                RunSpec::Import {
                    upload_id: w.upload_id,
                    backup_set_id: w.backup_set_id,
                }
            }
            RunOperation::Prune => RunSpec::Prune {
                schedule_id: body::<PruneWire>(params)?.schedule_id,
            },
            RunOperation::ConnectionTest => {
                body::<ConnectionTestWire>(params)?;
                RunSpec::ConnectionTest
            }
            RunOperation::TenantPurge => {
                body::<ConnectionTestWire>(params)?;
                RunSpec::TenantPurge
            }
        })
    }
}

// The stored bodies. Field names are the stored contract (`runs.params` of existing rows);
// unknown fields are refused so a spec written by a newer release is not half-read.

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaptureWire {
    #[serde(default)]
    policy_types: Vec<PolicyType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    schedule_id: Option<Uuid>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BackupSetWire {
    backup_set_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    schedule_id: Option<Uuid>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectionTestWire {}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PruneWire {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    schedule_id: Option<Uuid>,
}

#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum SourceKind {
    Snapshot,
    BackupSet,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RestoreWire {
    source_kind: SourceKind,
    source_id: Uuid,
    source_tenant_id: Uuid,
    #[serde(default)]
    item_ids: Option<Vec<Uuid>>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    keep_enforcement: bool,
}

impl From<&RestoreSpec> for RestoreWire {
    fn from(r: &RestoreSpec) -> Self {
        let source_kind = match r.source {
            Source::Snapshot { .. } => SourceKind::Snapshot,
            Source::BackupSet { .. } => SourceKind::BackupSet,
        };
        Self {
            source_kind,
            source_id: r.source.id(),
            source_tenant_id: r.source.tenant_id(),
            item_ids: r.selection.item_ids().map(<[Uuid]>::to_vec),
            keep_enforcement: r.keep_enforcement,
        }
    }
}

impl RestoreWire {
    fn parse(self) -> Result<RestoreSpec, SpecError> {
        let (id, tenant_id) = (self.source_id, self.source_tenant_id);
        Ok(RestoreSpec {
            source: match self.source_kind {
                SourceKind::Snapshot => Source::Snapshot { id, tenant_id },
                SourceKind::BackupSet => Source::BackupSet { id, tenant_id },
            },
            selection: Selection::of(self.item_ids)?,
            keep_enforcement: self.keep_enforcement,
        })
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RerunWire {
    original_run_id: Uuid,
    #[serde(default)]
    only_failed: bool,
    source_kind: SourceKind,
    source_id: Uuid,
    source_tenant_id: Uuid,
    #[serde(default)]
    item_ids: Option<Vec<Uuid>>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    keep_enforcement: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct UndoWire {
    original_run_id: Uuid,
    #[serde(default)]
    delete_created: bool,
    #[serde(default)]
    pre_restore_snapshot_id: Option<Uuid>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportWire {
    upload_id: Uuid,
    backup_set_id: Uuid,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CompareWire {
    left: SideWire,
    right: SideWire,
}

#[derive(Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum SideKind {
    Snapshot,
    BackupSet,
    Live,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SideWire {
    kind: SideKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tenant_id: Option<Uuid>,
}

impl From<Side> for SideWire {
    fn from(side: Side) -> Self {
        let (kind, id, tenant_id) = match side {
            Side::Stored(Source::Snapshot { id, tenant_id }) => {
                (SideKind::Snapshot, Some(id), Some(tenant_id))
            }
            Side::Stored(Source::BackupSet { id, tenant_id }) => {
                (SideKind::BackupSet, Some(id), Some(tenant_id))
            }
            Side::Live => (SideKind::Live, None, None),
        };
        Self {
            kind,
            id,
            tenant_id,
        }
    }
}

impl SideWire {
    fn parse(self) -> Result<Side, SpecError> {
        let stored = |make: fn(Uuid, Uuid) -> Source| match (self.id, self.tenant_id) {
            (Some(id), Some(tenant_id)) => Ok(Side::Stored(make(id, tenant_id))),
            _ => Err(SpecError::Malformed(
                "a stored side names its id and tenant".into(),
            )),
        };
        match self.kind {
            SideKind::Snapshot => stored(|id, tenant_id| Source::Snapshot { id, tenant_id }),
            SideKind::BackupSet => stored(|id, tenant_id| Source::BackupSet { id, tenant_id }),
            SideKind::Live if self.id.is_none() && self.tenant_id.is_none() => Ok(Side::Live),
            SideKind::Live => Err(SpecError::Malformed(
                "the live side is the run's tenant; it names no id".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn restore() -> RestoreSpec {
        RestoreSpec {
            source: Source::BackupSet {
                id: Uuid::from_u128(1),
                tenant_id: Uuid::from_u128(2),
            },
            selection: Selection::of(Some(vec![Uuid::from_u128(4), Uuid::from_u128(3)])).unwrap(),
            keep_enforcement: false,
        }
    }

    #[test]
    fn every_variant_survives_storage() {
        let specs = [
            RunSpec::Compare {
                left: Side::Stored(Source::Snapshot {
                    id: Uuid::from_u128(7),
                    tenant_id: Uuid::from_u128(8),
                }),
                right: Side::Live,
            },
            RunSpec::CaptureSnapshot {
                policy_types: vec![PolicyType::parse("settingsCatalog").unwrap()],
                schedule_id: None,
            },
            RunSpec::CaptureSnapshot {
                policy_types: vec![],
                schedule_id: Some(Uuid::from_u128(12)),
            },
            RunSpec::BackupSetCapture {
                backup_set_id: Uuid::from_u128(9),
                schedule_id: Some(Uuid::from_u128(13)),
            },
            RunSpec::Import {
                upload_id: Uuid::from_u128(10),
                backup_set_id: Uuid::from_u128(11),
            },
            RunSpec::Restore(restore()),
            RunSpec::RestorePreview(RestoreSpec {
                selection: Selection::All,
                ..restore()
            }),
            RunSpec::RestoreRerun {
                original_run_id: Uuid::from_u128(7),
                restore: restore(),
                only_failed: true,
            },
            RunSpec::RestoreUndo {
                original_run_id: Uuid::from_u128(7),
                delete_created: true,
                pre_restore_snapshot_id: Some(Uuid::from_u128(8)),
            },
        ];
        for spec in specs {
            let stored = spec.to_stored();
            assert_eq!(
                RunSpec::from_stored(spec.operation(), &stored),
                Ok(spec.clone()),
                "{stored}"
            );
        }
    }

    #[test]
    fn rows_written_before_the_typed_spec_still_read() {
        let stored = json!({
            "source_kind": "snapshot",
            "source_id": Uuid::from_u128(1),
            "source_tenant_id": Uuid::from_u128(2),
            "item_ids": null,
        });
        let spec = RunSpec::from_stored(RunOperation::RestorePreview, &stored).unwrap();
        assert_eq!(
            spec.target(Uuid::from_u128(2)),
            (TargetType::Snapshot, Uuid::from_u128(1))
        );
        assert_eq!(spec.selection(), &Selection::All);
    }

    #[test]
    fn unknown_or_malformed_specs_are_refused_not_guessed() {
        let base = json!({
            "source_kind": "snapshot",
            "source_id": Uuid::from_u128(1),
            "source_tenant_id": Uuid::from_u128(2),
        });
        let mut unknown_kind = base.clone();
        unknown_kind["source_kind"] = json!("archive");
        let mut extra = base.clone();
        extra["mode"] = json!("live");
        let mut empty = base.clone();
        empty["item_ids"] = json!([]);
        for bad in [
            unknown_kind,
            extra,
            empty,
            json!({}),
            json!("text"),
            json!(null),
        ] {
            assert!(
                RunSpec::from_stored(RunOperation::Restore, &bad).is_err(),
                "{bad} was accepted"
            );
        }
        // A body of another operation is not silently read as this one.
        let capture = RunSpec::CaptureSnapshot {
            policy_types: vec![],
            schedule_id: None,
        }
        .to_stored();
        assert!(RunSpec::from_stored(RunOperation::BackupSetCapture, &capture).is_err());
    }

    #[test]
    fn a_cross_tenant_restore_touches_both_tenants() {
        let spec = RunSpec::Restore(restore());
        assert_eq!(
            spec.tenants(Uuid::from_u128(5)),
            vec![Uuid::from_u128(5), Uuid::from_u128(2)]
        );
        assert_eq!(spec.tenants(Uuid::from_u128(2)), vec![Uuid::from_u128(2)]);
    }
}
