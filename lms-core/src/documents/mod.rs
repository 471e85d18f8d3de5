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
pub mod evidence;
pub mod flow;
pub mod organisation;
pub mod qr;

use organisation::{OrganisationIdentity, SettingKey};

/// The settings a signed document (certificat de réalisation, attestation de fin de formation)
/// prints: the organisation's identity in its letterhead, where it is signed and who signs it.
pub const SIGNED_DOCUMENT_SETTINGS: [SettingKey; 7] = [
    SettingKey::Name,
    SettingKey::Siret,
    SettingKey::Nda,
    SettingKey::Address,
    SettingKey::Postcode,
    SettingKey::City,
    SettingKey::Representative,
];

/// Refuses, naming the first missing setting, when `identity` lacks one of `keys`: a signed
/// document is never printed with a placeholder.
pub fn require_settings(identity: &OrganisationIdentity, keys: &[SettingKey]) -> Result<(), PdfError> {
    let missing = identity.missing();
    match keys.iter().find(|key| missing.contains(key)) {
        Some(key) => Err(PdfError::MissingSetting(*key)),
        None => Ok(()),
    }
}
