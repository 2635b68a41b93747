//! Validated newtypes and rules of the product; no web or database types live here.

mod account;

pub use account::{Email, Password, TenantName};
/// The closed vocabularies (roles, operations, statuses) are shared with the database layer,
/// which stores their snake_case text; their rules live with them in `entity::enums`.
pub use entity::enums::{Role, RunItemStatus, RunOperation as Operation, RunStatus};

/// A value a user typed that the product cannot accept, with a message fit to show them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    pub field: &'static str,
    pub message: String,
}

impl Invalid {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}
