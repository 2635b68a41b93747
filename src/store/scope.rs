//! `TenantScope`: the proof, checked once, that its holder may touch one tenant's rows.
//!
//! It cannot be built from a bare id outside the store. The store hands one out only after a
//! check: a membership of the user in the tenant ([`accounts::member_scope`], what the web
//! layer and the worker's execution-time re-check use) or a claimed run
//! ([`runs::claim`](super::runs::claim), the lease of one run of the tenant), or the
//! installation's own command line ([`tenants::command_line_scope`]). Every query over
//! tenant-owned rows (snapshots, backup sets, runs, their items, mappings, audit events)
//! takes a scope and filters by it, so a row of another tenant is simply not found.
//!
//! [`accounts::member_scope`]: super::accounts::member_scope
//! [`tenants::command_line_scope`]: super::tenants::command_line_scope

use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TenantScope {
    tenant_id: Uuid,
}

impl TenantScope {
    /// Only the store's checks grant a scope.
    pub(super) fn granted(tenant_id: Uuid) -> Self {
        Self { tenant_id }
    }

    pub fn tenant_id(&self) -> Uuid {
        self.tenant_id
    }
}
