//! Validated newtypes and rules of the product; no web or database types live here. The
//! closed vocabularies the database stores (roles, operations, statuses) are `entity::enums`.

mod account;
pub mod schedule;

pub use account::{Email, Password, TenantName};

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
