//! diesel errors become [`RepoError`]s here and nowhere else.

use diesel::result::{DatabaseErrorKind, Error};
use warden_domain::RepoError;

/// Maps a diesel error to the domain's repository error.
pub fn map_diesel(e: Error) -> RepoError {
    match e {
        Error::NotFound => RepoError::NotFound,
        Error::DatabaseError(kind, info) => {
            let what = match info.constraint_name() {
                Some(name) => name.to_owned(),
                None => info.message().to_owned(),
            };
            match kind {
                DatabaseErrorKind::UniqueViolation => RepoError::Conflict(what),
                DatabaseErrorKind::ForeignKeyViolation => RepoError::MissingReference(what),
                DatabaseErrorKind::ClosedConnection => RepoError::Unavailable(what),
                DatabaseErrorKind::SerializationFailure => RepoError::Unavailable(what),
                _ if info.message().contains("database is locked") => RepoError::Unavailable(what),
                _ => RepoError::Internal(format!("{kind:?}: {}", info.message())),
            }
        }
        other => RepoError::Internal(other.to_string()),
    }
}
