//! How replicas on one PostgreSQL database tell each other what their writes touched,
//! so that none serves a cached read another one's write has made stale.
//!
//! Every committed write is announced with `NOTIFY` on [`CHANGES`], by a thread of
//! the writing process, after the commit (see [`spawn_announcer`]). Every replica
//! listens on a connection of its own ([`spawn_listener`]), records what it hears in
//! its [`ChangeLog`], and then acknowledges it on [`HEARD`]. A write's reply waits
//! until each listener connected to the database (PostgreSQL's own `pg_stat_activity`
//! names them) has acknowledged, at most [`ACKNOWLEDGEMENT_WAIT`]: once a client has
//! its reply, every replica it can ask next has retired what the write changed.
//!
//! Waiting costs a write a round trip to the announcer's connection, so a replica that
//! finds no other listener connected stops waiting for [`ALONE_FOR`] (its
//! [`Solitude`]), and a listener that connects serves no cached read for [`WARM_UP`],
//! which is longer: whatever write did not wait for it has committed before that
//! listener serves anything from its caches, and it retires everything then.
//!
//! A replica whose listener is not connected serves no cached read at all (it cannot
//! know what it missed), and retires everything once it listens again. An
//! announcement lost to a crash between commit and `NOTIFY` is covered by each
//! listener retiring everything every [`LOSS_BOUND`].

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl};

use crate::changes::{ChangeLog, Touched};
use crate::kept::KeptQuery;

/// The channel committed writes are announced on, with what they touched.
const CHANGES: &str = "warden_changes";

/// The channel listeners acknowledge announcements on.
const HEARD: &str = "warden_heard";

/// What a listening connection calls itself in `pg_stat_activity`, followed by its
/// replica's id: announcers count these to know whose acknowledgement to wait for.
const LISTENER_NAME: &str = "warden-listener:";

/// How long another replica's cached reads may miss a write whose announcement was lost
/// (its writer died between commit and `NOTIFY`): each listener retires everything
/// this often.
const LOSS_BOUND: Duration = Duration::from_secs(10);

/// The longest a write's reply waits for the other replicas' acknowledgements. A
/// listener that is connected but does not answer this long is stuck; the reply goes
/// out, and that replica's staleness is bounded by [`LOSS_BOUND`].
const ACKNOWLEDGEMENT_WAIT: Duration = Duration::from_secs(2);

/// How often a listener looks for announcements when no request does it first.
const LISTEN_POLL: Duration = Duration::from_millis(1);

/// How often an idle announcer reads off acknowledgements meant for others and counts
/// the other replicas' listeners again, so that its [`Solitude`] stays current.
const IDLE_RECOUNT: Duration = Duration::from_millis(100);

/// How long an announcer's count of no other listener holds, from the moment it asked:
/// writes answered within it do not wait for acknowledgements.
const ALONE_FOR: Duration = Duration::from_millis(500);

/// How long a listener that has just connected serves nothing cached. A replica that
/// counted no listener before this one connected stops waiting for it at most
/// [`ALONE_FOR`] later; twice that leaves room for the count's own round trip.
const WARM_UP: Duration = Duration::from_millis(1_000);

/// How often an announcer looks for acknowledgements while a writer waits.
const ACKNOWLEDGEMENT_POLL: Duration = Duration::from_micros(200);

/// What the announcer thread is asked to do.
pub(crate) enum Announcement {
    /// Announce a committed write (its [`Touched`] payload), and tell the waiting
    /// writer, if one waits, once every listening replica has acknowledged it.
    Write(String, Option<tokio::sync::oneshot::Sender<()>>),
    /// Report back once every write queued before this one is announced.
    Flush(std::sync::mpsc::SyncSender<()>),
}

/// Whether this replica's announcer last counted no other replica's listener, recently
/// enough (see [`ALONE_FOR`]) that a write need not wait for acknowledgements.
#[derive(Default)]
pub(crate) struct Solitude {
    until: Mutex<Option<Instant>>,
}

impl Solitude {
    pub(crate) fn alone(&self) -> bool {
        self.until
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some_and(|until| Instant::now() < until)
    }

    /// Records a count of the other listeners, asked for at `asked`.
    fn counted(&self, asked: Instant, listeners: usize) {
        *self.until.lock().unwrap_or_else(PoisonError::into_inner) =
            (listeners == 0).then(|| asked + ALONE_FOR);
    }
}

/// An announcement on the wire: `<replica>/<sequence> <payload>`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Framed<'a> {
    pub replica: &'a str,
    pub sequence: u64,
    pub payload: &'a str,
}

impl<'a> Framed<'a> {
    pub(crate) fn encode(replica: &str, sequence: u64, payload: &str) -> String {
        format!("{replica}/{sequence} {payload}")
    }

    /// `None` for anything not framed so: the caller retires everything then.
    pub(crate) fn decode(text: &'a str) -> Option<Self> {
        let (header, payload) = text.split_once(' ').unwrap_or((text, ""));
        let (replica, sequence) = header.split_once('/')?;
        if replica.is_empty() {
            return None;
        }
        Some(Self {
            replica,
            sequence: sequence.parse().ok()?,
            payload,
        })
    }
}

/// Starts the thread that announces this replica's committed writes, joining those
/// that queue up while one goes out into as few notifications as fit, and waiting
/// for the other listeners' acknowledgements before it tells their writers.
///
/// Announcing after the commit, not inside the transaction, matters: PostgreSQL
/// serializes the commits of notifying transactions under one database-wide lock held
/// across the WAL flush, which would cap every replica's writes together at one commit
/// per flush.
pub(crate) fn spawn_announcer(
    url: String,
    replica: String,
) -> (std::sync::mpsc::Sender<Announcement>, Arc<Solitude>) {
    let (queue, waiting) = std::sync::mpsc::channel::<Announcement>();
    let solitude = Arc::new(Solitude::default());
    let counted = Arc::clone(&solitude);
    let spawned = std::thread::Builder::new()
        .name("warden-pg-announce".into())
        .spawn(move || {
            let mut announcer = Announcer {
                url,
                replica,
                conn: None,
                sequence: 0,
                solitude: counted,
            };
            // Ends when every Database handle (and its sender) is gone.
            loop {
                let first = match waiting.recv_timeout(IDLE_RECOUNT) {
                    Ok(first) => first,
                    // Acknowledgements meant for other announcers are read off too,
                    // so that PostgreSQL's notification queue never waits for us.
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                        announcer.drain();
                        announcer.recount();
                        continue;
                    }
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                };
                let mut batch = Vec::new();
                let mut writers = Vec::new();
                let mut flushed = Vec::new();
                for item in std::iter::once(first).chain(waiting.try_iter().take(1_000)) {
                    match item {
                        Announcement::Write(payload, writer) => {
                            batch.push(payload);
                            writers.push(writer);
                        }
                        Announcement::Flush(done) => flushed.push(done),
                    }
                }
                if !batch.is_empty() {
                    announcer.announce(&Touched::join_payloads(&batch));
                }
                for writer in writers.into_iter().flatten() {
                    let _ = writer.send(());
                }
                for done in flushed {
                    let _ = done.send(());
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the change announcer");
    }
    (queue, solitude)
}

/// Counts the listeners of the other replicas connected to this database; `$1` is
/// [`LISTENER_NAME`], `$2` this replica's own listener.
const OTHER_LISTENERS: &str = "SELECT count(*) FROM pg_stat_activity \
      WHERE datname = current_database() \
        AND starts_with(application_name, $1) \
        AND application_name <> $2";

struct Announcer {
    url: String,
    replica: String,
    conn: Option<PgConnection>,
    sequence: u64,
    solitude: Arc<Solitude>,
}

impl Announcer {
    /// Sends the payloads under the next sequence number and waits for every other
    /// listener's acknowledgement of it. Failures are reported, not returned: the
    /// writes are committed whatever happens here.
    fn announce(&mut self, payloads: &[String]) {
        self.sequence += 1;
        let sequence = self.sequence;
        let Some(expected) = self.send(payloads, sequence) else {
            return;
        };
        let started = Instant::now();
        let mut acknowledged = HashSet::new();
        while acknowledged.len() < expected {
            let Some(conn) = self.conn.as_mut() else {
                return;
            };
            let mut broken = false;
            for notification in conn.notifications_iter() {
                let Ok(n) = notification else {
                    broken = true;
                    break;
                };
                if let Some(ack) = Framed::decode(&n.payload)
                    && ack.replica == self.replica
                    && ack.sequence >= sequence
                {
                    acknowledged.insert(ack.payload.to_owned());
                }
            }
            if broken {
                self.conn = None;
                return;
            }
            if started.elapsed() >= ACKNOWLEDGEMENT_WAIT {
                tracing::warn!(
                    expected,
                    acknowledged = acknowledged.len(),
                    "a listening replica did not acknowledge a write in time"
                );
                return;
            }
            std::thread::sleep(ACKNOWLEDGEMENT_POLL);
        }
    }

    /// Reads off (and drops) whatever acknowledgements have arrived.
    fn drain(&mut self) {
        if let Some(conn) = self.conn.as_mut()
            && conn.notifications_iter().any(|n| n.is_err())
        {
            self.conn = None;
        }
    }

    /// Counts the other replicas' listeners again, for [`Solitude`]. Only on a
    /// connection already open: without one, writes wait (and the next announcement
    /// connects).
    fn recount(&mut self) {
        let own_listener = self.own_listener();
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        let asked = Instant::now();
        let counted = KeptQuery::new(&format!("{OTHER_LISTENERS} AS listeners"))
            .bind::<diesel::sql_types::Text, _>(LISTENER_NAME)
            .bind::<diesel::sql_types::Text, _>(own_listener)
            .get_result::<Listeners>(conn);
        match counted {
            Ok(row) => self
                .solitude
                .counted(asked, usize::try_from(row.listeners).unwrap_or(1)),
            Err(e) => {
                tracing::warn!(error = %e, "cannot count the listening replicas");
                self.conn = None;
            }
        }
    }

    fn own_listener(&self) -> String {
        format!("{LISTENER_NAME}{}", self.replica)
    }

    /// Notifies, and counts in the same statement the listeners of the other replicas
    /// connected now (a listener that connects later retires everything anyway).
    /// `None` when the announcement could not go out, even on a fresh connection.
    fn send(&mut self, payloads: &[String], sequence: u64) -> Option<usize> {
        let own_listener = self.own_listener();
        for _ in 0..2 {
            let asked = Instant::now();
            let conn = match self.conn.as_mut() {
                Some(conn) => conn,
                None => match connect(&self.url, "warden-announcer", &[HEARD]) {
                    Ok(conn) => self.conn.insert(conn),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot connect to announce a write");
                        continue;
                    }
                },
            };
            let mut sent = Ok(0);
            for payload in payloads {
                let framed = Framed::encode(&self.replica, sequence, payload);
                // The notification is a volatile call in a subquery, so PostgreSQL
                // makes it exactly once, whatever the count finds.
                sent = KeptQuery::new(&format!(
                    "SELECT ({OTHER_LISTENERS}) AS listeners \
                     FROM (SELECT pg_notify($3, $4)) AS notified"
                ))
                .bind::<diesel::sql_types::Text, _>(LISTENER_NAME)
                .bind::<diesel::sql_types::Text, _>(&own_listener)
                .bind::<diesel::sql_types::Text, _>(CHANGES)
                .bind::<diesel::sql_types::Text, _>(framed)
                .get_result::<Listeners>(conn)
                .map(|row| usize::try_from(row.listeners).unwrap_or(0));
                if sent.is_err() {
                    break;
                }
            }
            match sent {
                Ok(listeners) => {
                    self.solitude.counted(asked, listeners);
                    return Some(listeners);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "a committed write could not be announced");
                    self.conn = None;
                }
            }
        }
        None
    }
}

#[derive(diesel::QueryableByName)]
struct Listeners {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    listeners: i64,
}

/// A connection named `name` (as `pg_stat_activity` shows it), listening on
/// `channels`.
fn connect(url: &str, name: &str, channels: &[&str]) -> Result<PgConnection, String> {
    let mut conn = PgConnection::establish(url).map_err(|e| e.to_string())?;
    let mut setup = format!("SET application_name = '{name}';");
    for channel in channels {
        setup.push_str(&format!("LISTEN {channel};"));
    }
    conn.batch_execute(&setup).map_err(|e| e.to_string())?;
    Ok(conn)
}

/// This replica's connection listening for the others' writes.
pub(crate) struct Listener {
    replica: String,
    state: Mutex<ListenerState>,
}

#[derive(Default)]
struct ListenerState {
    /// `None` while it is being (re-)established.
    conn: Option<PgConnection>,
    /// The latest sequence heard from each other replica, not yet acknowledged.
    unacknowledged: HashMap<String, u64>,
    /// Until when a connection just made serves nothing cached (see [`WARM_UP`]);
    /// `None` once it does.
    warming_until: Option<Instant>,
}

impl Listener {
    /// Records every announcement of another replica that has reached the connection,
    /// without waiting for more; the listener thread acknowledges them. Returns
    /// whether this replica is listening: when it is not, it cannot know what it has
    /// missed, and nothing cached may be served.
    pub(crate) fn take_in(&self, changes: &ChangeLog) -> bool {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let ListenerState {
            conn,
            unacknowledged,
            warming_until,
        } = &mut *state;
        let Some(listening) = conn.as_mut() else {
            return false;
        };
        let mut broken = false;
        for notification in listening.notifications_iter() {
            let Ok(n) = notification else {
                broken = true;
                break;
            };
            match Framed::decode(&n.payload) {
                Some(own) if own.replica == self.replica => {}
                Some(other) => {
                    changes.record(&Touched::from_payload(other.payload));
                    let latest = unacknowledged.entry(other.replica.to_owned()).or_default();
                    *latest = (*latest).max(other.sequence);
                }
                None => changes.record(&Touched::Everything),
            }
        }
        if broken {
            // Whatever was missed is retired; the listener thread reconnects.
            *conn = None;
            changes.record(&Touched::Everything);
            return false;
        }
        if let Some(until) = *warming_until {
            if Instant::now() < until {
                return false;
            }
            // A write that did not wait for this listener committed before now.
            changes.record(&Touched::Everything);
            *warming_until = None;
        }
        true
    }

    /// Acknowledges what was taken in, on the listening connection.
    fn acknowledge(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.unacknowledged.is_empty() {
            return;
        }
        let heard: Vec<_> = state.unacknowledged.drain().collect();
        let Some(conn) = state.conn.as_mut() else {
            return;
        };
        for (replica, sequence) in heard {
            let ack = Framed::encode(&replica, sequence, &self.replica);
            let sent = KeptQuery::new("SELECT pg_notify($1, $2)")
                .bind::<diesel::sql_types::Text, _>(HEARD)
                .bind::<diesel::sql_types::Text, _>(ack)
                .execute(conn);
            if let Err(e) = sent {
                tracing::warn!(error = %e, "cannot acknowledge an announcement");
                state.conn = None;
                return;
            }
        }
    }

    fn is_listening(&self) -> bool {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .conn
            .is_some()
    }
}

/// Starts listening for other replicas' writes on PostgreSQL: a thread keeps the
/// connection up, takes in what arrives every [`LISTEN_POLL`] (requests also take it
/// in as they consult the caches) and acknowledges it. Reconnects after an error,
/// retiring everything, since notifications may have been missed. Ends when the
/// change log is gone. `ready` is told once it first listens.
pub(crate) fn spawn_listener(
    url: String,
    replica: String,
    changes: Weak<ChangeLog>,
    ready: std::sync::mpsc::SyncSender<()>,
) -> Arc<Listener> {
    let listener = Arc::new(Listener {
        replica: replica.clone(),
        state: Mutex::new(ListenerState::default()),
    });
    let listening = Arc::clone(&listener);
    let name = format!("{LISTENER_NAME}{replica}");
    let spawned = std::thread::Builder::new()
        .name("warden-pg-listen".into())
        .spawn(move || {
            let mut swept = Instant::now();
            while changes.strong_count() > 0 {
                if !listening.is_listening() {
                    // Connected outside the lock: requests meanwhile find no
                    // connection (and serve nothing cached), not a wait.
                    match connect(&url, &name, &[CHANGES]) {
                        Ok(conn) => {
                            let mut state = listening
                                .state
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner);
                            state.conn = Some(conn);
                            state.warming_until = Some(Instant::now() + WARM_UP);
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot listen for changes; retrying");
                            std::thread::sleep(Duration::from_secs(1));
                            continue;
                        }
                    }
                    // Anything may have changed while no one was listening.
                    if let Some(current) = changes.upgrade() {
                        current.record(&Touched::Everything);
                    }
                    let _ = ready.try_send(());
                    swept = Instant::now();
                }
                let Some(current) = changes.upgrade() else {
                    return;
                };
                if swept.elapsed() >= LOSS_BOUND {
                    current.record(&Touched::Everything);
                    swept = Instant::now();
                }
                listening.take_in(&current);
                drop(current);
                listening.acknowledge();
                std::thread::sleep(LISTEN_POLL);
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the change listener");
    }
    listener
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_are_framed_with_their_replica_and_sequence() {
        let text = Framed::encode("9f2c", 42, "u:abc o:def");
        assert_eq!(text, "9f2c/42 u:abc o:def");
        assert_eq!(
            Framed::decode(&text),
            Some(Framed {
                replica: "9f2c",
                sequence: 42,
                payload: "u:abc o:def"
            })
        );
        assert_eq!(
            Framed::decode("9f2c/7"),
            Some(Framed {
                replica: "9f2c",
                sequence: 7,
                payload: ""
            })
        );
    }

    #[test]
    fn anything_else_is_not_an_announcement() {
        for text in ["", "*", "u:abc", "/1 *", "r/x *", "r/-1 *", "r/ *"] {
            assert_eq!(Framed::decode(text), None, "{text:?}");
        }
    }
}
