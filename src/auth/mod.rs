//! Credentials: argon2id password hashes and API tokens (random, shown once, stored hashed).

pub mod password;
pub mod token;
