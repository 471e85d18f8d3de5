//! The Qualiopi quality file: what an auditor asks for, assembled from recorded data.
//!
//! Each part of the domain that proves an indicator (satisfaction, complaints, positioning,
//! disability adjustments…) describes its evidence as [`EvidenceTable`]s; `lms quality evidence`
//! writes each table as CSV and PDF, with an index naming each file and the indicator it proves.

use serde::Serialize;

/// One file of evidence: a titled table proving a Qualiopi indicator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvidenceTable {
    /// The Qualiopi indicator it proves (1 to 32).
    pub indicator: u8,
    /// File name without extension, unique in the bundle (e.g. `31-reclamations`).
    pub file_stem: String,
    /// Title printed on the PDF and in the index, in French.
    pub title: String,
    /// What the file shows and where its figures come from, in French (one or two sentences).
    pub description: String,
    /// Column headings, in French.
    pub columns: Vec<String>,
    /// One row per recorded item, as many cells as columns.
    pub rows: Vec<Vec<String>>,
}

pub mod evidence;
