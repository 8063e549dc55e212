//! Snapshot files in the snapshot directory.
//!
//! A snapshot is two files: `<id>.bwsnap.gz` (gzip of the [`format`](super::format)
//! records) and `<id>.manifest.json`. Both are written under a `.tmp` name, fsynced and
//! renamed, data first and manifest last, then the directory is fsynced: a snapshot exists
//! once its manifest does, so a crash at any point leaves either nothing or leftovers that
//! carry no manifest (listed as incomplete, removed at the next start).

use super::fingerprint::{DigestError, GraphDigest};
use super::format::{self, Counts, FormatError, Header, Reader, Record};
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use thiserror::Error;

/// Data file suffix.
pub const DATA_SUFFIX: &str = ".bwsnap.gz";
/// Manifest file suffix.
pub const MANIFEST_SUFFIX: &str = ".manifest.json";
const TMP: &str = ".tmp";

/// A snapshot's manifest (`<id>.manifest.json`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    /// Data format version.
    pub format: u16,
    /// Snapshot id.
    pub id: String,
    /// `manual`, `scheduled` or `safety` (taken before a forced restore).
    pub kind: String,
    /// The boltward that wrote it.
    pub tool: String,
    /// Creation time, RFC 3339 UTC.
    pub created: String,
    /// Creation time, seconds since the epoch.
    pub created_unix: i64,
    /// Where the data came from.
    pub source: Source,
    /// The journal's last LSN while writes were held (`null` without a journal).
    pub journal_lsn: Option<u64>,
    /// What it contains.
    pub counts: ManifestCounts,
    /// Index and constraint statements, in the order a restore runs them.
    pub schema: Vec<String>,
    /// Indexes or constraints that could not be expressed as a statement.
    #[serde(default)]
    pub schema_skipped: Vec<String>,
    /// The data file.
    pub data: DataFile,
    /// The graph fingerprint (docs/snapshot-format.md).
    pub fingerprint: String,
    /// How long writes were held and the whole snapshot took.
    pub timings: Timings,
}

/// The source server.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Source {
    /// `host:port`.
    pub server: String,
    /// The server's agent string.
    pub agent: String,
    /// Database (null: the server's default).
    pub database: Option<String>,
    /// Bolt version the values were read with.
    pub bolt: String,
    /// The mirror it was read from (`snapshot.source = "remote:NAME"`, bootstraps); its
    /// journal LSN is the mirror's marker. Absent: read from the primary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<String>,
}

/// Counts per kind, label and type.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ManifestCounts {
    /// Nodes.
    pub nodes: u64,
    /// Relationships.
    pub relationships: u64,
    /// Schema statements.
    pub schema: u64,
    /// Nodes per label.
    pub labels: BTreeMap<String, u64>,
    /// Relationships per type.
    pub types: BTreeMap<String, u64>,
}

impl ManifestCounts {
    /// The counts a digest saw.
    pub fn of(d: &GraphDigest) -> Self {
        ManifestCounts {
            nodes: d.fingerprint.nodes(),
            relationships: d.fingerprint.relationships(),
            schema: d.schema,
            labels: d.labels.clone(),
            types: d.types.clone(),
        }
    }
}

/// The data file's name, size and checksum.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct DataFile {
    /// File name (in the same directory).
    pub file: String,
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256 of the file, hex.
    pub sha256: String,
}

/// Durations of a snapshot.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Timings {
    /// Writes held, milliseconds.
    pub write_pause_ms: f64,
    /// The whole snapshot, milliseconds.
    pub duration_ms: f64,
}

/// A snapshot file operation failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// File I/O failed.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: io::Error,
    },
    /// No such snapshot.
    #[error("no snapshot {0:?} (looked for its manifest in {1})")]
    NotFound(String, PathBuf),
    /// The manifest does not parse.
    #[error("manifest {path}: {problem}")]
    Manifest {
        /// File.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// An id with path separators or other surprises.
    #[error("{0:?} is not a snapshot id")]
    BadId(String),
    /// The data file does not start as a snapshot.
    #[error("{path}: {source}")]
    Data {
        /// The data file.
        path: PathBuf,
        /// What is wrong.
        source: FormatError,
    },
    /// A record of the data file does not decode.
    #[error(transparent)]
    Record(#[from] FormatError),
    /// The records do not form a graph.
    #[error(transparent)]
    Digest(#[from] DigestError),
    /// The data file is not the one the manifest describes.
    #[error("{} does not match its manifest (size {bytes} vs {expected_bytes}, SHA-256 {sha256} vs {expected_sha256}): run snapshot verify", path.display())]
    Mismatch {
        /// The data file.
        path: PathBuf,
        /// Its size.
        bytes: u64,
        /// The size in the manifest.
        expected_bytes: u64,
        /// Its SHA-256.
        sha256: String,
        /// The SHA-256 in the manifest.
        expected_sha256: String,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes that also hash what they write.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Fsyncs a directory so renames in it are durable.
fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

/// A data file being written: records are encoded by the caller and compressed, hashed and
/// written on a dedicated thread, so reading the graph and compressing it overlap.
pub struct DataWriter {
    dir: PathBuf,
    id: String,
    tmp: PathBuf,
    buf: Vec<u8>,
    digest: GraphDigest,
    tx: Option<mpsc::SyncSender<Vec<u8>>>,
    thread: Option<JoinHandle<io::Result<(u64, String)>>>,
}

/// Encoded bytes handed to the compression thread at a time.
const CHUNK: usize = 256 * 1024;

impl DataWriter {
    /// Starts `<dir>/<id>.bwsnap.gz.tmp` with the header for `header`.
    pub fn create(dir: &Path, id: &str, header: Header) -> Result<Self, StoreError> {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let tmp = dir.join(format!("{id}{DATA_SUFFIX}{TMP}"));
        let file = File::create(&tmp).map_err(io_err(&tmp))?;
        let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(8);
        let thread = std::thread::Builder::new()
            .name("boltward-snapshot-writer".into())
            .spawn(move || {
                let hashing = Hashing {
                    inner: BufWriter::with_capacity(1 << 20, file),
                    hash: Sha256::new(),
                    bytes: 0,
                };
                let mut gz = GzEncoder::new(hashing, Compression::fast());
                for chunk in rx {
                    gz.write_all(&chunk)?;
                }
                let mut hashing = gz.finish()?;
                hashing.flush()?;
                let file = hashing.inner.into_inner().map_err(|e| e.into_error())?;
                file.sync_all()?;
                Ok((hashing.bytes, hex(&hashing.hash.finalize())))
            })
            .map_err(io_err(&tmp))?;
        let mut w = DataWriter {
            dir: dir.to_owned(),
            id: id.to_owned(),
            tmp,
            buf: Vec::with_capacity(CHUNK + 4096),
            digest: GraphDigest::default(),
            tx: Some(tx),
            thread: Some(thread),
        };
        header.write(&mut w.buf).map_err(|e| StoreError::Io {
            path: w.tmp.clone(),
            source: e,
        })?;
        Ok(w)
    }

    /// Adds a record (schema, node or relationship).
    pub fn add(&mut self, record: &Record) -> io::Result<()> {
        self.digest
            .add(record)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        record
            .encode(&mut self.buf)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(())
    }

    fn send(&mut self) -> io::Result<()> {
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK + 4096));
        let closed = || io::Error::new(io::ErrorKind::BrokenPipe, "snapshot writer stopped");
        let tx = self.tx.as_ref().ok_or_else(closed)?;
        match tx.try_send(chunk) {
            Ok(()) => Ok(()),
            Err(mpsc::TrySendError::Full(chunk)) => {
                // The compressor is behind: wait for it without stalling other tasks.
                let send = || tx.send(chunk).map_err(|_| closed());
                match tokio::runtime::Handle::try_current() {
                    Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                        tokio::task::block_in_place(send)
                    }
                    _ => send(),
                }
            }
            Err(mpsc::TrySendError::Disconnected(_)) => Err(closed()),
        }
    }

    /// Writes the end record, finishes the data file and renames it into place; returns
    /// what the manifest needs. The manifest itself is written by [`write_manifest`].
    pub fn finish(mut self) -> Result<(DataFile, GraphDigest), StoreError> {
        let end = Record::End(Counts {
            schema: self.digest.schema,
            nodes: self.digest.fingerprint.nodes(),
            relationships: self.digest.fingerprint.relationships(),
        });
        let tmp = self.tmp.clone();
        let result = (|| {
            end.encode(&mut self.buf)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
            self.send()?;
            drop(self.tx.take());
            self.thread
                .take()
                .expect("thread present until finish")
                .join()
                .map_err(|_| io::Error::other("snapshot writer thread panicked"))?
        })();
        let (bytes, sha256) = result.map_err(io_err(&tmp))?;
        let file = format!("{}{DATA_SUFFIX}", self.id);
        let path = self.dir.join(&file);
        fs::rename(&tmp, &path).map_err(io_err(&path))?;
        sync_dir(&self.dir)?;
        let digest = std::mem::take(&mut self.digest);
        Ok((
            DataFile {
                file,
                bytes,
                sha256,
            },
            digest,
        ))
    }
}

impl Drop for DataWriter {
    fn drop(&mut self) {
        // Abandoned (error or cancel): stop the thread and remove the partial file.
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Writes `<id>.manifest.json` atomically: the snapshot is complete from here on.
pub fn write_manifest(dir: &Path, m: &Manifest) -> Result<PathBuf, StoreError> {
    let path = dir.join(format!("{}{MANIFEST_SUFFIX}", m.id));
    let tmp = dir.join(format!("{}{MANIFEST_SUFFIX}{TMP}", m.id));
    let text = serde_json::to_vec_pretty(m).expect("manifest serializes");
    (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(&text)?;
        f.write_all(b"\n")?;
        f.sync_all()
    })()
    .map_err(io_err(&tmp))?;
    fs::rename(&tmp, &path).map_err(io_err(&path))?;
    sync_dir(dir)?;
    Ok(path)
}

fn check_id(id: &str) -> Result<(), StoreError> {
    if id.is_empty()
        || id.starts_with('.')
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(StoreError::BadId(id.to_owned()));
    }
    Ok(())
}

/// Reads the manifest of snapshot `id`.
pub fn manifest(dir: &Path, id: &str) -> Result<Manifest, StoreError> {
    check_id(id)?;
    let path = dir.join(format!("{id}{MANIFEST_SUFFIX}"));
    read_manifest(&path).map_err(|e| match e {
        StoreError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound => {
            StoreError::NotFound(id.to_owned(), dir.to_owned())
        }
        other => other,
    })
}

/// Reads a manifest file.
pub fn read_manifest(path: &Path) -> Result<Manifest, StoreError> {
    let text = fs::read(path).map_err(io_err(path))?;
    serde_json::from_slice(&text).map_err(|e| StoreError::Manifest {
        path: path.to_owned(),
        problem: e.to_string(),
    })
}

/// Resolves `ID|FILE` to a manifest path: an existing `.bwsnap.gz` or `.manifest.json`
/// path, else an id in `dir`.
pub fn locate(dir: &Path, what: &str) -> Result<PathBuf, StoreError> {
    let p = Path::new(what);
    if p.is_file() {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if let Some(id) = name.strip_suffix(DATA_SUFFIX) {
            return Ok(p.with_file_name(format!("{id}{MANIFEST_SUFFIX}")));
        }
        return Ok(p.to_owned());
    }
    check_id(what)?;
    let path = dir.join(format!("{what}{MANIFEST_SUFFIX}"));
    if !path.exists() {
        return Err(StoreError::NotFound(what.to_owned(), dir.to_owned()));
    }
    Ok(path)
}

/// A snapshot in the directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listed {
    /// The manifest.
    #[serde(flatten)]
    pub manifest: Manifest,
    /// Whether the data file is present with the manifest's size (full check: verify).
    pub complete: bool,
}

/// Every snapshot (newest first) and the names of incomplete leftovers.
pub fn list(dir: &Path) -> Result<(Vec<Listed>, Vec<String>), StoreError> {
    let mut out = Vec::new();
    let mut leftovers = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((out, leftovers)),
        Err(e) => return Err(io_err(dir)(e)),
    };
    let mut data = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_err(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(MANIFEST_SUFFIX) {
            let manifest = read_manifest(&entry.path())?;
            let complete = fs::metadata(dir.join(&manifest.data.file))
                .is_ok_and(|m| m.len() == manifest.data.bytes);
            out.push(Listed { manifest, complete });
        } else if name.ends_with(TMP) {
            leftovers.push(name);
        } else if let Some(id) = name.strip_suffix(DATA_SUFFIX) {
            data.push((id.to_owned(), name));
        }
    }
    for (id, name) in data {
        if !out.iter().any(|l| l.manifest.id == id) {
            leftovers.push(name);
        }
    }
    out.sort_by(|a, b| {
        b.manifest
            .created_unix
            .cmp(&a.manifest.created_unix)
            .then_with(|| b.manifest.id.cmp(&a.manifest.id))
    });
    leftovers.sort();
    Ok((out, leftovers))
}

/// Removes leftovers of interrupted snapshots (files without a manifest).
pub fn clean_leftovers(dir: &Path) -> Result<Vec<String>, StoreError> {
    let (_, leftovers) = list(dir)?;
    for name in &leftovers {
        let p = dir.join(name);
        fs::remove_file(&p).map_err(io_err(&p))?;
    }
    Ok(leftovers)
}

/// Deletes snapshot `id`: the manifest first, so a crash half-way leaves a leftover, never
/// a manifest without data.
pub fn delete(dir: &Path, id: &str) -> Result<(), StoreError> {
    let m = manifest(dir, id)?;
    let path = dir.join(format!("{id}{MANIFEST_SUFFIX}"));
    fs::remove_file(&path).map_err(io_err(&path))?;
    let data = dir.join(&m.data.file);
    match fs::remove_file(&data) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(io_err(&data)(e)),
        _ => {}
    }
    sync_dir(dir)
}

/// A fresh id for a snapshot taken at `unix` seconds: `YYYYMMDDTHHMMSSZ`, suffixed `-N`
/// if taken already.
pub fn new_id(dir: &Path, unix: i64) -> String {
    let t =
        time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let base = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let taken = |id: &str| {
        dir.join(format!("{id}{MANIFEST_SUFFIX}")).exists()
            || dir.join(format!("{id}{DATA_SUFFIX}")).exists()
            || dir.join(format!("{id}{DATA_SUFFIX}{TMP}")).exists()
    };
    if !taken(&base) {
        return base;
    }
    (2..)
        .map(|n| format!("{base}-{n}"))
        .find(|id| !taken(id))
        .expect("some suffix is free")
}

/// The result of verifying a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verified {
    /// Snapshot id.
    pub id: String,
    /// Whether every check passed.
    pub ok: bool,
    /// What failed (empty when ok).
    pub problems: Vec<String>,
    /// Records decoded.
    pub nodes: u64,
    /// Relationships decoded.
    pub relationships: u64,
}

/// Opens the data file of `m` (in `dir`) as a record reader.
pub fn open_data(dir: &Path, m: &Manifest) -> Result<Reader<impl Read>, StoreError> {
    let path = dir.join(&m.data.file);
    let file = File::open(&path).map_err(io_err(&path))?;
    Reader::new(GzDecoder::new(BufReader::with_capacity(1 << 20, file)))
        .map_err(|source| StoreError::Data { path, source })
}

/// Verifies a snapshot offline: the checksum and size of the data file, the decoding of
/// every record, the end record, and counts, schema and fingerprint against the manifest.
/// `Err` only when the manifest itself cannot be read.
pub fn verify(manifest_path: &Path) -> Result<Verified, StoreError> {
    let m = read_manifest(manifest_path)?;
    let dir = manifest_path.parent().unwrap_or(Path::new("."));
    let mut problems = Vec::new();
    let data = dir.join(&m.data.file);
    let mut nodes = 0;
    let mut relationships = 0;
    match checksum(&data) {
        Err(e) => problems.push(format!("{}: {e}", data.display())),
        Ok((bytes, sha)) => {
            if bytes != m.data.bytes {
                problems.push(format!(
                    "data file is {bytes} bytes, the manifest says {}",
                    m.data.bytes
                ));
            }
            if sha != m.data.sha256 {
                problems.push(format!(
                    "data file SHA-256 is {sha}, the manifest says {}",
                    m.data.sha256
                ));
            }
            match decode(dir, &m) {
                Err(e) => problems.push(e.to_string()),
                Ok((digest, schema)) => {
                    let counts = ManifestCounts::of(&digest);
                    nodes = counts.nodes;
                    relationships = counts.relationships;
                    if counts != m.counts {
                        problems.push(format!(
                            "contents ({} nodes, {} relationships, labels {:?}, types {:?}) differ from the manifest ({} nodes, {} relationships, labels {:?}, types {:?})",
                            counts.nodes, counts.relationships, counts.labels, counts.types,
                            m.counts.nodes, m.counts.relationships, m.counts.labels, m.counts.types
                        ));
                    }
                    if schema != m.schema {
                        problems.push("schema statements differ from the manifest".into());
                    }
                    let fp = digest.fingerprint.hex();
                    if fp != m.fingerprint {
                        problems.push(format!(
                            "fingerprint of the contents is {fp}, the manifest says {}",
                            m.fingerprint
                        ));
                    }
                }
            }
        }
    }
    if m.format != format::FORMAT_VERSION {
        problems.push(format!("manifest format {} is not supported", m.format));
    }
    Ok(Verified {
        id: m.id,
        ok: problems.is_empty(),
        problems,
        nodes,
        relationships,
    })
}

/// Whether the data file of `m` has the manifest's size and SHA-256 (no decoding).
pub fn checksum_matches(dir: &Path, m: &Manifest) -> Result<(), StoreError> {
    let path = dir.join(&m.data.file);
    let (bytes, sha256) = checksum(&path).map_err(io_err(&path))?;
    if bytes != m.data.bytes || sha256 != m.data.sha256 {
        return Err(StoreError::Mismatch {
            path,
            bytes,
            expected_bytes: m.data.bytes,
            sha256,
            expected_sha256: m.data.sha256.clone(),
        });
    }
    Ok(())
}

fn checksum(path: &Path) -> io::Result<(u64, String)> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        total += n as u64;
    }
    Ok((total, hex(&h.finalize())))
}

fn decode(dir: &Path, m: &Manifest) -> Result<(GraphDigest, Vec<String>), StoreError> {
    let mut reader = open_data(dir, m)?;
    let mut digest = GraphDigest::default();
    let mut schema = Vec::new();
    while let Some(r) = reader.next_record()? {
        if let Record::Schema(s) = &r {
            schema.push(s.clone());
        }
        digest.add(&r)?;
    }
    Ok((digest, schema))
}
