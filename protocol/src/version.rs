//! Bolt protocol versions and the feature switches that depend on them.

use std::fmt;

/// A negotiated Bolt protocol version (`major.minor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Version {
    /// Major version (4, 5, 6).
    pub major: u8,
    /// Minor version.
    pub minor: u8,
}

impl Version {
    /// Bolt 4.3: ROUTE with a `db` field, NOOP in any state.
    pub const V4_3: Version = Version::new(4, 3);
    /// Bolt 4.4: the oldest version boltward proxies.
    pub const V4_4: Version = Version::new(4, 4);
    /// Bolt 5.0: element ids, UTC DateTime.
    pub const V5_0: Version = Version::new(5, 0);
    /// Bolt 5.1: LOGON / LOGOFF.
    pub const V5_1: Version = Version::new(5, 1);
    /// Bolt 5.2: notification filters.
    pub const V5_2: Version = Version::new(5, 2);
    /// Bolt 5.4: TELEMETRY.
    pub const V5_4: Version = Version::new(5, 4);
    /// Bolt 5.6: `notifications_disabled_classifications`, GQL statuses.
    pub const V5_6: Version = Version::new(5, 6);
    /// Bolt 5.7: manifest handshake, GQL FAILURE fields.
    pub const V5_7: Version = Version::new(5, 7);
    /// Bolt 5.8: resolved home database in BEGIN/RUN SUCCESS.
    pub const V5_8: Version = Version::new(5, 8);
    /// Bolt 6.0: Vector and UnsupportedType values.
    pub const V6_0: Version = Version::new(6, 0);
    /// Bolt 6.1: PackStream UUID marker `E0`.
    pub const V6_1: Version = Version::new(6, 1);

    /// Builds a version.
    pub const fn new(major: u8, minor: u8) -> Self {
        Version { major, minor }
    }

    /// Node / Relationship / UnboundRelationship carry element ids.
    pub fn has_element_ids(self) -> bool {
        self >= Self::V5_0
    }

    /// Authentication moved from HELLO to LOGON.
    pub fn has_logon(self) -> bool {
        self >= Self::V5_1
    }

    /// TELEMETRY exists.
    pub fn has_telemetry(self) -> bool {
        self >= Self::V5_4
    }

    /// FAILURE uses `neo4j_code`, `gql_status`, `description`.
    pub fn has_gql_errors(self) -> bool {
        self >= Self::V5_7
    }

    /// NOOP chunks may appear between messages.
    pub fn allows_noop(self) -> bool {
        self >= Version::new(4, 1)
    }

    /// Vector and UnsupportedType value structures exist.
    pub fn has_vectors(self) -> bool {
        self >= Self::V6_0
    }

    /// The UUID marker `E0` exists (PackStream revision 2).
    pub fn has_uuid(self) -> bool {
        self >= Self::V6_1
    }

    /// ROUTE carries an `extra` dictionary (4.4+) instead of a bare `db` (4.3).
    pub fn route_has_extra(self) -> bool {
        self >= Self::V4_4
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// How values are shaped on one connection: the version plus the 4.x `utc` patch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Dialect {
    /// Negotiated version.
    pub version: Version,
    /// Whether the server accepted `patch_bolt: ["utc"]` (4.3 / 4.4 only).
    pub utc_patch: bool,
}

impl Dialect {
    /// The dialect of a connection that negotiated `version` without patches.
    pub const fn new(version: Version) -> Self {
        Dialect {
            version,
            utc_patch: false,
        }
    }

    /// The same dialect with the `utc` patch switched on or off.
    pub const fn with_utc_patch(mut self, on: bool) -> Self {
        self.utc_patch = on;
        self
    }

    /// DateTime values use the UTC-based tags `I` / `i` (else legacy `F` / `f`).
    pub fn utc_datetime(self) -> bool {
        self.version >= Version::V5_0 || (self.utc_patch && self.version >= Version::V4_3)
    }
}

impl From<Version> for Dialect {
    fn from(v: Version) -> Self {
        Dialect::new(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordering_and_switches() {
        assert!(Version::V4_4 < Version::V5_0);
        assert!(Version::new(5, 10) > Version::V5_8);
        assert!(!Version::V4_4.has_element_ids());
        assert!(Version::V5_0.has_element_ids());
        assert!(!Version::V5_0.has_logon());
        assert!(Version::V5_1.has_logon());
        assert!(Version::V6_0.has_vectors() && !Version::V6_0.has_uuid());
        assert_eq!(Version::V5_8.to_string(), "5.8");
    }

    #[test]
    fn utc_patch_applies_only_to_4_3_and_4_4() {
        assert!(!Dialect::new(Version::V4_4).utc_datetime());
        assert!(Dialect::new(Version::V4_4)
            .with_utc_patch(true)
            .utc_datetime());
        assert!(!Dialect::new(Version::new(4, 2))
            .with_utc_patch(true)
            .utc_datetime());
        assert!(Dialect::new(Version::V5_0).utc_datetime());
    }
}
