//! SQLite admits one writer at a time. Instead of queueing writers for the file lock,
//! one transaction each, every SQLite write goes to one writer thread that owns a
//! connection and commits whatever is waiting together: one `BEGIN IMMEDIATE … COMMIT`
//! per batch, each write in its own savepoint so that a failing write rolls back
//! alone. A caller learns its outcome only once its batch has committed.
//!
//! Writes still run one after another, in arrival order, each seeing the ones before
//! it: the serial order SQLite gave them before, minus a commit, a thread hand-off and
//! a pool checkout per write.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::result::Error as DieselError;
use warden_domain::RepoError;

use crate::db::AnyConnection;
use crate::error::map_diesel;

/// Writes committed together at most; a batch holds its callers until it commits.
const MAX_BATCH: usize = 64;

/// A queued write: run it on the writer's connection (or, with `None`, fail it
/// unrun), and get back how to tell its caller once the batch's fate is known.
type Job = Box<dyn FnOnce(Option<&mut AnyConnection>) -> Deliver + Send>;
/// Tells a caller its outcome, given whether its batch committed.
type Deliver = Box<dyn FnOnce(Result<(), String>) + Send>;

/// The handle to the writer thread; dropping the last one stops the thread.
pub(crate) struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer thread on `conn`, a SQLite connection.
    pub(crate) fn start(conn: AnyConnection) -> Result<Self, RepoError> {
        let (jobs, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("warden-sqlite-writer".into())
            .spawn(move || run(conn, queue))
            .map_err(|e| RepoError::Internal(format!("cannot start the SQLite writer: {e}")))?;
        Ok(Self { jobs })
    }

    /// Runs `f` in the next batch; its changes are kept if it returns `Ok` and the
    /// batch commits, and undone otherwise.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, RepoError>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, RepoError> + Send + 'static,
    {
        let (done, outcome) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let result = match conn {
                Some(conn) => in_savepoint(conn, f),
                None => Err(RepoError::Unavailable(
                    "the write transaction could not begin".into(),
                )),
            };
            Box::new(move |committed: Result<(), String>| {
                let _ = done.send(committed.map_err(RepoError::Unavailable).and(result));
            })
        });
        self.jobs
            .send(job)
            .map_err(|_| RepoError::Internal("the SQLite writer has stopped".into()))?;
        outcome
            .await
            .map_err(|_| RepoError::Internal("the SQLite writer dropped a write".into()))?
    }
}

fn run(mut conn: AnyConnection, queue: mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        metrics::histogram!("warden_db_commit_batch_size").record(batch.len() as f64);
        commit_batch(&mut conn, batch);
    }
}

fn commit_batch(conn: &mut AnyConnection, batch: Vec<Job>) {
    if let Err(e) = with_sqlite(conn, |c| {
        AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")
    }) {
        let reason = format!("cannot begin a write transaction: {e}");
        for job in batch {
            job(None)(Err(reason.clone()));
        }
        return;
    }
    let delivers: Vec<Deliver> = batch.into_iter().map(|job| job(Some(conn))).collect();
    let committed = with_sqlite(conn, AnsiTransactionManager::commit_transaction).map_err(|e| {
        let _ = with_sqlite(conn, AnsiTransactionManager::rollback_transaction);
        format!("the write transaction did not commit: {e}")
    });
    for deliver in delivers {
        deliver(committed.clone());
    }
}

/// Runs `f` inside a savepoint of the batch's transaction: released if `f` succeeds,
/// rolled back if it fails or panics.
fn in_savepoint<T>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> Result<T, RepoError>,
) -> Result<T, RepoError> {
    with_sqlite(conn, AnsiTransactionManager::begin_transaction).map_err(map_diesel)?;
    let outcome = catch_unwind(AssertUnwindSafe(|| f(conn)))
        .unwrap_or_else(|_| Err(RepoError::Internal("a database write panicked".into())));
    let end = match outcome {
        Ok(_) => with_sqlite(conn, AnsiTransactionManager::commit_transaction),
        Err(_) => with_sqlite(conn, AnsiTransactionManager::rollback_transaction),
    };
    match (outcome, end) {
        (Ok(value), Ok(())) => Ok(value),
        (Ok(_), Err(e)) => Err(map_diesel(e)),
        (Err(e), _) => Err(e),
    }
}

fn with_sqlite(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut diesel::SqliteConnection) -> Result<(), DieselError>,
) -> Result<(), DieselError> {
    match conn {
        AnyConnection::Sqlite(c) => f(c),
        AnyConnection::Postgresql(_) => Err(DieselError::QueryBuilderError(
            "the group-commit writer serves SQLite only".into(),
        )),
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)] // a test's setup failing is the test failing
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use diesel::sql_types::BigInt;

    use super::*;

    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    fn count(conn: &mut AnyConnection) -> Result<i64, RepoError> {
        let rows: Vec<Count> = diesel::sql_query("SELECT count(*) AS n FROM t")
            .load(conn)
            .map_err(map_diesel)?;
        Ok(rows.first().map_or(0, |c| c.n))
    }

    fn writer() -> (Writer, tempfile_path::Scratch) {
        let scratch = tempfile_path::Scratch::new();
        let open = || {
            let mut c = diesel::SqliteConnection::establish(&scratch.path).expect("open");
            c.batch_execute("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000;")
                .expect("pragmas");
            AnyConnection::Sqlite(c)
        };
        let mut setup = open();
        setup
            .batch_execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
            .expect("table");
        (Writer::start(open()).expect("start"), scratch)
    }

    /// A scratch database file, removed on drop.
    mod tempfile_path {
        pub struct Scratch {
            pub path: String,
        }
        impl Scratch {
            pub fn new() -> Self {
                let path = std::env::temp_dir().join(format!(
                    "warden-group-commit-{}-{}.db",
                    std::process::id(),
                    uuid::Uuid::new_v4()
                ));
                Self {
                    path: path.to_string_lossy().into_owned(),
                }
            }
        }
        impl Drop for Scratch {
            fn drop(&mut self) {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", self.path));
                }
            }
        }
    }

    fn insert(id: i64) -> impl FnOnce(&mut AnyConnection) -> Result<(), RepoError> {
        move |conn| {
            diesel::sql_query(format!("INSERT INTO t (id) VALUES ({id})"))
                .execute(conn)
                .map(|_| ())
                .map_err(map_diesel)
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_each_keep_or_lose_only_their_own_changes() {
        let (writer, _scratch) = writer();
        let writer = std::sync::Arc::new(writer);
        let mut tasks = tokio::task::JoinSet::new();
        for id in 0..200i64 {
            let writer = std::sync::Arc::clone(&writer);
            tasks.spawn(async move {
                // Every tenth write inserts and then fails: its insert must vanish.
                let outcome = writer
                    .write(move |conn| {
                        insert(id)(conn)?;
                        if id % 10 == 0 {
                            return Err(RepoError::Conflict(format!("refused {id}")));
                        }
                        Ok(id)
                    })
                    .await;
                (id, outcome)
            });
        }
        while let Some(joined) = tasks.join_next().await {
            let (id, outcome) = joined.expect("join");
            match outcome {
                Ok(got) => assert_eq!(got, id),
                Err(RepoError::Conflict(what)) => assert_eq!(what, format!("refused {id}")),
                Err(other) => panic!("write {id}: {other}"),
            }
        }
        let committed = writer.write(count).await.expect("count");
        assert_eq!(committed, 180, "the 20 refused writes left nothing behind");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_write_fails_alone_and_the_writer_goes_on() {
        let (writer, _scratch) = writer();
        writer.write(insert(1)).await.expect("first write");
        let panicked = writer
            .write(|conn| -> Result<(), RepoError> {
                insert(2)(conn)?;
                panic!("a bug in a write")
            })
            .await;
        assert!(
            matches!(panicked, Err(RepoError::Internal(_))),
            "{panicked:?}"
        );
        writer.write(insert(3)).await.expect("the writer survives");
        assert_eq!(writer.write(count).await.expect("count"), 2);
        // A constraint violation is the caller's error and rolls back only its write.
        let duplicate = writer.write(insert(3)).await;
        assert!(
            matches!(duplicate, Err(RepoError::Conflict(_))),
            "{duplicate:?}"
        );
        assert_eq!(writer.write(count).await.expect("count"), 2);
    }
}
