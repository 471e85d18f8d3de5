//! Documents the organisation hands out, rendered as PDF: the certificate (parchemin) of a
//! certification today; attendance sheets, certificats de réalisation and attestations de fin de
//! formation build on the same toolkit.
//!
//! [`pdf`] is the reusable toolkit (A4 pages, embedded French-capable font, wrapped text, QR codes,
//! attachments); each document is one module that turns a plain data struct into bytes, with no
//! database access, so documents can be rendered in tests and benchmarks without storage.

pub mod certificate;
pub mod pdf;

pub use pdf::PdfError;
pub mod attendance_sheet;
pub mod attestation;
pub mod bpf;
pub mod completion;
pub mod convocation;
pub mod flow;
pub mod organisation;
pub mod qr;
