//! Regulatory reports computed from the data, never typed in:
//! - [`bpf`]: the Bilan pédagogique et financier (Cerfa 10443, cadres A to H), completed by what
//!   the office enters for the year;
//! - [`outcomes`]: the indicators a certified organisation publishes (Qualiopi indicators 2 and 3);
//! - [`coverage`]: the share of a region's population within N estimated minutes of a venue
//!   hosting sessions, and the communes left out.

pub mod bpf;
pub mod coverage;
pub mod outcomes;

use crate::db::DbError;
use crate::{Classify, ErrorKind};

/// Errors of reports.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Malformed input.
    #[error("{0}")]
    Invalid(String),
    /// Storage failure.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl Classify for ReportError {
    fn kind(&self) -> ErrorKind {
        match self {
            ReportError::Invalid(_) => ErrorKind::Invalid,
            ReportError::Db(e) => e.kind(),
        }
    }
    fn code(&self) -> &'static str {
        match self {
            ReportError::Invalid(_) => "invalid_input",
            ReportError::Db(e) => e.code(),
        }
    }
}
