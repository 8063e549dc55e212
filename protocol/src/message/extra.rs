//! Typed access to the `extra` dictionaries of requests.
//!
//! Requests keep their `extra` map exactly as it came (unknown keys included, order
//! preserved); these accessors read the keys the Bolt docs define. Types are checked once
//! at decode time by [`check_tx_extra`], so the accessors never see a wrong type from a
//! decoded message.

use crate::error::MessageError;
use crate::packstream::{Map, Value};
use std::fmt;

/// Access mode of a transaction or auto-commit query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccessMode {
    /// `"r"`.
    Read,
    /// `"w"` or absent.
    Write,
}

/// The notification filter keys (5.2+).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotificationFilter<'a> {
    /// `notifications_minimum_severity`.
    pub minimum_severity: Option<&'a str>,
    /// `notifications_disabled_categories` (5.2-5.5) or `..._classifications` (5.6+).
    pub disabled: Option<Vec<&'a str>>,
}

/// Accessors shared by every request that has an `extra`-style dictionary.
pub trait Extra {
    /// The dictionary.
    fn extra(&self) -> &Map;

    /// `db`: the target database (`None` for absent, null or empty = home database).
    fn db(&self) -> Option<&str> {
        self.extra()
            .get("db")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    /// `imp_user`: the impersonated user.
    fn imp_user(&self) -> Option<&str> {
        self.extra().get("imp_user").and_then(Value::as_str)
    }

    /// `mode`: read or write (write when absent).
    fn mode(&self) -> AccessMode {
        match self.extra().get("mode").and_then(Value::as_str) {
            Some("r") => AccessMode::Read,
            _ => AccessMode::Write,
        }
    }

    /// `bookmarks`.
    fn bookmarks(&self) -> Vec<&str> {
        strings(self.extra().get("bookmarks"))
    }

    /// `tx_metadata`.
    fn tx_metadata(&self) -> Option<&Map> {
        self.extra().get("tx_metadata").and_then(Value::as_map)
    }

    /// `tx_timeout` in milliseconds.
    fn tx_timeout(&self) -> Option<i64> {
        self.extra().get("tx_timeout").and_then(Value::as_int)
    }

    /// The notification filter keys.
    fn notification_filter(&self) -> NotificationFilter<'_> {
        let e = self.extra();
        let disabled = e
            .get("notifications_disabled_classifications")
            .or_else(|| e.get("notifications_disabled_categories"))
            .filter(|v| !v.is_null())
            .map(|v| strings(Some(v)));
        NotificationFilter {
            minimum_severity: e
                .get("notifications_minimum_severity")
                .and_then(Value::as_str),
            disabled,
        }
    }
}

fn strings(v: Option<&Value>) -> Vec<&str> {
    v.and_then(Value::as_list)
        .map(|l| l.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn is_string_list(v: &Value) -> bool {
    v.as_list()
        .is_some_and(|l| l.iter().all(|i| matches!(i, Value::String(_))))
}

/// Checks the types of the transaction keys of RUN / BEGIN / ROUTE extras.
pub(crate) fn check_tx_extra(name: &'static str, extra: &Map) -> Result<(), MessageError> {
    let bad = |field, expected| MessageError::Field {
        name,
        field,
        expected,
    };
    for (k, v) in extra.iter() {
        let ok = match k {
            "db" | "imp_user" | "notifications_minimum_severity" => {
                matches!(v, Value::String(_) | Value::Null)
            }
            "mode" => matches!(v, Value::String(_)),
            "bookmarks" => is_string_list(v) || v.is_null(),
            "tx_timeout" => matches!(v, Value::Integer(_) | Value::Null),
            "tx_metadata" => matches!(v, Value::Map(_) | Value::Null),
            "notifications_disabled_categories" | "notifications_disabled_classifications" => {
                is_string_list(v) || v.is_null()
            }
            _ => true,
        };
        if !ok {
            let (field, expected) = match k {
                "db" => ("extra.db", "a string or null"),
                "imp_user" => ("extra.imp_user", "a string or null"),
                "mode" => ("extra.mode", "a string"),
                "bookmarks" => ("extra.bookmarks", "a list of strings"),
                "tx_timeout" => ("extra.tx_timeout", "an integer"),
                "tx_metadata" => ("extra.tx_metadata", "a map"),
                _ => ("extra.notifications_*", "a string or list of strings"),
            };
            return Err(bad(field, expected));
        }
    }
    Ok(())
}

/// Debug view of a map with credentials hidden: `credentials` (and any key containing
/// "password", "secret" or "token") is shown as `<redacted>`.
pub struct Redacted<'a>(pub &'a Map);

/// Whether a key of an auth or HELLO map holds a secret.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k == "credentials" || k.contains("password") || k.contains("secret") || k.contains("token")
}

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (k, v) in self.0.iter() {
            if is_secret_key(k) {
                m.entry(&k, &"<redacted>");
            } else if let Value::Map(inner) = v {
                m.entry(&k, &Redacted(inner));
            } else {
                m.entry(&k, v);
            }
        }
        m.finish()
    }
}
