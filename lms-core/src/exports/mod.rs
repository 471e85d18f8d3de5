//! Exports: CSV of what an administrator lists ([`csv`]); the holders file for the Caisse des
//! Dépôts (« Accrochage », [`accrochage`])
//! and the offer in LHEO 2.3 ([`lheo`]). Each export checks its data first and refuses, listing
//! every problem, rather than writing a file the recipient would reject.

pub mod accrochage;
pub mod csv;
pub mod lheo;

use std::io::Cursor;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use crate::db::DbError;
use crate::{Classify, ErrorKind};

/// Errors of exports.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The data cannot be exported as is: every problem, one per item.
    #[error("export refusé ({} problème(s)) : {}", .0.len(), .0.join(" ; "))]
    Refused(Vec<String>),
    /// Malformed input (dates, report file…).
    #[error("{0}")]
    Invalid(String),
    /// File system problem.
    #[error("{0}")]
    Io(String),
    /// Stored data that cannot be read back (a damaged JSON list): nothing is exported.
    #[error("donnée stockée illisible : {0}")]
    Corrupt(String),
    /// Storage failure.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl Classify for ExportError {
    fn kind(&self) -> ErrorKind {
        match self {
            ExportError::Refused(_) | ExportError::Invalid(_) => ErrorKind::Invalid,
            ExportError::Io(_) => ErrorKind::Unavailable,
            ExportError::Corrupt(_) => ErrorKind::Internal,
            ExportError::Db(e) => e.kind(),
        }
    }
    fn code(&self) -> &'static str {
        match self {
            ExportError::Refused(_) => "export_refused",
            ExportError::Invalid(_) => "invalid_input",
            ExportError::Io(_) => "io_error",
            ExportError::Corrupt(_) => "corrupt_data",
            ExportError::Db(e) => e.code(),
        }
    }
}

/// A streaming XML writer with the few shapes exports need (writing to memory cannot fail, so
/// errors are swallowed into an empty document that the caller's checks would catch).
pub(crate) struct XmlOut {
    writer: Writer<Cursor<Vec<u8>>>,
}

impl XmlOut {
    pub(crate) fn new() -> Self {
        let mut writer = Writer::new_with_indent(Cursor::new(Vec::new()), b' ', 2);
        let _ = writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
        XmlOut { writer }
    }

    pub(crate) fn open(&mut self, name: &str) {
        let _ = self.writer.write_event(Event::Start(BytesStart::new(name)));
    }

    pub(crate) fn open_with(&mut self, name: &str, attributes: &[(&str, &str)]) {
        let mut start = BytesStart::new(name);
        for (key, value) in attributes {
            start.push_attribute((*key, *value));
        }
        let _ = self.writer.write_event(Event::Start(start));
    }

    pub(crate) fn close(&mut self, name: &str) {
        let _ = self.writer.write_event(Event::End(BytesEnd::new(name)));
    }

    pub(crate) fn leaf(&mut self, name: &str, text: &str) {
        let _ = self.writer.create_element(name).write_text_content(BytesText::new(text));
    }

    pub(crate) fn leaf_with(&mut self, name: &str, attributes: &[(&str, &str)], text: &str) {
        let mut element = self.writer.create_element(name);
        for attribute in attributes {
            element = element.with_attribute(*attribute);
        }
        let _ = element.write_text_content(BytesText::new(text));
    }

    pub(crate) fn nil(&mut self, name: &str) {
        let _ = self.writer.create_element(name).with_attribute(("xsi:nil", "true")).write_empty();
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        let mut bytes = self.writer.into_inner().into_inner();
        bytes.push(b'\n');
        bytes
    }
}

/// True when every character may appear in XML 1.0 text.
pub(crate) fn is_xml_text(text: &str) -> bool {
    text.chars().all(|c| matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{fffe}' && c != '\u{ffff}'))
}

/// Writes `bytes` to `path` through a temporary file in the same folder, then returns the
/// temporary path; the caller renames it once the database agrees.
pub(crate) fn write_temporary(path: &std::path::Path, bytes: &[u8]) -> Result<std::path::PathBuf, ExportError> {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    if !parent.is_dir() {
        return Err(ExportError::Io(format!("le dossier {} n'existe pas", parent.display())));
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "export.xml".into());
    let temporary = parent.join(format!(".{name}.tmp"));
    std::fs::write(&temporary, bytes)
        .map_err(|e| ExportError::Io(format!("écriture de {} impossible : {e}", temporary.display())))?;
    Ok(temporary)
}

/// Moves a temporary file into place.
pub(crate) fn commit_file(temporary: &std::path::Path, path: &std::path::Path) -> Result<(), ExportError> {
    std::fs::rename(temporary, path)
        .map_err(|e| ExportError::Io(format!("écriture de {} impossible : {e}", path.display())))
}
