//! Text-backed enums with a closed set of values.
//!
//! Each is stored as its snake_case name in a `text` column guarded by a CHECK constraint in
//! the migrations; `ActiveEnum::to_value` gives that text, serde uses the same spelling.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A member's role in a tenant, in increasing order of rights.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Operator,
    Admin,
}

/// The kind of background operation a run performs.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum RunOperation {
    CaptureSnapshot,
    BackupSetCapture,
    Restore,
    RestoreRerun,
    RestorePreview,
    RestoreUndo,
    /// Compare two captures, or a capture and the tenant now (reads only).
    Compare,
    /// Read an uploaded archive of exported objects into a new backup set.
    Import,
    /// Apply the tenant's retention: delete old snapshots, backup-set versions and runs.
    Prune,
    /// Sign in to the tenant and read one collection: does its connection work?
    ConnectionTest,
    /// Delete everything stored for a disabled tenant but its audit trail and members.
    TenantPurge,
}

/// Run lifecycle: `queued → running → succeeded | failed | partial` (`canceled` reserved).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Partial,
    Canceled,
}

/// State of one item within a run.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum RunItemStatus {
    Pending,
    Running,
    Succeeded,
    Failed,
    Skipped,
}

/// What a run's `target_id` names (with the tenant, the run's de-duplication key).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum TargetType {
    Tenant,
    BackupSet,
    Snapshot,
    Run,
}

/// What a run did (or, in a preview, would do) with one item.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ItemAction {
    // Captures.
    /// Listing a policy type (the item of a type whose list failed).
    List,
    Captured,
    Added,
    NewVersion,
    Missing,
    // Restores and previews.
    Unchanged,
    Conflict,
    Skip,
    WouldCreate,
    WouldUpdate,
    Created,
    Updated,
    AssignmentsUpdated,
    /// A preview item that failed before it was decided.
    Preview,
    /// A restore item that failed before it was written.
    Restore,
    // Undo.
    Revert,
    Reverted,
    WouldRevert,
    Delete,
    Deleted,
    WouldDelete,
    Keep,
    Kept,
    /// Left pending or running when the run ended: recorded failed, re-run as failed.
    NotAttempted,
    // Comparisons (and `Added`): an object only on the left, or on both sides but different.
    Removed,
    Changed,
}

/// Which outcome count of a run an item's action adds to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionCount {
    Created,
    Updated,
    Unchanged,
    Conflict,
    Deleted,
    /// Counted by status only.
    None,
}

impl ItemAction {
    /// Previews count what they would do; an undo counts reverted objects as updated.
    pub fn counts_as(self) -> ActionCount {
        match self {
            Self::Created | Self::WouldCreate => ActionCount::Created,
            Self::Updated
            | Self::WouldUpdate
            | Self::AssignmentsUpdated
            | Self::Reverted
            | Self::WouldRevert => ActionCount::Updated,
            Self::Unchanged => ActionCount::Unchanged,
            Self::Conflict => ActionCount::Conflict,
            Self::Deleted | Self::WouldDelete => ActionCount::Deleted,
            _ => ActionCount::None,
        }
    }
}

/// Text forms, display and parsing with messages fit for users (the CLI and the API parse
/// these from user input).
macro_rules! text_enum {
    ($ty:ident, $what:literal, [$($variant:ident => $text:literal),+ $(,)?]) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $text),+
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = UnknownValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let wanted = s.trim().to_ascii_lowercase();
                $ty::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == wanted)
                    .ok_or_else(|| UnknownValue {
                        what: $what,
                        value: s.to_string(),
                        expected: $ty::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", "),
                    })
            }
        }
    };
}

/// A text that names none of an enum's values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValue {
    pub what: &'static str,
    pub value: String,
    pub expected: String,
}

impl std::fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?} is not a {}; expected one of: {}",
            self.value, self.what, self.expected
        )
    }
}

impl std::error::Error for UnknownValue {}

text_enum!(Role, "role", [Viewer => "viewer", Operator => "operator", Admin => "admin"]);
text_enum!(RunOperation, "operation", [
    CaptureSnapshot => "capture_snapshot",
    BackupSetCapture => "backup_set_capture",
    Restore => "restore",
    RestoreRerun => "restore_rerun",
    RestorePreview => "restore_preview",
    RestoreUndo => "restore_undo",
    Compare => "compare",
    Import => "import",
    Prune => "prune",
    ConnectionTest => "connection_test",
    TenantPurge => "tenant_purge",
]);
text_enum!(RunStatus, "run status", [
    Queued => "queued",
    Running => "running",
    Succeeded => "succeeded",
    Failed => "failed",
    Partial => "partial",
    Canceled => "canceled",
]);
text_enum!(RunItemStatus, "item status", [
    Pending => "pending",
    Running => "running",
    Succeeded => "succeeded",
    Failed => "failed",
    Skipped => "skipped",
]);
text_enum!(ItemAction, "item action", [
    List => "list",
    Captured => "captured",
    Added => "added",
    NewVersion => "new_version",
    Missing => "missing",
    Unchanged => "unchanged",
    Conflict => "conflict",
    Skip => "skip",
    WouldCreate => "would_create",
    WouldUpdate => "would_update",
    Created => "created",
    Updated => "updated",
    AssignmentsUpdated => "assignments_updated",
    Preview => "preview",
    Restore => "restore",
    Revert => "revert",
    Reverted => "reverted",
    WouldRevert => "would_revert",
    Delete => "delete",
    Deleted => "deleted",
    WouldDelete => "would_delete",
    Keep => "keep",
    Kept => "kept",
    NotAttempted => "not_attempted",
    Removed => "removed",
    Changed => "changed",
]);
text_enum!(TargetType, "target type", [
    Tenant => "tenant",
    BackupSet => "backup_set",
    Snapshot => "snapshot",
    Run => "run",
]);

impl Role {
    /// True when this role grants everything `required` grants (admin ⊃ operator ⊃ viewer).
    pub fn allows(self, required: Role) -> bool {
        self.rank() >= required.rank()
    }

    fn rank(self) -> u8 {
        match self {
            Role::Viewer => 0,
            Role::Operator => 1,
            Role::Admin => 2,
        }
    }
}

impl RunOperation {
    /// Live restores write to a customer tenant: they need a typed confirmation and audit.
    pub fn is_live_restore(self) -> bool {
        matches!(self, RunOperation::Restore | RunOperation::RestoreRerun)
    }

    /// Operations that write to a customer tenant (live restores and their undo): typed
    /// confirmation, the admin role, audit events and a pre-restore copy.
    pub fn writes_to_tenant(self) -> bool {
        self.is_live_restore() || self == RunOperation::RestoreUndo
    }
}

impl RunStatus {
    pub fn is_terminal(self) -> bool {
        !matches!(self, RunStatus::Queued | RunStatus::Running)
    }
}

#[cfg(test)]
mod text_tests {
    use super::*;

    #[test]
    fn text_forms_round_trip_and_match_the_database_values() {
        use sea_orm::ActiveEnum;
        for op in RunOperation::ALL {
            assert_eq!(op.as_str().parse::<RunOperation>().unwrap(), *op);
            assert_eq!(op.to_value(), op.as_str());
        }
        for st in RunStatus::ALL {
            assert_eq!(st.as_str().parse::<RunStatus>().unwrap(), *st);
            assert_eq!(st.to_value(), st.as_str());
        }
        for role in Role::ALL {
            assert_eq!(role.to_value(), role.as_str());
        }
        let err = "root".parse::<Role>().unwrap_err().to_string();
        assert!(err.contains("viewer, operator, admin"), "{err}");
    }

    #[test]
    fn roles_include_lower_ones() {
        assert!(Role::Admin.allows(Role::Operator));
        assert!(Role::Operator.allows(Role::Viewer));
        assert!(!Role::Viewer.allows(Role::Operator));
        assert!(RunStatus::Partial.is_terminal());
        assert!(!RunStatus::Running.is_terminal());
    }
}
