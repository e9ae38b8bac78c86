//! Connections, the pool, migrations and the async boundary.
//!
//! diesel is synchronous: every query runs on tokio's blocking pool, at most
//! `pool_size` at a time (a semaphore), and a connection is never held across an
//! `.await`. Writes run in one transaction; on SQLite it is `BEGIN IMMEDIATE`, so a
//! writer takes the write lock up front instead of failing to upgrade a read lock.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::r2d2::{self, ManageConnection, Pool};
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use tokio::sync::Semaphore;
use warden_domain::RepoError;
use warden_domain::ports::ChangeTag;

use crate::announcements::{Announcement, Listener, Solitude, spawn_announcer, spawn_listener};
use crate::changes::{ChangeLog, Touched};
use crate::error::map_diesel;
use crate::group_commit::Writer;
use crate::kept::KeptQuery;

const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// One connection to whichever backend the URL named.
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

/// Evaluates `$body` with `$c` bound to the concrete connection of either engine, for
/// the statements diesel's `MultiConnection` backend cannot express (multi-row
/// inserts, `UNION`): the body is compiled once per engine.
macro_rules! per_engine {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::AnyConnection::Postgresql($c) => $body,
            $crate::db::AnyConnection::Sqlite($c) => $body,
        }
    };
}
pub(crate) use per_engine;

/// The database engine, chosen from the URL scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// Where the database is, parsed from `postgres://…` or `sqlite://<path>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Postgres(String),
    Sqlite(PathBuf),
}

impl DatabaseUrl {
    /// Parses a database URL by its scheme; anything else is refused.
    pub fn parse(url: &str) -> Result<Self, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or_else(|| {
                format!(
                    "unsupported database URL {url:?}: expected postgres://… or sqlite://<path>"
                )
            })?;
        if path.is_empty() || path.contains(":memory:") {
            return Err(
                "sqlite URLs must name a file (an in-memory database cannot be shared by a pool)"
                    .into(),
            );
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }

    /// The engine this URL names.
    pub fn backend(&self) -> Backend {
        match self {
            Self::Postgres(_) => Backend::Postgres,
            Self::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// Pool settings.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// Connections, and therefore queries running at once.
    pub max_connections: u32,
    /// How long a query waits for a connection before the request fails with 503.
    pub acquire_timeout: Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

/// Opens connections of one backend, and prepares each SQLite connection.
#[derive(Debug, Clone)]
struct Manager {
    url: DatabaseUrl,
    reach: Arc<Reachability>,
}

/// Whether the database answered the last time anyone asked: while it does not,
/// requests wait at most [`WAIT_WHILE_UNREACHABLE`] for a connection instead of the
/// pool's full acquire timeout, so that they fail fast with 503 during an outage.
#[derive(Debug, Default)]
struct Reachability {
    unreachable: std::sync::atomic::AtomicBool,
}

impl Reachability {
    fn saw(&self, answered: bool) {
        self.unreachable
            .store(!answered, std::sync::atomic::Ordering::Relaxed);
    }

    fn is_unreachable(&self) -> bool {
        self.unreachable.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// How long a request waits for a connection while the database is unreachable: long
/// enough to take one that a recovering database hands out, short enough to fail
/// fast.
const WAIT_WHILE_UNREACHABLE: Duration = Duration::from_millis(250);

/// A pooled connection and what the pool needs to know to trust it without asking.
struct Pooled {
    conn: AnyConnection,
    /// When it last answered; the pool asks again only after it idled a while.
    last_ok: Instant,
    /// A query failed and a probe then failed too: the pool discards it.
    broken: bool,
}

/// A connection that answered this recently is handed out without a probe: asking
/// before every query would cost PostgreSQL a round trip per query.
const PROBE_AFTER_IDLE: Duration = Duration::from_secs(10);

impl Pooled {
    fn probe(&mut self) -> bool {
        let alive = self.conn.batch_execute("SELECT 1").is_ok();
        if alive {
            self.last_ok = Instant::now();
        }
        alive
    }
}

impl ManageConnection for Manager {
    type Connection = Pooled;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<Pooled, r2d2::Error> {
        let conn = self.establish();
        self.reach.saw(conn.is_ok());
        Ok(Pooled {
            conn: conn?,
            last_ok: Instant::now(),
            broken: false,
        })
    }

    fn is_valid(&self, pooled: &mut Pooled) -> Result<(), r2d2::Error> {
        if pooled.last_ok.elapsed() < PROBE_AFTER_IDLE {
            return Ok(());
        }
        pooled
            .conn
            .batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)?;
        pooled.last_ok = Instant::now();
        Ok(())
    }

    fn has_broken(&self, pooled: &mut Pooled) -> bool {
        pooled.broken
    }
}

impl Manager {
    fn establish(&self) -> Result<AnyConnection, r2d2::Error> {
        match &self.url {
            DatabaseUrl::Postgres(url) => PgConnection::establish(url)
                .map(AnyConnection::Postgresql)
                .map_err(r2d2::Error::ConnectionError),
            DatabaseUrl::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())
                    .map_err(r2d2::Error::ConnectionError)?;
                conn.batch_execute(
                    "PRAGMA journal_mode = WAL;
                     PRAGMA synchronous = NORMAL;
                     PRAGMA busy_timeout = 10000;
                     PRAGMA foreign_keys = ON;
                     PRAGMA cache_size = -16384;
                     PRAGMA mmap_size = 268435456;",
                )
                .map_err(r2d2::Error::QueryError)?;
                Ok(AnyConnection::Sqlite(conn))
            }
        }
    }
}

/// The longest a write's reply waits for the other replicas to hear of it (they
/// acknowledge within [`crate::announcements`]' own bound, or are stuck).
const ANNOUNCEMENT_WAIT: Duration = Duration::from_secs(3);

/// A snapshot of the connection pool, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUse {
    /// The most connections the pool opens.
    pub max: u32,
    /// Connections open now.
    pub open: u32,
    /// Open connections not in use.
    pub idle: u32,
}

/// The database handle every repository shares. Cheap to clone.
#[derive(Clone)]
pub struct Database {
    pool: Pool<Manager>,
    permits: Arc<Semaphore>,
    backend: Backend,
    /// Whether the database answers, for failing fast while it does not.
    reach: Arc<Reachability>,
    /// How long a query waits for a connection while the database answers.
    acquire_timeout: Duration,
    /// Every committed write of this process and, on PostgreSQL, of every other
    /// replica (through LISTEN/NOTIFY), with what it touched. Caches consult it.
    changes: Arc<ChangeLog>,
    /// On PostgreSQL, the connection listening for other replicas' writes.
    listener: Option<Arc<Listener>>,
    /// On SQLite, the thread every write goes through, committing waiting writes
    /// together (see [`crate::group_commit`]).
    writer: Option<Arc<Writer>>,
    /// On PostgreSQL, the thread announcing committed writes to the other replicas,
    /// and whether it has lately found none listening.
    announcer: Option<(std::sync::mpsc::Sender<Announcement>, Arc<Solitude>)>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.backend)
            .finish()
    }
}

impl Database {
    /// Connects (creating a SQLite file and its folder if needed). Does not migrate.
    pub async fn connect(url: &str, config: PoolConfig) -> Result<Self, RepoError> {
        let url = DatabaseUrl::parse(url).map_err(RepoError::Internal)?;
        if url.backend() == Backend::Postgres {
            before_first_postgres_connection();
        }
        if let DatabaseUrl::Sqlite(path) = &url {
            create_parent(path)?;
        }
        let backend = url.backend();
        let url_for_listener = url.clone();
        let size = config.max_connections.max(1);
        let reach = Arc::new(Reachability::default());
        let reach_for_pool = Arc::clone(&reach);
        let (pool, writer) = tokio::task::spawn_blocking(move || {
            let manager = Manager {
                url,
                reach: reach_for_pool,
            };
            let writer = match manager.url {
                DatabaseUrl::Sqlite(_) => {
                    let conn = manager
                        .establish()
                        .map_err(|e| RepoError::Unavailable(e.to_string()))?;
                    Some(Arc::new(Writer::start(conn)?))
                }
                DatabaseUrl::Postgres(_) => None,
            };
            let pool = Pool::builder()
                .max_size(size)
                .min_idle(Some(1))
                .connection_timeout(config.acquire_timeout)
                .build(manager)
                .map_err(|e| RepoError::Unavailable(e.to_string()))?;
            Ok::<_, RepoError>((pool, writer))
        })
        .await
        .map_err(|e| RepoError::Internal(e.to_string()))??;
        let changes = Arc::new(ChangeLog::default());
        let mut announcer = None;
        let mut listener = None;
        if let DatabaseUrl::Postgres(url) = &url_for_listener {
            // How this replica's announcements and listener know each other.
            let replica = uuid::Uuid::new_v4().simple().to_string();
            announcer = Some(spawn_announcer(url.clone(), replica.clone()));
            // Wait (briefly) for the listener: once it listens, what it retires on
            // connecting is behind us, and no other replica's write goes unheard.
            let (ready, listening) = std::sync::mpsc::sync_channel(1);
            listener = Some(spawn_listener(
                url.clone(),
                replica,
                Arc::downgrade(&changes),
                ready,
            ));
            let waited = tokio::task::spawn_blocking(move || {
                listening.recv_timeout(Duration::from_secs(5)).is_ok()
            })
            .await
            .unwrap_or(false);
            if !waited {
                tracing::warn!("the change listener is not listening yet; it keeps trying");
            }
        }
        Ok(Self {
            pool,
            permits: Arc::new(Semaphore::new(size as usize)),
            backend,
            reach,
            acquire_timeout: config.acquire_timeout,
            changes,
            listener,
            writer,
            announcer,
        })
    }

    /// The current write generation: read it before loading something to cache.
    pub fn generation(&self) -> u64 {
        self.changes.generation()
    }

    /// Whether no write touching `tags` has committed since `generation` was read,
    /// here or in another replica. Another replica's write is heard here before its
    /// reply goes out (see [`crate::announcements`]), so a request that follows the
    /// reply is never served what the write changed; while this replica is not
    /// listening, it cannot know, and the answer is `false`.
    pub fn unchanged_since(&self, generation: u64, tags: &[ChangeTag]) -> bool {
        if let Some(listener) = &self.listener
            && !listener.take_in(&self.changes)
        {
            return false;
        }
        self.changes.unchanged_since(generation, tags)
    }

    /// Waits (at most `deadline`) until every write this process committed has been
    /// announced to the other replicas — what a stopping server does last, so that no
    /// replica serves a stale cached read because this one went away. Immediate on
    /// SQLite, which has no other replicas to tell. Returns whether everything went out.
    pub async fn flush_announcements(&self, deadline: Duration) -> bool {
        let Some((announcer, _)) = &self.announcer else {
            return true;
        };
        let (done, flushed) = std::sync::mpsc::sync_channel(1);
        if announcer.send(Announcement::Flush(done)).is_err() {
            return false;
        }
        tokio::task::spawn_blocking(move || flushed.recv_timeout(deadline).is_ok())
            .await
            .unwrap_or(false)
    }

    /// How the connection pool is used right now.
    pub fn pool_use(&self) -> PoolUse {
        let state = self.pool.state();
        PoolUse {
            max: self.pool.max_size(),
            open: state.connections,
            idle: state.idle_connections,
        }
    }

    /// The engine behind this handle.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies every pending embedded migration; returns how many ran.
    pub async fn migrate(&self) -> Result<usize, RepoError> {
        self.run(|conn| {
            let applied = match conn {
                AnyConnection::Postgresql(c) => c.run_pending_migrations(PG_MIGRATIONS),
                AnyConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS),
            }
            .map_err(|e| RepoError::Internal(format!("migration failed: {e}")))?;
            Ok(applied.len())
        })
        .await
    }

    /// Runs `f` with a connection on the blocking pool (reads, or a single statement).
    pub async fn run<T, F>(&self, f: F) -> Result<T, RepoError>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, RepoError> + Send + 'static,
    {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|e| RepoError::Internal(e.to_string()))?;
        let pool = self.pool.clone();
        let reach = Arc::clone(&self.reach);
        let wait = if reach.is_unreachable() {
            WAIT_WHILE_UNREACHABLE.min(self.acquire_timeout)
        } else {
            self.acquire_timeout
        };
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut pooled = pool
                .get_timeout(wait)
                .map_err(|e| RepoError::Unavailable(format!("no database connection: {e}")))?;
            let started = Instant::now();
            let outcome = f(&mut pooled.conn);
            metrics::histogram!("warden_db_query_duration_seconds")
                .record(started.elapsed().as_secs_f64());
            match outcome {
                Ok(value) => {
                    pooled.last_ok = Instant::now();
                    reach.saw(true);
                    Ok(value)
                }
                // Most failures are the caller's (a conflict, a missing row); a
                // connection that no longer answers leaves the pool, and then the
                // failure was the database's, whatever the driver called it (an
                // administrator's shutdown, a cut connection): 503, not 500.
                Err(e) => {
                    pooled.broken = !pooled.probe();
                    if pooled.broken {
                        reach.saw(false);
                        return Err(match e {
                            RepoError::Unavailable(_) => e,
                            other => RepoError::Unavailable(format!(
                                "the database stopped answering: {other}"
                            )),
                        });
                    }
                    Err(e)
                }
            }
        })
        .await
        .map_err(|e| RepoError::Internal(format!("database task failed: {e}")))?
    }

    /// Runs `f` in one write transaction: committed if it returns `Ok`, rolled back
    /// otherwise. On SQLite, `f` runs on the writer thread inside a savepoint of a
    /// `BEGIN IMMEDIATE` transaction it may share with other writes waiting at the same
    /// time; its caller hears back once that transaction committed. Every cached read
    /// is retired afterwards; [`write_touching`](Self::write_touching) retires fewer.
    pub async fn write<T, F>(&self, f: F) -> Result<T, RepoError>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, RepoError> + Send + 'static,
    {
        self.write_touching(Touched::Everything, f).await
    }

    /// [`write`](Self::write) for a change that can only affect what `touched` names:
    /// cached reads depending on anything else stay valid.
    pub async fn write_touching<T, F>(&self, touched: Touched, f: F) -> Result<T, RepoError>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, RepoError> + Send + 'static,
    {
        self.write_with(touched, Framing::Transaction(None), f)
            .await
    }

    /// [`write_touching`](Self::write_touching) for a write that reads, checks and then
    /// writes something other writers may change at the same time: it runs under the
    /// lock `key` (see [`lock`]), taken with the transaction's `BEGIN` in one round trip.
    pub async fn write_locked<T, F>(&self, touched: Touched, key: i64, f: F) -> Result<T, RepoError>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, RepoError> + Send + 'static,
    {
        self.write_with(touched, Framing::Transaction(Some(key)), f)
            .await
    }

    /// [`write_touching`](Self::write_touching) for a change that PostgreSQL makes in a
    /// single statement, atomic on its own: it runs without `BEGIN` and `COMMIT`, two
    /// round trips fewer. `f` must send exactly one writing statement there. On SQLite
    /// it runs like any other write.
    pub async fn write_statement<T, F>(&self, touched: Touched, f: F) -> Result<T, RepoError>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, RepoError> + Send + 'static,
    {
        self.write_with(touched, Framing::Statement, f).await
    }

    async fn write_with<T, F>(
        &self,
        touched: Touched,
        framing: Framing,
        f: F,
    ) -> Result<T, RepoError>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, RepoError> + Send + 'static,
    {
        let outcome = match (&self.writer, framing) {
            // One writer at a time already: the lock is implied.
            (Some(writer), _) => writer.write(f).await,
            (None, Framing::Transaction(lock)) => {
                self.run(move |conn| write_transaction(conn, lock, f)).await
            }
            (None, Framing::Statement) => self.run(f).await,
        };
        // On PostgreSQL, also after a failure, as below. Fails only once the announcer
        // is gone, and with it the process.
        let heard = self.announcer.as_ref().and_then(|(announcer, solitude)| {
            if solitude.alone() {
                let _ = announcer.send(Announcement::Write(touched.payload(), None));
                return None;
            }
            let (heard, told) = tokio::sync::oneshot::channel();
            let _ = announcer.send(Announcement::Write(touched.payload(), Some(heard)));
            Some(told)
        });
        // After the commit, so that a reader that loaded before it counts as older.
        // Also after a failure: a failed commit may still have changed something.
        self.changes.record(&touched);
        // The reply waits until every other replica has heard of the write: a
        // revocation answered here is enforced there on the next request. (With no
        // other replica listening, a new one warms up longer than we skip waiting.)
        if let Some(told) = heard {
            let _ = tokio::time::timeout(ANNOUNCEMENT_WAIT, told).await;
        }
        outcome
    }
}

/// How a PostgreSQL write is framed.
enum Framing {
    /// In a transaction, under the advisory lock if one is given.
    Transaction(Option<i64>),
    /// As the single statement it is, without a transaction around it.
    Statement,
}

/// Call before this process opens its first PostgreSQL connection. libpq speaks TLS
/// through OpenSSL, which by default frees its global state in an `atexit` handler;
/// the listener and announcer threads may still be inside OpenSSL when the process
/// exits, and then the exit crashes (SIGSEGV in libcrypto, seen at the end of a test
/// run). Initializing OpenSSL first without that handler (`OPENSSL_INIT_NO_ATEXIT`,
/// what `openssl_sys::init` asks for) leaves the state to the operating system.
pub(crate) fn before_first_postgres_connection() {
    openssl_sys::init();
}

fn create_parent(path: &Path) -> Result<(), RepoError> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir)
            .map_err(|e| RepoError::Unavailable(format!("cannot create {}: {e}", dir.display()))),
        _ => Ok(()),
    }
}

/// One PostgreSQL write transaction. SQLite writes go through [`Writer`] instead; what
/// it touched is announced (see [`crate::announcements`]) once this returns.
fn write_transaction<T>(
    conn: &mut AnyConnection,
    lock: Option<i64>,
    f: impl FnOnce(&mut AnyConnection) -> Result<T, RepoError>,
) -> Result<T, RepoError> {
    let begin = match lock {
        Some(key) => format!("BEGIN; SELECT pg_advisory_xact_lock({key})"),
        None => "BEGIN".to_owned(),
    };
    AnsiTransactionManager::begin_transaction_sql(postgres(conn)?, &begin).map_err(map_diesel)?;
    let outcome = f(conn);
    let c = postgres(conn)?;
    match outcome {
        Ok(value) => match AnsiTransactionManager::commit_transaction(c) {
            Ok(()) => Ok(value),
            Err(e) => Err(map_diesel(e)),
        },
        Err(e) => {
            // The caller's error is the one to report; a failed rollback leaves the
            // connection broken, and the pool's probe drops it.
            let _ = AnsiTransactionManager::rollback_transaction(c);
            Err(e)
        }
    }
}

fn postgres(conn: &mut AnyConnection) -> Result<&mut PgConnection, RepoError> {
    match conn {
        AnyConnection::Postgresql(c) => Ok(c),
        AnyConnection::Sqlite(_) => Err(RepoError::Internal(
            "SQLite writes go through the writer thread".into(),
        )),
    }
}

/// A stable advisory-lock key for a UUID-identified thing within a namespace (the
/// same in every replica, unlike a process-local hash).
pub fn lock_key(namespace: u8, ids: &[uuid::Uuid]) -> i64 {
    let mut key = u64::from(namespace) << 56;
    for id in ids {
        let bytes = id.as_bytes();
        let mut half = [0u8; 8];
        half.copy_from_slice(&bytes[..8]);
        key ^= u64::from_be_bytes(half).rotate_left(u32::from(namespace));
    }
    i64::from_ne_bytes(key.to_ne_bytes())
}

/// [`lock_key`] for a thing identified by text: a stable 64-bit FNV-1a hash of it,
/// the same in every replica and every build.
pub fn text_lock_key(namespace: u8, text: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    let key = (u64::from(namespace) << 56) ^ (hash >> 8);
    i64::from_ne_bytes(key.to_ne_bytes())
}

/// Serializes writers that read-check-then-write the same thing (the first user, a
/// group's member list). PostgreSQL: a transaction-scoped advisory lock on `key`.
/// SQLite: nothing to do, `BEGIN IMMEDIATE` already admits one writer at a time.
pub fn lock(conn: &mut AnyConnection, key: i64) -> Result<(), RepoError> {
    match conn {
        AnyConnection::Postgresql(c) => c
            .batch_execute(&format!("SELECT pg_advisory_xact_lock({key})"))
            .map_err(map_diesel),
        AnyConnection::Sqlite(_) => Ok(()),
    }
}

/// Takes several [`lock`]s in the order given, in one statement on PostgreSQL (kept
/// prepared, whatever the number of keys).
pub fn lock_all(conn: &mut AnyConnection, keys: &[i64]) -> Result<(), RepoError> {
    match conn {
        AnyConnection::Postgresql(c) if !keys.is_empty() => {
            let locks = KeptQuery::new(
                "SELECT pg_advisory_xact_lock(k) \
                 FROM unnest($1::int8[]) WITH ORDINALITY AS t(k, n) ORDER BY n",
            )
            .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(keys);
            diesel::RunQueryDsl::execute(locks, c)
                .map(drop)
                .map_err(map_diesel)
        }
        _ => Ok(()),
    }
}
