//! QR codes for web pages, as inline SVG (vector, no image file, allowed by the pages' CSP).

use super::pdf::PdfError;

/// An SVG QR code of `data`, at least `size` pixels wide, without the XML declaration so it can be
/// placed inside an HTML page.
pub fn qr_svg(data: &str, size: u32) -> Result<String, PdfError> {
    let code = qrcode::QrCode::with_error_correction_level(data.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| PdfError::Qr(e.to_string()))?;
    let svg = code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(size, size).quiet_zone(true).build();
    Ok(match svg.find("<svg") {
        Some(start) => svg[start..].to_owned(),
        None => svg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_codes_are_inline_svg() {
        let svg = qr_svg("http://127.0.0.1:8080/checkin?code=K7M2QX", 200).unwrap_or_default();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"));
    }
}
