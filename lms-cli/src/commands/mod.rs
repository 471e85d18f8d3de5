//! One module per noun, each with its clap arguments and a `run` that calls `lms-core`.

pub mod assess;
pub mod attendance;
pub mod backup;
pub mod certify;
pub mod course;
pub mod db;
pub mod documents;
pub mod enrolment;
pub mod export;
pub mod fixtures;
pub mod jury;
pub mod keys;
pub mod report;
pub mod session;
pub mod user;
pub mod venue;

/// A training session typed at the console: its identifier or its reference (`PTL-NA-DEMO-0`).
pub fn find_session(
    conn: &mut lms_core::DbConn,
    id_or_reference: &str,
) -> Result<lms_core::db::ids::TrainingSessionId, crate::Failure> {
    Ok(lms_core::attendance::records::find_session(conn, id_or_reference)?)
}
