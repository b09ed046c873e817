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
//! 2. refuses a copied journal that names a *super-journal* (a transaction over several
//!    attached databases, which podman never makes): SQLite would open that name, any path
//!    the file holds, to decide whether to roll back.
//! 3. opens the copy read-write (`SQLITE_OPEN_READ_WRITE`, no create), then sets
//!    `query_only` and `trusted_schema = OFF`, and only runs `SELECT`s on tables (never views).
//!
//! Opening the copy read-write, rather than read-only or from a `sqlite3_deserialize`d image
//! of `db.sql`, is what makes the read see what podman would see next: SQLite applies the
//! copied WAL (a read-only connection could too) and rolls back a copied hot journal, which a
//! read-only connection refuses ("attempt to write a readonly database", the test
//! `a_hot_journal_is_rolled_back_in_the_copy` shows it) and an in-memory image cannot do at
//! all (nor apply a WAL). Whatever SQLite writes while doing so goes to the private copy only.

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

/// podman's `createSQLiteTables`, verbatim (v4.8.0 to main): the `CREATE TABLE` statements of
/// [`TABLES`], in that order, for whoever must make a database as podman makes it (this
/// module's tests, the integration tests, the fuzz seeds).
pub const SCHEMA: [&str; 12] = [
    "CREATE TABLE IF NOT EXISTS DBConfig(
            ID            INTEGER PRIMARY KEY NOT NULL,
            SchemaVersion INTEGER NOT NULL,
            OS            TEXT    NOT NULL,
            StaticDir     TEXT    NOT NULL,
            TmpDir        TEXT    NOT NULL,
            GraphRoot     TEXT    NOT NULL,
            RunRoot       TEXT    NOT NULL,
            GraphDriver   TEXT    NOT NULL,
            VolumeDir     TEXT    NOT NULL,
            CHECK (ID IN (1))
    );",
    "CREATE TABLE IF NOT EXISTS IDNamespace(
            ID TEXT PRIMARY KEY NOT NULL
    );",
    "CREATE TABLE IF NOT EXISTS ContainerConfig(
            ID              TEXT    PRIMARY KEY NOT NULL,
            Name            TEXT    UNIQUE NOT NULL,
            PodID           TEXT,
            JSON            TEXT    NOT NULL,
            FOREIGN KEY (ID)    REFERENCES IDNamespace(ID)    DEFERRABLE INITIALLY DEFERRED,
            FOREIGN KEY (ID)    REFERENCES ContainerState(ID) DEFERRABLE INITIALLY DEFERRED,
            FOREIGN KEY (PodID) REFERENCES PodConfig(ID)
    );",
    "CREATE TABLE IF NOT EXISTS ContainerState(
            ID       TEXT    PRIMARY KEY NOT NULL,
            State    INTEGER NOT NULL,
            ExitCode INTEGER,
            JSON     TEXT    NOT NULL,
            FOREIGN KEY (ID) REFERENCES ContainerConfig(ID) DEFERRABLE INITIALLY DEFERRED,
            CHECK (ExitCode BETWEEN -1 AND 255)
    );",
    "CREATE TABLE IF NOT EXISTS ContainerExecSession(
            ID          TEXT PRIMARY KEY NOT NULL,
            ContainerID TEXT NOT NULL,
            FOREIGN KEY (ContainerID) REFERENCES ContainerConfig(ID)
    );",
    "CREATE TABLE IF NOT EXISTS ContainerDependency(
            ID           TEXT NOT NULL,
            DependencyID TEXT NOT NULL,
            PRIMARY KEY (ID, DependencyID),
            FOREIGN KEY (ID)           REFERENCES ContainerConfig(ID) DEFERRABLE INITIALLY DEFERRED,
            FOREIGN KEY (DependencyID) REFERENCES ContainerConfig(ID),
            CHECK (ID <> DependencyID)
    );",
    "CREATE TABLE IF NOT EXISTS ContainerVolume(
            ContainerID TEXT NOT NULL,
            VolumeName  TEXT NOT NULL,
            PRIMARY KEY (ContainerID, VolumeName),
            FOREIGN KEY (ContainerID) REFERENCES ContainerConfig(ID) DEFERRABLE INITIALLY DEFERRED,
            FOREIGN KEY (VolumeName)  REFERENCES VolumeConfig(Name)
    );",
    "CREATE TABLE IF NOT EXISTS ContainerExitCode(
            ID        TEXT    PRIMARY KEY NOT NULL,
            Timestamp INTEGER NOT NULL,
            ExitCode  INTEGER NOT NULL,
            CHECK (ExitCode BETWEEN -1 AND 255)
    );",
    "CREATE TABLE IF NOT EXISTS PodConfig(
            ID              TEXT    PRIMARY KEY NOT NULL,
            Name            TEXT    UNIQUE NOT NULL,
            JSON            TEXT    NOT NULL,
            FOREIGN KEY (ID) REFERENCES IDNamespace(ID) DEFERRABLE INITIALLY DEFERRED,
            FOREIGN KEY (ID) REFERENCES PodState(ID)    DEFERRABLE INITIALLY DEFERRED
    );",
    "CREATE TABLE IF NOT EXISTS PodState(
            ID               TEXT PRIMARY KEY NOT NULL,
            InfraContainerID TEXT,
            JSON             TEXT NOT NULL,
            FOREIGN KEY (ID)               REFERENCES PodConfig(ID)       DEFERRABLE INITIALLY DEFERRED,
            FOREIGN KEY (InfraContainerID) REFERENCES ContainerConfig(ID) DEFERRABLE INITIALLY DEFERRED
    );",
    "CREATE TABLE IF NOT EXISTS VolumeConfig(
            Name            TEXT    PRIMARY KEY NOT NULL,
            StorageID       TEXT,
            JSON            TEXT    NOT NULL,
            FOREIGN KEY (Name) REFERENCES VolumeState(Name) DEFERRABLE INITIALLY DEFERRED
    );",
    "CREATE TABLE IF NOT EXISTS VolumeState(
            Name TEXT PRIMARY KEY NOT NULL,
            JSON TEXT NOT NULL,
            FOREIGN KEY (Name) REFERENCES VolumeConfig(Name) DEFERRABLE INITIALLY DEFERRED
    );",
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

/// What `lstat` says of a file that shows whether it changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    inode: u64,
    /// Bytes (apparent size).
    size: i64,
    /// Last modification, seconds and nanoseconds.
    modified: (i64, i64),
    /// Last status change, seconds and nanoseconds.
    changed: (i64, i64),
}

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
        if names_super_journal(&targets[2]).map_err(|e| fail("reading the copied journal", e))? {
            return Err(Problem::new(
                &sources[2],
                ProblemKind::InvalidDatabase,
                "names a super-journal (a transaction over several databases, which podman \
                 never makes): not rolled back, since SQLite would open that path outside the \
                 root",
            ));
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

/// The [`Stamp`] of each of `paths` (`None` when absent); an error other than absence names
/// the path.
fn stamps(jail: &Jail, paths: &[PathBuf; 3]) -> Result<[Option<Stamp>; 3], (PathBuf, io::Error)> {
    let mut out = [None; 3];
    for (slot, path) in out.iter_mut().zip(paths) {
        *slot = match jail.stat(path) {
            Ok(st) => Some(Stamp {
                inode: st.st_ino,
                size: st.st_size,
                modified: (st.st_mtime, st.st_mtime_nsec),
                changed: (st.st_ctime, st.st_ctime_nsec),
            }),
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

/// The 8 bytes that start a rollback journal's header and end a super-journal record
/// (SQLite `pager.c aJournalMagic`).
const JOURNAL_MAGIC: [u8; 8] = [0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7];

/// True when the rollback journal at `path` ends with a super-journal record (`pager.c
/// readSuperJournal`: the name, its length, its checksum, then [`JOURNAL_MAGIC`]), whose
/// name SQLite would open, by path, to decide whether the journal is hot. False when there is
/// no journal.
fn names_super_journal(path: &Path) -> io::Result<bool> {
    use std::io::{Seek, SeekFrom};
    let mut file = match std::fs::File::open(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        other => other?,
    };
    let len = file.metadata()?.len();
    if len < 16 {
        return Ok(false);
    }
    let mut tail = [0u8; 16];
    file.seek(SeekFrom::Start(len - 16))?;
    file.read_exact(&mut tail)?;
    let name_len = u32::from_be_bytes([tail[0], tail[1], tail[2], tail[3]]);
    Ok(tail[8..] == JOURNAL_MAGIC && name_len > 0)
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rusqlite::config::DbConfig;
    use rusqlite::params;

    use super::super::fixtures::{self, CTR_A, CTR_B, CTR_C, IMAGE};
    use super::super::{ContainerStatus, LibpodContainerId};
    use super::*;

    const ROOT: &str = "/var/lib/containers/storage";

    /// A connection as podman opens one (`_sync=FULL&_foreign_keys=1`), with podman's
    /// tables and its `DBConfig` row.
    fn podman_db(path: &Path, journal_mode: &str) -> Connection {
        let conn = Connection::open(path).unwrap();
        conn.pragma_update(None, "journal_mode", journal_mode)
            .unwrap();
        conn.pragma_update(None, "synchronous", "FULL").unwrap();
        conn.pragma_update(None, "foreign_keys", true).unwrap();
        for table in SCHEMA {
            conn.execute(table, []).unwrap();
        }
        conn.execute(
            "INSERT OR IGNORE INTO DBconfig VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?);",
            params![
                1,
                SCHEMA_VERSION,
                "linux",
                format!("{ROOT}/libpod"),
                "/run/libpod",
                ROOT,
                "/run/containers/storage",
                "overlay",
                format!("{ROOT}/volumes")
            ],
        )
        .unwrap();
        conn
    }

    /// Adds a container as podman's `addContainer` does: the JSON bound as Go `[]byte`
    /// (BLOBs), the `State` and `ExitCode` columns from the state at creation.
    fn add_container(conn: &Connection, id: &str, name: &str, state: i64, volumes: &[&str]) {
        let tx = conn.unchecked_transaction().unwrap();
        tx.execute("INSERT INTO IDNamespace VALUES (?);", [id])
            .unwrap();
        tx.execute(
            "INSERT INTO ContainerConfig VALUES (?, ?, ?, ?);",
            params![
                id,
                name,
                None::<String>,
                fixtures::container_config(id, name, ROOT).into_bytes()
            ],
        )
        .unwrap();
        tx.execute(
            "INSERT INTO ContainerState VALUES (?, ?, ?, ?);",
            params![
                id,
                state,
                0,
                fixtures::container_state(state, 0, false).into_bytes()
            ],
        )
        .unwrap();
        for vol in volumes {
            tx.execute("INSERT INTO ContainerVolume VALUES (?, ?);", [id, vol])
                .unwrap();
        }
        tx.commit().unwrap();
    }

    /// Adds a volume as podman's `addVolume` does.
    fn add_volume(conn: &Connection, name: &str) {
        let tx = conn.unchecked_transaction().unwrap();
        tx.execute(
            "INSERT INTO VolumeConfig VALUES (?, ?, ?);",
            params![
                name,
                None::<String>,
                fixtures::volume_config(name, ROOT).into_bytes()
            ],
        )
        .unwrap();
        tx.execute(
            "INSERT INTO VolumeState VALUES (?, ?);",
            params![name, fixtures::VOLUME_STATE.as_bytes()],
        )
        .unwrap();
        tx.commit().unwrap();
    }

    /// Every file of `dir` with its bytes.
    fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect()
    }

    fn read_root(root: &Path) -> (Result<LibpodState, Problem>, Vec<Problem>) {
        let jail = Jail::open(root).unwrap();
        let mut problems = Vec::new();
        let state = super::super::read(&jail, root, &mut problems).map(|s| s.expect("a db"));
        (state, problems)
    }

    #[test]
    fn the_schema_makes_the_tables_in_order() {
        for (statement, table) in SCHEMA.iter().zip(TABLES) {
            assert!(
                statement.starts_with(&format!("CREATE TABLE IF NOT EXISTS {table}(")),
                "{statement}"
            );
        }
    }

    #[test]
    fn reads_uncheckpointed_wal_frames_without_touching_the_store() {
        let store = tempfile::tempdir().unwrap();
        let db = store.path().join(SQLITE_STATE);
        let conn = podman_db(&db, "WAL");
        add_volume(&conn, "v1");
        add_container(&conn, CTR_A, "made", 1, &["v1"]);
        add_container(&conn, CTR_B, "ran", 2, &[]);
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
        // Committed after the last checkpoint: only in db.sql-wal.
        add_container(&conn, CTR_C, "live", 3, &[]);
        conn.execute(
            "UPDATE ContainerState SET JSON=? WHERE ID=?;",
            params![fixtures::container_state(6, 3, false).into_bytes(), CTR_B],
        )
        .unwrap();
        // Left as a podman killed mid-run leaves it: no checkpoint on close.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
            .unwrap();
        drop(conn);
        std::fs::remove_file(store.path().join("db.sql-shm")).unwrap();
        let wal = store.path().join("db.sql-wal");
        assert!(
            std::fs::metadata(&wal).unwrap().len() > 0,
            "frames in the WAL"
        );
        let before = files(store.path());

        let (state, problems) = read_root(store.path());
        let state = state.unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(state.kind, DatabaseKind::Sqlite);
        assert_eq!(state.database, db);
        assert_eq!(state.containers.len(), 3, "the WAL's container too");
        let id = |s| LibpodContainerId::parse(s).unwrap();
        fixtures::check_made(&state.containers[&id(CTR_A)], ROOT);
        let ran = state.containers[&id(CTR_B)].state.as_ref().unwrap();
        assert_eq!(
            (ran.status, ran.exit_code),
            (ContainerStatus::Exited, 3),
            "the state JSON, not the State column written at creation"
        );
        let live = &state.containers[&id(CTR_C)];
        assert_eq!(live.image_id.as_ref().unwrap().as_str(), IMAGE);
        fixtures::check_v1(&state.volumes["v1"], ROOT);
        assert_eq!(
            files(store.path()),
            before,
            "nothing in the store written, created or removed"
        );
    }

    #[test]
    fn a_hot_journal_is_rolled_back_in_the_copy() {
        let live = tempfile::tempdir().unwrap();
        let db = live.path().join(SQLITE_STATE);
        let conn = podman_db(&db, "DELETE");
        add_volume(&conn, "v1");
        add_container(&conn, CTR_A, "made", 1, &["v1"]);
        let committed = std::fs::read(&db).unwrap();
        // A transaction larger than the page cache writes pages of db.sql before it
        // commits; a crash then leaves them with a hot journal holding the old ones.
        conn.pragma_update(None, "cache_size", 5).unwrap();
        conn.execute_batch("BEGIN EXCLUSIVE").unwrap();
        let big = "x".repeat(2000);
        for i in 0..300 {
            conn.execute(
                "INSERT INTO VolumeConfig VALUES (?, NULL, ?);",
                params![format!("junk{i}"), big],
            )
            .unwrap();
        }
        let store = tempfile::tempdir().unwrap();
        for name in ["db.sql", "db.sql-journal"] {
            std::fs::copy(live.path().join(name), store.path().join(name)).unwrap();
        }
        conn.execute_batch("ROLLBACK").unwrap();
        drop(conn);
        assert_ne!(
            std::fs::read(store.path().join("db.sql")).unwrap(),
            committed,
            "the crashed transaction wrote db.sql"
        );
        let before = files(store.path());

        let (state, problems) = read_root(store.path());
        let state = state.unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            state.volumes.len(),
            1,
            "the uncommitted volumes rolled back"
        );
        fixtures::check_made(
            &state.containers[&LibpodContainerId::parse(CTR_A).unwrap()],
            ROOT,
        );
        assert_eq!(files(store.path()), before, "the hot journal left in place");
    }

    #[test]
    fn a_journal_naming_a_super_journal_is_refused() {
        let store = tempfile::tempdir().unwrap();
        drop(podman_db(&store.path().join(SQLITE_STATE), "DELETE"));
        // A journal header, then a super-journal record naming a path outside the root.
        let name = b"/etc/outside-mj0123AB9C";
        let mut journal = JOURNAL_MAGIC.to_vec();
        journal.resize(512, 0);
        journal.extend_from_slice(name);
        journal.extend_from_slice(&u32::try_from(name.len()).unwrap().to_be_bytes());
        let sum = name.iter().map(|&b| u32::from(b)).sum::<u32>();
        journal.extend_from_slice(&sum.to_be_bytes());
        journal.extend_from_slice(&JOURNAL_MAGIC);
        let path = store.path().join("db.sql-journal");
        std::fs::write(&path, journal).unwrap();
        let (state, _) = read_root(store.path());
        let err = state.unwrap_err();
        assert_eq!(err.path, path);
        assert!(err.detail.contains("super-journal"), "{err}");
    }

    #[test]
    fn malformed_rows_are_problems_and_the_rest_still_read() {
        let store = tempfile::tempdir().unwrap();
        let conn = podman_db(&store.path().join(SQLITE_STATE), "DELETE");
        add_volume(&conn, "v1");
        add_container(&conn, CTR_A, "made", 1, &["v1"]);
        conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
        conn.execute(
            "INSERT INTO ContainerConfig VALUES (?, 'broken', NULL, ?);",
            params![CTR_B, br#"{"id": "06618bc3"#.to_vec()],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO ContainerState VALUES (?, 6, 3, ?);",
            params![CTR_B, fixtures::container_state(6, 3, false).into_bytes()],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO ContainerConfig VALUES ('not-an-id', 'bad', NULL, ?);",
            [fixtures::container_config("not-an-id", "bad", ROOT)],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO ContainerState VALUES (?, 3, 0, '{\"state\": 42}');",
            [CTR_C],
        )
        .unwrap();
        conn.execute("INSERT INTO VolumeConfig VALUES ('v2', NULL, 7);", [])
            .unwrap();
        drop(conn);

        let (state, problems) = read_root(store.path());
        let state = state.unwrap();
        let ids: Vec<_> = state.containers.keys().map(|k| k.as_str()).collect();
        assert_eq!(ids, [CTR_A]);
        assert_eq!(state.volumes.keys().collect::<Vec<_>>(), ["v1"]);
        let found: Vec<_> = problems
            .iter()
            .map(|p| (p.kind, p.detail.split(':').next().unwrap().to_owned()))
            .collect();
        assert_eq!(
            found,
            [
                (ProblemKind::InvalidJson, format!("ContainerConfig {CTR_B}")),
                (
                    ProblemKind::InvalidValue,
                    "ContainerConfig not-an-id".into()
                ),
                (
                    ProblemKind::DanglingReference,
                    format!("ContainerState {CTR_C}")
                ),
                (ProblemKind::InvalidJson, "VolumeConfig v2".into()),
            ],
            "{problems:?}"
        );
        assert!(problems
            .iter()
            .all(|p| p.path == store.path().join(SQLITE_STATE)));
    }

    #[test]
    fn not_a_libpod_database_is_refused() {
        let store = tempfile::tempdir().unwrap();
        let db = store.path().join(SQLITE_STATE);
        std::fs::write(&db, b"SQLite format 3\0 but not really").unwrap();
        let (state, _) = read_root(store.path());
        assert_eq!(state.unwrap_err().kind, ProblemKind::InvalidDatabase);
        std::fs::remove_file(&db).unwrap();
        let conn = Connection::open(&db).unwrap();
        conn.execute("CREATE VIEW ContainerConfig AS SELECT 1", [])
            .unwrap();
        drop(conn);
        let (state, _) = read_root(store.path());
        let err = state.unwrap_err();
        assert!(err.detail.contains("not a libpod database"), "{err}");
    }
}
