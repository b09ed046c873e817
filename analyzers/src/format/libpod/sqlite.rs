//! `db.sql`, libpod's SQLite state (podman `libpod/sqlite_state.go`,
//! `libpod/sqlite_state_internal.go`, schema version 1 from 4.8 to 6), read from a private
//! copy so that SQLite never opens, locks or writes a file of the store.
//!
//! # The schema podman creates (`createSQLiteTables`)
//!
//! ```text
//! DBConfig(ID INTEGER PK CHECK (ID IN (1)), SchemaVersion, OS, StaticDir, TmpDir, GraphRoot,
//!          RunRoot, GraphDriver, VolumeDir)
//! IDNamespace(ID TEXT PK)
//! ContainerConfig(ID TEXT PK, Name TEXT UNIQUE, PodID TEXT, JSON TEXT)
//! ContainerState(ID TEXT PK, State INTEGER, ExitCode INTEGER, JSON TEXT)
//! ContainerExecSession(ID TEXT PK, ContainerID TEXT)
//! ContainerDependency(ID TEXT, DependencyID TEXT, PK (ID, DependencyID))
//! ContainerVolume(ContainerID TEXT, VolumeName TEXT, PK (ContainerID, VolumeName))
//! ContainerExitCode(ID TEXT PK, Timestamp INTEGER, ExitCode INTEGER)
//! PodConfig(ID TEXT PK, Name TEXT UNIQUE, JSON TEXT)
//! PodState(ID TEXT PK, InfraContainerID TEXT, JSON TEXT)
//! VolumeConfig(Name TEXT PK, StorageID TEXT, JSON TEXT)
//! VolumeState(Name TEXT PK, JSON TEXT)
//! ```
//!
//! The `JSON` columns hold the same `ContainerConfig`, `ContainerState`, `VolumeConfig` and
//! `VolumeState` documents as the BoltDB backend. podman binds them as Go `[]byte`, so they are
//! stored as BLOBs despite the `TEXT` declaration; both are accepted. `ContainerState.State`
//! and `ExitCode` are written once, when the container is added (`addContainer`), and never
//! updated (`SaveContainer` rewrites only `JSON`): the state is read from the JSON.
//!
//! # Journal and WAL
//!
//! podman opens the database with `_sync=FULL&_foreign_keys=1&_txlock=exclusive` and, since
//! 4.6, no journal mode (`1fb3cdf8a8 sqlite: disable WAL mode`), so SQLite's default rollback
//! journal, `db.sql-journal`, exists while a transaction writes (and after a crash in one: a
//! *hot* journal, holding the pages to put back). podman 4.5 opened it with `_journal=WAL`;
//! WAL mode is recorded in the file itself, so a database made by 4.5 stays in WAL mode under
//! every later podman, with committed transactions in `db.sql-wal` until a checkpoint.
//! Reading `db.sql` alone would therefore miss what is in the WAL, or read pages a crashed
//! transaction left half written.
//!
//! # How the database is opened, contained
//!
//! SQLite opens files by path, takes POSIX locks on them, creates `-shm`/`-journal` files
//! beside them and writes to them (recovery, checkpoints), even on a read-only connection
//! (the `-shm`). None of that may reach the store, and no path of the store may be opened
//! outside the [`Jail`]. So [`read`]:
//!
//! 1. reads `db.sql`, `db.sql-wal` and `db.sql-journal` (those present) through the jail, and
//!    writes them under the same names into a fresh directory of its own (mode 0700, under the
//!    system temporary directory, removed afterwards). The files' `lstat` (inode, size,
//!    modification and change times) is taken before and after; when it changed (podman wrote
//!    meanwhile) the copy is made again, up to [`READ_ATTEMPTS`] times, then used as it is.
//! 2. opens the copy read-write (`SQLITE_OPEN_READ_WRITE`, no create), then sets
//!    `query_only` and `trusted_schema = OFF`, and only runs `SELECT`s on tables (never views).
//!
//! Opening the copy read-write, rather than read-only or from a `sqlite3_deserialize`d image
//! of `db.sql`, is what makes the read see what podman would see next: SQLite applies the
//! copied WAL (a read-only connection could too) and rolls back a copied hot journal, which a
//! read-only connection refuses (`SQLITE_READONLY_ROLLBACK`) and an in-memory image cannot
//! do at all. Whatever SQLite writes while doing so goes to the private copy only.

use std::fs::OpenOptions;
use std::io::{self, Read};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, Row};

use super::{DatabaseKind, LibpodState, Records, SQLITE_STATE};
use crate::error::{Problem, ProblemKind};
use crate::fs::{self, Jail};

/// The suffix of the write-ahead log beside a WAL-mode database.
pub const WAL_SUFFIX: &str = "-wal";
/// The suffix of the rollback journal beside a database being written (or left by a crash).
pub const JOURNAL_SUFFIX: &str = "-journal";
/// The schema version podman 4.8 to 6 write in `DBConfig.SchemaVersion`.
pub const SCHEMA_VERSION: i64 = 1;
/// Largest database, WAL or journal file copied, in bytes: podman keeps a few KiB of JSON per
/// container, so this is far above any real state, and it bounds the disk the copy can take.
pub const COPY_LIMIT: u64 = 1 << 30;
/// How many times the copy is made of files that change while being copied.
pub const READ_ATTEMPTS: usize = 3;

/// The tables podman creates (`createSQLiteTables`).
pub const TABLES: [&str; 12] = [
    "DBConfig",
    "IDNamespace",
    "ContainerConfig",
    "ContainerState",
    "ContainerExecSession",
    "ContainerDependency",
    "ContainerVolume",
    "ContainerExitCode",
    "PodConfig",
    "PodState",
    "VolumeConfig",
    "VolumeState",
];

/// The tables read; a database without one of them is refused.
const TABLES_READ: [&str; 4] = [
    "ContainerConfig",
    "ContainerState",
    "VolumeConfig",
    "VolumeState",
];

/// Reads the SQLite libpod state at `path` through `jail`, from a private copy (see the
/// module docs). Damaged rows are `problems`.
///
/// # Errors
///
/// A [`Problem`] naming `path` when it (or its WAL or journal) cannot be read or copied, is
/// not a SQLite database, lacks podman's tables, or a query fails.
pub fn read(jail: &Jail, path: &Path, problems: &mut Vec<Problem>) -> Result<LibpodState, Problem> {
    let copy = PrivateCopy::take(jail, path)?;
    let sql = |e: rusqlite::Error| Problem::new(path, ProblemKind::InvalidDatabase, e.to_string());
    let conn = copy.open().map_err(sql)?;
    check_tables(&conn, path)?;
    let mut records = Records {
        database: path,
        problems,
    };
    schema_version(&conn, &mut records).map_err(sql)?;
    let mut state = LibpodState {
        database: path.to_path_buf(),
        kind: DatabaseKind::Sqlite,
        containers: Default::default(),
        volumes: Default::default(),
        ignored: None,
    };
    let mut rows = conn
        .prepare(
            "SELECT ContainerConfig.ID, ContainerConfig.Name, ContainerConfig.JSON, \
             ContainerState.JSON FROM ContainerConfig LEFT JOIN ContainerState \
             ON ContainerConfig.ID = ContainerState.ID ORDER BY ContainerConfig.ID",
        )
        .map_err(sql)?;
    let mut query = rows.query([]).map_err(sql)?;
    while let Some(row) = query.next().map_err(sql)? {
        let Some((id, record)) = key(&mut records, row, "ContainerConfig") else {
            continue;
        };
        let Some(config) = json(&mut records, &record, row, 2, "JSON") else {
            continue;
        };
        let state_json = match row.get_ref(3) {
            Ok(ValueRef::Null) => None,
            _ => json(&mut records, &record, row, 3, "ContainerState JSON"),
        };
        if let Some(ctr) = records.container(&record, &id, &config, state_json.as_deref()) {
            if let Some(name) = text(row, 1).filter(|n| *n != ctr.name) {
                records.problem(
                    ProblemKind::InvalidValue,
                    &record,
                    format!("Name column {name:?} is not the config's {:?}", ctr.name),
                );
            }
            state.containers.insert(ctr.id.clone(), ctr);
        }
    }
    unlisted(
        &conn,
        &mut records,
        "SELECT ID FROM ContainerState WHERE ID NOT IN (SELECT ID FROM ContainerConfig)",
        "ContainerState",
        "ContainerConfig",
    )
    .map_err(sql)?;
    let mut rows = conn
        .prepare(
            "SELECT VolumeConfig.Name, VolumeConfig.JSON, VolumeState.JSON \
             FROM VolumeConfig LEFT JOIN VolumeState ON VolumeConfig.Name = VolumeState.Name \
             ORDER BY VolumeConfig.Name",
        )
        .map_err(sql)?;
    let mut query = rows.query([]).map_err(sql)?;
    while let Some(row) = query.next().map_err(sql)? {
        let Some((name, record)) = key(&mut records, row, "VolumeConfig") else {
            continue;
        };
        let Some(config) = json(&mut records, &record, row, 1, "JSON") else {
            continue;
        };
        let state_json = match row.get_ref(2) {
            Ok(ValueRef::Null) => None,
            _ => json(&mut records, &record, row, 2, "VolumeState JSON"),
        };
        if let Some(vol) = records.volume(&record, &name, &config, state_json.as_deref()) {
            state.volumes.insert(vol.name.clone(), vol);
        }
    }
    Ok(state)
}

/// Refuses a database without the tables read (as tables: a view of that name is not one).
fn check_tables(conn: &Connection, path: &Path) -> Result<(), Problem> {
    let sql = |e: rusqlite::Error| Problem::new(path, ProblemKind::InvalidDatabase, e.to_string());
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .map_err(sql)?;
    let names = stmt
        .query_map([], |row| row.get::<_, String>(0))
        .map_err(sql)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sql)?;
    let missing: Vec<_> = TABLES_READ
        .iter()
        .filter(|t| !names.iter().any(|n| n == *t))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Problem::new(
        path,
        ProblemKind::InvalidDatabase,
        format!("no table {missing:?}: not a libpod database"),
    ))
}

/// Notes a schema newer than the one this reader knows (the tables read may have changed).
fn schema_version(conn: &Connection, records: &mut Records<'_>) -> rusqlite::Result<()> {
    let exists: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'DBConfig')",
        [],
        |row| row.get(0),
    )?;
    if !exists {
        return Ok(());
    }
    let mut stmt = conn.prepare("SELECT SchemaVersion FROM DBConfig")?;
    let mut rows = stmt.query([])?;
    if let Some(row) = rows.next()? {
        match row.get_ref(0)? {
            ValueRef::Integer(v) if (1..=SCHEMA_VERSION).contains(&v) => {}
            other => records.problem(
                ProblemKind::InvalidValue,
                "DBConfig",
                format!(
                    "SchemaVersion {other:?} is not {SCHEMA_VERSION}, the version read: \
                     read as version {SCHEMA_VERSION}"
                ),
            ),
        }
    }
    Ok(())
}

/// Rows of `table` (the ids `query` selects) that `listing` does not hold: problems, not
/// read (podman's listing joins them away).
fn unlisted(
    conn: &Connection,
    records: &mut Records<'_>,
    query: &str,
    table: &str,
    listing: &str,
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare(query)?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let id = text(row, 0).unwrap_or_default();
        records.problem(
            ProblemKind::DanglingReference,
            &format!("{table} {id}"),
            format!("no {listing} row: not read"),
        );
    }
    Ok(())
}

/// The key (column 0) of a row of `table`, and the row's name in problems (`table key`); a
/// key that is not text is a problem.
fn key(records: &mut Records<'_>, row: &Row<'_>, table: &str) -> Option<(String, String)> {
    match text(row, 0) {
        Some(key) => {
            let record = format!("{table} {key}");
            Some((key, record))
        }
        None => {
            records.problem(
                ProblemKind::InvalidValue,
                table,
                "a row whose key is not text: not read",
            );
            None
        }
    }
}

/// Column `i` as text (a TEXT value, or a BLOB holding UTF-8).
fn text(row: &Row<'_>, i: usize) -> Option<String> {
    match row.get_ref(i).ok()? {
        ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8(t.to_vec()).ok(),
        _ => None,
    }
}

/// The JSON document in column `i` (TEXT or, as podman writes it, BLOB); anything else is a
/// problem.
fn json(
    records: &mut Records<'_>,
    record: &str,
    row: &Row<'_>,
    i: usize,
    column: &str,
) -> Option<Vec<u8>> {
    match row.get_ref(i) {
        Ok(ValueRef::Text(t) | ValueRef::Blob(t)) => Some(t.to_vec()),
        Ok(other) => {
            records.problem(
                ProblemKind::InvalidJson,
                record,
                format!(
                    "{column} is {:?}, not a JSON document: not read",
                    other.data_type()
                ),
            );
            None
        }
        Err(e) => {
            records.problem(ProblemKind::InvalidJson, record, format!("{column}: {e}"));
            None
        }
    }
}

/// The database and its WAL and journal copied into a private directory, removed on drop.
struct PrivateCopy {
    dir: tempfile::TempDir,
}

/// What `lstat` says of a file that shows whether it changed: inode, size, modification and
/// change times; `None` when absent.
type Stamp = Option<(u64, i64, i64, i64, i64, i64)>;

impl PrivateCopy {
    /// Copies the database at `path` and the side files present (see the module docs).
    fn take(jail: &Jail, path: &Path) -> Result<PrivateCopy, Problem> {
        let fail = |what: &str, e: io::Error| {
            Problem::new(
                path,
                ProblemKind::Unreadable,
                format!("{what}: {}", fs::describe(&e)),
            )
        };
        let dir = tempfile::Builder::new()
            .prefix("strata-libpod-")
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir()
            .map_err(|e| fail("making a private directory for a copy", e))?;
        let sources = [
            path.to_path_buf(),
            side_file(path, WAL_SUFFIX),
            side_file(path, JOURNAL_SUFFIX),
        ];
        let targets = [
            dir.path().join(SQLITE_STATE),
            dir.path().join(format!("{SQLITE_STATE}{WAL_SUFFIX}")),
            dir.path().join(format!("{SQLITE_STATE}{JOURNAL_SUFFIX}")),
        ];
        for attempt in 1..=READ_ATTEMPTS {
            let before = stamps(jail, &sources).map_err(|(p, e)| fs::io_problem(&p, &e))?;
            if before[0].is_none() {
                return Err(Problem::new(path, ProblemKind::Missing, "no such file"));
            }
            for ((source, target), stamp) in sources.iter().zip(&targets).zip(&before) {
                remove_if_present(target).map_err(|e| fail("clearing the private copy", e))?;
                if stamp.is_some() {
                    copy_file(jail, source, target).map_err(|e| fs::io_problem(source, &e))?;
                }
            }
            let after = stamps(jail, &sources).map_err(|(p, e)| fs::io_problem(&p, &e))?;
            if before == after || attempt == READ_ATTEMPTS {
                break;
            }
        }
        Ok(PrivateCopy { dir })
    }

    /// Opens the copy read-write (no create), querying only, trusting nothing in its schema.
    fn open(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(
            self.dir.path().join(SQLITE_STATE),
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.pragma_update(None, "trusted_schema", false)?;
        // Recovery (WAL, hot journal) runs on the first read, before query_only could stop
        // it: force it now.
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))?;
        conn.pragma_update(None, "query_only", true)?;
        Ok(conn)
    }
}

/// `path` with `suffix` appended to its file name (`db.sql` → `db.sql-wal`).
fn side_file(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The [`Stamp`] of each of `paths`; an error other than absence names the path.
fn stamps(jail: &Jail, paths: &[PathBuf; 3]) -> Result<[Stamp; 3], (PathBuf, io::Error)> {
    let mut out = [None; 3];
    for (slot, path) in out.iter_mut().zip(paths) {
        *slot = match jail.stat(path) {
            Ok(st) => Some((
                st.st_ino,
                st.st_size,
                st.st_mtime,
                st.st_mtime_nsec,
                st.st_ctime,
                st.st_ctime_nsec,
            )),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err((path.clone(), e)),
        };
    }
    Ok(out)
}

/// Copies the regular file `source` (through the jail) to the new file `target` (mode 0600),
/// refusing one of more than [`COPY_LIMIT`] bytes.
fn copy_file(jail: &Jail, source: &Path, target: &Path) -> io::Result<()> {
    let file = jail.file(source)?;
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(target)?;
    let copied = io::copy(&mut Read::take(&file, COPY_LIMIT + 1), &mut out)?;
    if copied > COPY_LIMIT {
        return Err(io::Error::other(format!(
            "larger than {COPY_LIMIT} bytes: not copied"
        )));
    }
    Ok(())
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
