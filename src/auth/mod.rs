//! Credentials: argon2id password hashes, API tokens (random, shown once, stored hashed),
//! browser session ids with their CSRF tokens, and login throttling.

pub mod password;
pub mod session;
pub mod throttle;
pub mod token;
