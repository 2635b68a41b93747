//! App credentials: a tenant's own app, multi-tenant apps (an MSP's one registration used in
//! many customer tenants) and the admin consents that let them into a tenant.

use std::sync::Mutex;

use serde::Serialize;

use crate::certificates::{Certificate, Thumbprints};
use crate::store::{Sim, Tenant, lock};

/// An app registration's credentials. Entra apps may have secrets and certificates at once;
/// either authenticates.
#[derive(Clone, Debug)]
pub struct App {
    pub client_id: String,
    pub client_secret: String,
    pub certificates: Vec<Certificate>,
}

/// A multi-tenant app as the admin API lists it.
#[derive(Clone, Debug, Serialize)]
pub struct AppView {
    pub client_id: String,
    pub client_secret: String,
    pub certificates: Vec<Thumbprints>,
}

impl App {
    pub fn view(&self) -> AppView {
        AppView {
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            certificates: self
                .certificates
                .iter()
                .map(Certificate::thumbprints)
                .collect(),
        }
    }
}

impl Tenant {
    /// The tenant's own (single-tenant) app.
    pub fn own_app(&self) -> App {
        App {
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            certificates: self.certificates.clone(),
        }
    }

    fn has_consented(&self, client_id: &str) -> bool {
        self.consents
            .iter()
            .any(|c| c.eq_ignore_ascii_case(client_id))
    }

    /// Record an administrator's consent to a multi-tenant app (idempotent).
    pub fn consent(&mut self, client_id: &str) {
        if !self.has_consented(client_id) {
            self.consents.push(client_id.to_string());
        }
    }

    pub fn revoke_consent(&mut self, client_id: &str) {
        self.consents.retain(|c| !c.eq_ignore_ascii_case(client_id));
    }
}

impl Sim {
    /// The app `client_id` names in `tenant`: the tenant's own app, or else a registered
    /// multi-tenant app the tenant has consented to.
    pub fn app_in(&self, tenant: &Mutex<Tenant>, client_id: &str) -> Option<App> {
        {
            let t = lock(tenant);
            if t.client_id.eq_ignore_ascii_case(client_id) {
                return Some(t.own_app());
            }
            if !t.has_consented(client_id) {
                return None;
            }
        }
        self.app(client_id)
    }

    /// Does `client_id` still have access to `tenant` (as `app_in`, without cloning
    /// credentials: this runs on every Graph request)?
    pub fn admits(&self, tenant: &Mutex<Tenant>, client_id: &str) -> bool {
        {
            let t = lock(tenant);
            if t.client_id.eq_ignore_ascii_case(client_id) {
                return true;
            }
            if !t.has_consented(client_id) {
                return false;
            }
        }
        self.read_apps()
            .iter()
            .any(|a| a.client_id.eq_ignore_ascii_case(client_id))
    }

    /// A registered multi-tenant app.
    pub fn app(&self, client_id: &str) -> Option<App> {
        self.read_apps()
            .iter()
            .find(|a| a.client_id.eq_ignore_ascii_case(client_id))
            .cloned()
    }

    /// Registered multi-tenant apps, in registration order.
    pub fn list_apps(&self) -> Vec<App> {
        self.read_apps().clone()
    }

    /// Register or replace a multi-tenant app (consents to it stay). True when it was new.
    pub fn put_app(&self, app: App) -> bool {
        let mut apps = self.apps.write().unwrap_or_else(|e| e.into_inner());
        match apps
            .iter_mut()
            .find(|a| a.client_id.eq_ignore_ascii_case(&app.client_id))
        {
            Some(existing) => {
                *existing = app;
                false
            }
            None => {
                apps.push(app);
                true
            }
        }
    }

    /// Remove a multi-tenant app and every consent to it, so that registering the same client
    /// id again does not revive old tokens. False when it was not registered.
    pub fn delete_app(&self, client_id: &str) -> bool {
        {
            let mut apps = self.apps.write().unwrap_or_else(|e| e.into_inner());
            let before = apps.len();
            apps.retain(|a| !a.client_id.eq_ignore_ascii_case(client_id));
            if apps.len() == before {
                return false;
            }
        }
        for tenant in self.all_tenants() {
            lock(&tenant).revoke_consent(client_id);
        }
        true
    }

    fn read_apps(&self) -> std::sync::RwLockReadGuard<'_, Vec<App>> {
        self.apps.read().unwrap_or_else(|e| e.into_inner())
    }
}
