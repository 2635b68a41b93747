//! One demo builder per policy family; each adds its collection's objects to a tenant.

mod admin_templates;
mod app_configurations;
mod app_protection;
mod autopilot;
mod compliance;
mod device_configurations;
mod directory;
mod enrollment;
mod filters;
mod intents;
mod scope_tags;
mod scripts;
mod settings_catalog;
mod tenant_admin;
mod update_profiles;

pub(super) use admin_templates::admin_templates;
pub(super) use app_configurations::app_configurations;
pub(super) use app_protection::app_protection;
pub(super) use autopilot::autopilot;
pub(super) use compliance::compliance;
pub(super) use device_configurations::device_configurations;
pub(super) use directory::directory;
pub(super) use enrollment::enrollment;
pub(super) use filters::filters;
pub(super) use intents::intents;
pub(super) use scope_tags::scope_tags;
pub(super) use scripts::scripts;
pub(super) use settings_catalog::settings_catalog;
pub(super) use tenant_admin::tenant_admin;
pub(super) use update_profiles::update_profiles;
