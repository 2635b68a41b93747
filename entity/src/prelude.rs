//! Short aliases for every entity and the enums, for `use entity::prelude::*`.

pub use crate::api_tokens::Entity as ApiTokens;
pub use crate::audit_events::Entity as AuditEvents;
pub use crate::backup_items::Entity as BackupItems;
pub use crate::backup_sets::Entity as BackupSets;
pub use crate::baselines::Entity as Baselines;
pub use crate::drift_exceptions::Entity as DriftExceptions;
pub use crate::drift_reports::Entity as DriftReports;
pub use crate::enums::{Role, RunItemStatus, RunOperation, RunStatus};
pub use crate::memberships::Entity as Memberships;
pub use crate::notification_preferences::Entity as NotificationPreferences;
pub use crate::notifications::Entity as Notifications;
pub use crate::object_mappings::Entity as ObjectMappings;
pub use crate::run_cancellations::Entity as RunCancellations;
pub use crate::run_items::Entity as RunItems;
pub use crate::runs::Entity as Runs;
pub use crate::schedule_ticks::Entity as ScheduleTicks;
pub use crate::schedules::Entity as Schedules;
pub use crate::sessions::Entity as Sessions;
pub use crate::snapshot_items::Entity as SnapshotItems;
pub use crate::snapshots::Entity as Snapshots;
pub use crate::tenants::Entity as Tenants;
pub use crate::uploads::Entity as Uploads;
pub use crate::users::Entity as Users;
pub use crate::webhook_deliveries::Entity as WebhookDeliveries;
pub use crate::webhooks::Entity as Webhooks;
