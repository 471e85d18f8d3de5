//! One module per noun, each with its clap arguments and a `run` that calls `lms-core`.

pub mod adjustment;
pub mod assess;
pub mod attendance;
pub mod backup;
pub mod certify;
pub mod complaint;
pub mod course;
pub mod db;
pub mod documents;
pub mod enrolment;
pub mod export;
pub mod fixtures;
pub mod jury;
pub mod keys;
pub mod mail;
pub mod quality;
pub mod report;
pub mod session;
pub mod survey;
pub mod user;
pub mod venue;

/// A training session typed at the console: its identifier or its reference (`PTL-NA-DEMO-0`).
pub fn find_session(
    conn: &mut lms_core::DbConn,
    id_or_reference: &str,
) -> Result<lms_core::db::ids::TrainingSessionId, crate::Failure> {
    Ok(lms_core::attendance::records::find_session(conn, id_or_reference)?)
}

/// A UTF-8 text file to import, or the standard input for `-`.
pub fn read_input(file: &std::path::Path) -> Result<String, crate::Failure> {
    let bytes = if file.as_os_str() == "-" {
        let mut buffer = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buffer)
            .map_err(|e| crate::Failure::new("io_error", format!("lecture de l'entrée standard impossible : {e}")))?;
        buffer
    } else {
        std::fs::read(file)
            .map_err(|e| crate::Failure::new("io_error", format!("lecture de {} impossible : {e}", file.display())))?
    };
    String::from_utf8(bytes)
        .map_err(|_| crate::Failure::new("invalid_encoding", format!("{} n'est pas en UTF-8", file.display())))
}
