//! Graph resource semantics for one (already authenticated and admitted) request against one
//! tenant. Pure over the tenant state; no I/O.
//!
//! [`dispatch`] routes the path; a collection answers through `Resource`, whose methods live
//! with their concern: CRUD, listing, sub-resources and the per-family actions. The
//! Microsoft-owned catalogues (templates, ADMX definitions) have their own file.

mod actions;
mod catalogues;
mod crud;
mod dispatch;
mod listing;
mod reply;
mod sub_resources;

use crate::collections::CollectionSpec;
use crate::odata::Query;
use crate::store::Sim;

pub use dispatch::{dispatch, segments};
pub use reply::{Ctx, Reply, error};

/// One collection's view of a request; each concern adds its methods in its own file.
struct Resource<'a> {
    sim: &'a Sim,
    ctx: &'a Ctx,
    spec: &'static CollectionSpec,
    q: &'a Query,
    path: &'a str,
    method: &'a str,
}
