//! Accounts: e-mail addresses, passwords and tenant names.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use super::Invalid;

/// A lower-cased, plausibly-shaped e-mail address (the login name).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let value = raw.trim().to_lowercase();
        let valid = value.len() <= 254
            && value.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            })
            && !value.chars().any(|c| c.is_whitespace() || c.is_control());
        if valid {
            Ok(Self(value))
        } else {
            Err(Invalid::new(
                "email",
                format!("{raw:?} is not an e-mail address"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password that meets the minimum length; never printed.
pub struct Password(SecretString);

impl Password {
    pub const MIN_LEN: usize = 12;

    pub fn parse(raw: SecretString) -> Result<Self, Invalid> {
        let len = raw.expose_secret().chars().count();
        if len < Self::MIN_LEN {
            return Err(Invalid::new(
                "password",
                format!("must be at least {} characters", Self::MIN_LEN),
            ));
        }
        if len > 1024 {
            return Err(Invalid::new("password", "must be at most 1024 characters"));
        }
        Ok(Self(raw))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([REDACTED])")
    }
}

/// A tenant's display name: what a live restore's confirmation must repeat exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantName(String);

impl TenantName {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let value = raw.trim();
        if value.is_empty() || value.chars().count() > 100 {
            return Err(Invalid::new("name", "must be 1 to 100 characters"));
        }
        if value.chars().any(char::is_control) {
            return Err(Invalid::new("name", "must not contain control characters"));
        }
        Ok(Self(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse(" Admin@Demo.Local ").unwrap().as_str(),
            "admin@demo.local"
        );
        for bad in ["", "nope", "a@b", "@x.com", "a b@x.com", "a@.com"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords() {
        assert!(Password::parse(SecretString::from("short".to_string())).is_err());
        let p = Password::parse(SecretString::from("long-enough-pass".to_string())).unwrap();
        assert!(!format!("{p:?}").contains("long"));
    }
}
