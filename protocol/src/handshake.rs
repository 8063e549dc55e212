//! The Bolt handshake: the client's 20-byte opening, the legacy 4-byte reply, and
//! manifest v1 in both directions.
//!
//! Incremental parsers return `Ok(None)` until enough bytes are there, and report the
//! number of bytes they consumed, because a client may coalesce its manifest choice with
//! its first message.

use crate::error::HandshakeError;
use crate::version::Version;
use bytes::BufMut;

/// The Bolt magic preamble.
pub const MAGIC: [u8; 4] = [0x60, 0x60, 0xB0, 0x17];
/// The proposal slot / server reply that asks for (or selects) manifest v1.
pub const MANIFEST_V1: [u8; 4] = [0x00, 0x00, 0x01, 0xFF];
/// The server reply meaning "no common version".
pub const NO_VERSION: [u8; 4] = [0; 4];
/// Length of the client's opening.
pub const CLIENT_HELLO_LEN: usize = 20;
/// Most version entries accepted from a manifest.
pub const MAX_MANIFEST_VERSIONS: u64 = 64;

/// Versions whose messages this crate decodes, newest first. 5.5 is absent on purpose:
/// no server ever negotiated it and drivers disagree on its shape.
pub const PARSED_VERSIONS: &[Version] = &[
    Version::V6_0,
    Version::V5_8,
    Version::V5_7,
    Version::V5_6,
    Version::V5_4,
    Version::new(5, 3),
    Version::V5_2,
    Version::V5_1,
    Version::V5_0,
    Version::V4_4,
];

/// A contiguous run of versions within one major: `major.minor` down to
/// `major.(minor - range)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct VersionRange {
    /// Major version.
    pub major: u8,
    /// Highest minor version.
    pub minor: u8,
    /// How many further minors below `minor` are included.
    pub range: u8,
}

impl VersionRange {
    /// A range of exactly one version.
    pub fn exact(v: Version) -> Self {
        VersionRange {
            major: v.major,
            minor: v.minor,
            range: 0,
        }
    }

    /// Whether `v` is inside the range.
    pub fn contains(&self, v: Version) -> bool {
        v.major == self.major
            && v.minor <= self.minor
            && v.minor >= self.minor.saturating_sub(self.range)
    }

    /// The highest version in the range.
    pub fn top(&self) -> Version {
        Version::new(self.major, self.minor)
    }

    /// Wire form `[00][range][minor][major]`.
    pub fn to_bytes(self) -> [u8; 4] {
        [0, self.range, self.minor, self.major]
    }

    fn from_bytes(b: [u8; 4]) -> Self {
        VersionRange {
            major: b[3],
            minor: b[2],
            range: b[1],
        }
    }

    /// The versions of `supported` inside this range, as contiguous ranges, newest first.
    pub fn restricted(&self, supported: &[Version]) -> Vec<VersionRange> {
        let mut minors: Vec<u8> = supported
            .iter()
            .filter(|v| self.contains(**v))
            .map(|v| v.minor)
            .collect();
        minors.sort_unstable_by(|a, b| b.cmp(a));
        minors.dedup();
        let mut out = Vec::new();
        let mut i = 0;
        while i < minors.len() {
            let top = minors[i];
            let mut j = i;
            while j + 1 < minors.len() && minors[j + 1] + 1 == minors[j] {
                j += 1;
            }
            out.push(VersionRange {
                major: self.major,
                minor: top,
                range: top - minors[j],
            });
            i = j + 1;
        }
        out
    }

    /// The highest version of `supported` inside this range.
    pub fn best(&self, supported: &[Version]) -> Option<Version> {
        supported
            .iter()
            .copied()
            .filter(|v| self.contains(*v))
            .max()
    }
}

/// One of the four proposal slots of the client's opening.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Proposal {
    /// `00 00 00 00`.
    Empty,
    /// A request for manifest negotiation of the given manifest version.
    Manifest(u8),
    /// A version range (a plain version has range 0).
    Range(VersionRange),
    /// A slot with reserved bits set: kept verbatim, never negotiated.
    Unknown([u8; 4]),
}

impl Proposal {
    /// Parses one slot.
    pub fn from_bytes(b: [u8; 4]) -> Self {
        match b {
            NO_VERSION => Proposal::Empty,
            [0, 0, m, 0xFF] => Proposal::Manifest(m),
            [0, _, _, major] if major != 0xFF => Proposal::Range(VersionRange::from_bytes(b)),
            _ => Proposal::Unknown(b),
        }
    }

    /// Wire form of the slot.
    pub fn to_bytes(self) -> [u8; 4] {
        match self {
            Proposal::Empty => NO_VERSION,
            Proposal::Manifest(m) => [0, 0, m, 0xFF],
            Proposal::Range(r) => r.to_bytes(),
            Proposal::Unknown(b) => b,
        }
    }
}

/// The client's 20-byte opening: magic plus four proposals in preference order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct ClientHello {
    /// Proposals, most preferred first.
    pub proposals: [Proposal; 4],
}

fn looks_like_http(prefix: &[u8]) -> bool {
    const METHODS: [&[u8]; 9] = [
        b"GET ", b"POST", b"PUT ", b"HEAD", b"DELE", b"OPTI", b"PATC", b"CONN", b"TRAC",
    ];
    METHODS
        .iter()
        .any(|m| m.starts_with(prefix) || prefix.starts_with(m))
}

impl ClientHello {
    /// Parses the opening from the front of `buf`. `Ok(None)` until 20 bytes are there,
    /// but a wrong magic is reported as soon as four bytes arrived.
    pub fn parse(buf: &[u8]) -> Result<Option<Self>, HandshakeError> {
        if let Some(m) = buf.get(..4) {
            if m != MAGIC {
                return Err(if looks_like_http(m) {
                    HandshakeError::Http
                } else {
                    HandshakeError::BadMagic([m[0], m[1], m[2], m[3]])
                });
            }
        }
        let Some(b) = buf.get(..CLIENT_HELLO_LEN) else {
            return Ok(None);
        };
        let slot = |i: usize| Proposal::from_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        Ok(Some(ClientHello {
            proposals: [slot(4), slot(8), slot(12), slot(16)],
        }))
    }

    /// Wire form of the opening.
    pub fn to_bytes(&self) -> [u8; CLIENT_HELLO_LEN] {
        let mut out = [0u8; CLIENT_HELLO_LEN];
        out[..4].copy_from_slice(&MAGIC);
        for (i, p) in self.proposals.iter().enumerate() {
            out[4 + 4 * i..8 + 4 * i].copy_from_slice(&p.to_bytes());
        }
        out
    }

    /// Whether the client asked for manifest v1.
    pub fn offers_manifest_v1(&self) -> bool {
        self.proposals.contains(&Proposal::Manifest(1))
    }

    /// The version ranges, in preference order.
    pub fn ranges(&self) -> impl Iterator<Item = VersionRange> + '_ {
        self.proposals.iter().filter_map(|p| match p {
            Proposal::Range(r) => Some(*r),
            _ => None,
        })
    }

    /// What a legacy server supporting `supported` answers: the best version inside the
    /// first proposal (in client order) that contains any.
    pub fn negotiate(&self, supported: &[Version]) -> Option<Version> {
        self.ranges().find_map(|r| r.best(supported))
    }

    /// Every version both the client proposed and `supported` contains, newest first.
    pub fn common_versions(&self, supported: &[Version]) -> Vec<Version> {
        let mut v: Vec<Version> = supported
            .iter()
            .copied()
            .filter(|v| self.ranges().any(|r| r.contains(*v)))
            .collect();
        v.sort_unstable_by(|a, b| b.cmp(a));
        v.dedup();
        v
    }

    /// The same opening narrowed to `supported`: each proposal keeps only supported
    /// versions, split into contiguous ranges that fill free slots in preference order.
    /// The manifest slot is kept if `keep_manifest`. Least preferred ranges are dropped
    /// when four slots are not enough.
    pub fn narrowed(&self, supported: &[Version], keep_manifest: bool) -> ClientHello {
        let mut out = Vec::with_capacity(4);
        for p in self.proposals {
            match p {
                Proposal::Manifest(1) if keep_manifest => out.push(p),
                Proposal::Range(r) => {
                    out.extend(r.restricted(supported).into_iter().map(Proposal::Range))
                }
                _ => {}
            }
        }
        let mut proposals = [Proposal::Empty; 4];
        for (slot, p) in proposals.iter_mut().zip(out) {
            *slot = p;
        }
        ClientHello { proposals }
    }
}

/// The server's first four bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerReply {
    /// Legacy reply: the agreed version.
    Version(Version),
    /// Manifest negotiation follows (manifest version).
    Manifest(u8),
    /// No common version; the server closes.
    NoVersion,
}

impl ServerReply {
    /// Parses the reply from the front of `buf`.
    pub fn parse(buf: &[u8]) -> Result<Option<Self>, HandshakeError> {
        let Some(b) = buf.get(..4) else {
            return Ok(None);
        };
        let b = [b[0], b[1], b[2], b[3]];
        Ok(Some(match b {
            NO_VERSION => ServerReply::NoVersion,
            [0, 0, m, 0xFF] => ServerReply::Manifest(m),
            [0, 0, minor, major] if major != 0 => ServerReply::Version(Version::new(major, minor)),
            [b'H', b'T', b'T', b'P'] => return Err(HandshakeError::HttpReply),
            _ => return Err(HandshakeError::BadReply(b)),
        }))
    }

    /// Wire form.
    pub fn to_bytes(self) -> [u8; 4] {
        match self {
            ServerReply::Version(v) => [0, 0, v.minor, v.major],
            ServerReply::Manifest(m) => [0, 0, m, 0xFF],
            ServerReply::NoVersion => NO_VERSION,
        }
    }
}

/// Reads an unsigned LEB128 varint: `Ok(None)` if incomplete, else `(value, bytes used)`.
pub fn read_varint(buf: &[u8]) -> Result<Option<(u64, usize)>, HandshakeError> {
    let mut value: u64 = 0;
    for (i, b) in buf.iter().enumerate() {
        let shift = 7 * i as u32;
        let part = (b & 0x7F) as u64;
        if shift >= 64 || (shift == 63 && part > 1) {
            return Err(HandshakeError::VarintOverflow);
        }
        value |= part << shift;
        if b & 0x80 == 0 {
            return Ok(Some((value, i + 1)));
        }
    }
    Ok(None)
}

/// Writes an unsigned LEB128 varint.
pub fn write_varint(mut v: u64, out: &mut impl BufMut) {
    loop {
        let b = (v & 0x7F) as u8;
        v >>= 7;
        if v == 0 {
            out.put_u8(b);
            return;
        }
        out.put_u8(b | 0x80);
    }
}

/// What a manifest-v1 server offers after its `00 00 01 FF` reply.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct ManifestOffer {
    /// Offered version ranges.
    pub versions: Vec<VersionRange>,
    /// Capability bitmask (0 today).
    pub capabilities: u64,
}

impl ManifestOffer {
    /// Parses the offer (the bytes after the 4-byte reply): `(offer, bytes used)`.
    pub fn parse(buf: &[u8]) -> Result<Option<(Self, usize)>, HandshakeError> {
        let Some((count, mut at)) = read_varint(buf)? else {
            return Ok(None);
        };
        if count > MAX_MANIFEST_VERSIONS {
            return Err(HandshakeError::TooManyVersions {
                count,
                limit: MAX_MANIFEST_VERSIONS,
            });
        }
        let mut versions = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let Some(b) = buf.get(at..at + 4) else {
                return Ok(None);
            };
            versions.push(VersionRange::from_bytes([b[0], b[1], b[2], b[3]]));
            at += 4;
        }
        let Some((capabilities, n)) = read_varint(&buf[at..])? else {
            return Ok(None);
        };
        Ok(Some((
            ManifestOffer {
                versions,
                capabilities,
            },
            at + n,
        )))
    }

    /// Wire form (without the 4-byte reply in front).
    pub fn encode(&self, out: &mut impl BufMut) {
        write_varint(self.versions.len() as u64, out);
        for r in &self.versions {
            out.put_slice(&r.to_bytes());
        }
        write_varint(self.capabilities, out);
    }

    /// The same offer restricted to `supported` (ranges split where needed).
    pub fn restricted(&self, supported: &[Version]) -> ManifestOffer {
        ManifestOffer {
            versions: self
                .versions
                .iter()
                .flat_map(|r| r.restricted(supported))
                .collect(),
            capabilities: self.capabilities,
        }
    }

    /// Whether `v` is inside one of the offered ranges.
    pub fn offers(&self, v: Version) -> bool {
        self.versions.iter().any(|r| r.contains(v))
    }

    /// The highest offered version that is also in `supported`, as a client would pick.
    pub fn choose(&self, supported: &[Version]) -> Option<Version> {
        self.versions.iter().filter_map(|r| r.best(supported)).max()
    }
}

/// The client's answer to a manifest offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct ManifestChoice {
    /// The chosen version.
    pub version: Version,
    /// Capabilities the client accepts.
    pub capabilities: u64,
}

impl ManifestChoice {
    /// Parses the choice: `(choice, bytes used)`. A zero version means the client found
    /// nothing acceptable.
    pub fn parse(buf: &[u8]) -> Result<Option<(Self, usize)>, HandshakeError> {
        let Some(b) = buf.get(..4) else {
            return Ok(None);
        };
        let version = Version::new(b[3], b[2]);
        let Some((capabilities, n)) = read_varint(&buf[4..])? else {
            return Ok(None);
        };
        Ok(Some((
            ManifestChoice {
                version,
                capabilities,
            },
            4 + n,
        )))
    }

    /// Wire form.
    pub fn encode(&self, out: &mut impl BufMut) {
        out.put_slice(&[0, 0, self.version.minor, self.version.major]);
        write_varint(self.capabilities, out);
    }
}
