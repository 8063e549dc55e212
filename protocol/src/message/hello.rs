//! HELLO and LOGON: connection set-up and authentication.

use super::extra::{Extra, Redacted};
use crate::packstream::{Map, Value};
use std::fmt;

/// The authentication keys of HELLO (≤ 5.0) or LOGON (5.1+).
#[derive(Clone, PartialEq)]
pub struct Auth<'a>(&'a Map);

impl<'a> Auth<'a> {
    /// `scheme`: none, basic, bearer, kerberos or custom.
    pub fn scheme(&self) -> Option<&'a str> {
        self.0.get("scheme").and_then(Value::as_str)
    }

    /// `principal`: the user name (never a secret).
    pub fn principal(&self) -> Option<&'a str> {
        self.0.get("principal").and_then(Value::as_str)
    }

    /// `realm`.
    pub fn realm(&self) -> Option<&'a str> {
        self.0.get("realm").and_then(Value::as_str)
    }

    /// Whether credentials are present (their value is deliberately not exposed here).
    pub fn has_credentials(&self) -> bool {
        self.0.contains_key("credentials")
    }
}

impl fmt::Debug for Auth<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Redacted(self.0).fmt(f)
    }
}

/// HELLO `{extra}`.
#[derive(Clone, PartialEq)]
pub struct Hello {
    /// The whole dictionary (auth keys included before 5.1).
    pub extra: Map,
}

impl Hello {
    /// `user_agent`.
    pub fn user_agent(&self) -> Option<&str> {
        self.extra.get("user_agent").and_then(Value::as_str)
    }

    /// `routing`: present only for `neo4j://` clients.
    pub fn routing(&self) -> Option<&Map> {
        self.extra.get("routing").and_then(Value::as_map)
    }

    /// `bolt_agent` (5.3+).
    pub fn bolt_agent(&self) -> Option<&Map> {
        self.extra.get("bolt_agent").and_then(Value::as_map)
    }

    /// `patch_bolt` (4.3/4.4), e.g. `["utc"]`.
    pub fn patch_bolt(&self) -> Vec<&str> {
        self.extra
            .get("patch_bolt")
            .and_then(Value::as_list)
            .map(|l| l.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    /// The auth keys carried in HELLO (Bolt ≤ 5.0).
    pub fn auth(&self) -> Option<Auth<'_>> {
        self.extra
            .contains_key("scheme")
            .then_some(Auth(&self.extra))
    }
}

impl Extra for Hello {
    fn extra(&self) -> &Map {
        &self.extra
    }
}

impl fmt::Debug for Hello {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hello")
            .field("extra", &Redacted(&self.extra))
            .finish()
    }
}

/// LOGON `{auth}` (5.1+).
#[derive(Clone, PartialEq)]
pub struct Logon {
    /// The auth dictionary: scheme, principal, credentials, …
    pub auth: Map,
}

impl Logon {
    /// Typed view of the auth keys.
    pub fn auth(&self) -> Auth<'_> {
        Auth(&self.auth)
    }
}

impl fmt::Debug for Logon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Logon")
            .field("auth", &Redacted(&self.auth))
            .finish()
    }
}
