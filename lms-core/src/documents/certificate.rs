//! The certificate (parchemin) of a certification: who, what, when, which units, the number, and a
//! QR code to the public verification page. The signed credential is attached to the file so that
//! the PDF itself can be verified offline (`lms certify verify FILE`): the file is PDF/A-3a (and
//! PDF/UA-1), the one part of PDF/A that allows an attachment, declared as the document's
//! associated file (`/AF`).

use chrono::NaiveDate;

use super::pdf::{Attachment, Colour, Conformance, DocumentInfo, PageFormat, PdfBuilder, PdfError, Role, TextStyle};
use crate::locale::short_date_fr;

/// Name of the attached credential inside the PDF.
pub const CREDENTIAL_ATTACHMENT: &str = "open-badge-credential.jwt";

/// Everything printed on a certificate.
#[derive(Debug, Clone)]
pub struct CertificateDocument {
    /// Certificate number (`RS5142-2026-0001`).
    pub number: String,
    /// Holder's full name as certified.
    pub holder_name: String,
    /// Certification title.
    pub certification_title: String,
    /// Registry code (`RS5142`).
    pub registry_code: String,
    /// Certifier.
    pub certifier: String,
    /// Award date.
    pub awarded_on: NaiveDate,
    /// Units validated: number and title.
    pub units: Vec<(i32, String)>,
    /// Public verification page, encoded in the QR code.
    pub verification_url: String,
    /// Verification code, printed for people who type it.
    pub verification_code: String,
    /// The signed credential (VC-JWT), attached to the file.
    pub credential_jwt: String,
}

/// Renders the certificate on one A4 landscape page.
pub fn render_certificate(doc: &CertificateDocument) -> Result<Vec<u8>, PdfError> {
    let mut pdf = PdfBuilder::new(DocumentInfo {
        title: format!("Certificat {} — {}", doc.number, doc.certification_title),
        author: doc.certifier.clone(),
        subject: format!("Certification {} délivrée à {}", doc.registry_code, doc.holder_name),
        date: Some(doc.awarded_on),
        conformance: Conformance::ArchivalA3,
    });
    pdf.attach(Attachment {
        name: CREDENTIAL_ATTACHMENT.into(),
        mime_type: "application/vc+jwt".into(),
        description: "Open Badges 3.0 OpenBadgeCredential signé (VC-JWT, EdDSA)".into(),
        data: doc.credential_jwt.as_bytes().to_vec(),
    });
    let mut page = pdf.page(PageFormat::A4Landscape);
    let (width, height) = (page.width(), page.height());
    page.frame(20.0, 20.0, width - 40.0, height - 40.0, 2.5, Colour::ACCENT);
    page.frame(28.0, 28.0, width - 56.0, height - 56.0, 0.6, Colour::ACCENT);

    page.centred(78.0, &TextStyle::muted(12.0), &doc.certifier);
    page.centred_as(Role::Heading(1), 122.0, &TextStyle::heading(30.0), "Certificat");
    page.centred(
        146.0,
        &TextStyle::muted(11.0),
        &format!("Certification enregistrée au Répertoire spécifique sous le n° {}", doc.registry_code),
    );
    page.centred(186.0, &TextStyle::body(13.0), "est décerné à");
    page.centred(218.0, &TextStyle::strong(24.0), &doc.holder_name);
    page.centred(250.0, &TextStyle::body(13.0), "pour la certification");
    let mut y = page.wrapped_centred(
        280.0,
        width - 200.0,
        &TextStyle::heading(20.0),
        &format!("« {} »", doc.certification_title),
    );
    y += 4.0;
    page.centred(
        y,
        &TextStyle::body(11.0),
        &format!("le {}, sur décision du jury, après validation des unités :", short_date_fr(doc.awarded_on)),
    );
    y += 20.0;
    let unit_style = TextStyle::body(10.0);
    for (number, title) in &doc.units {
        y = page.wrapped(150.0, y, width - 420.0, &unit_style, &format!("Unité {number} — {title}"));
        y += 2.0;
    }

    let qr_size = 118.0;
    let qr_x = width - 40.0 - qr_size - 12.0;
    let qr_y = height - 40.0 - qr_size - 12.0;
    page.qr_code(
        qr_x,
        qr_y,
        qr_size,
        &doc.verification_url,
        &format!("QR code vers la page de vérification du certificat : {}", doc.verification_url),
    )?;
    let small = TextStyle::muted(8.5);
    page.right_aligned(qr_x - 10.0, qr_y + 40.0, &TextStyle::strong(11.0), &format!("N° {}", doc.number));
    page.right_aligned(qr_x - 10.0, qr_y + 58.0, &small, "Vérifier l'authenticité et la validité :");
    page.right_aligned(qr_x - 10.0, qr_y + 71.0, &small, &doc.verification_url);
    page.right_aligned(qr_x - 10.0, qr_y + 84.0, &small, &format!("code de vérification : {}", doc.verification_code));
    page.right_aligned(
        qr_x - 10.0,
        qr_y + 97.0,
        &small,
        "Le certificat signé (Open Badges 3.0) est joint à ce fichier.",
    );
    page.text(60.0, height - 70.0, &TextStyle::muted(9.0), &format!("Délivré par {}", doc.certifier));
    page.finish();
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> CertificateDocument {
        CertificateDocument {
            number: "RS5142-2026-0001".into(),
            holder_name: "Aurélie FONTAINE".into(),
            certification_title: "Piloter un tiers-lieu".into(),
            registry_code: "RS5142".into(),
            certifier: "La Coopérative des Tiers-Lieux".into(),
            awarded_on: NaiveDate::from_ymd_opt(2026, 6, 30).unwrap_or_default(),
            units: vec![(1, "Élaborer et développer un projet stratégique de tiers-lieu".into())],
            verification_url: "https://formation.example.org/verify/abc".into(),
            verification_code: "abc".into(),
            credential_jwt: "eyJhbGciOiJFZERTQSIsInR5cCI6InZjK2p3dCIsImtpZCI6IiJ9.e30.sig".into(),
        }
    }

    #[test]
    fn the_same_certificate_renders_to_the_same_bytes_with_the_credential_attached() {
        let first = render_certificate(&sample()).unwrap_or_default();
        let second = render_certificate(&sample()).unwrap_or_default();
        assert!(first.starts_with(b"%PDF"));
        assert_eq!(first, second, "a lost PDF can be rebuilt with the stored hash");
        let text = String::from_utf8_lossy(&first);
        assert!(text.contains("<pdfaid:part>3</pdfaid:part>"), "PDF/A-3 declared");
        assert!(text.contains("/AF"), "the credential is an associated file");
        let jwt = sample().credential_jwt;
        assert!(first.windows(jwt.len()).any(|w| w == jwt.as_bytes()), "credential attached uncompressed");
    }
}
