//! Drawn signatures: what a trainee traces with a finger on the trainer's device, kept as vector
//! strokes (not an image), so that it is small, exact, and can be redrawn on the printed sheet.
//!
//! Wire and stored format (JSON): `{"width": W, "height": H, "strokes": [[[x, y], …], …]}` with
//! the canvas size in pixels and integer coordinates inside it. The stored text is the canonical
//! re-encoding of what was received (sorted keys, integers), and its SHA-256 is the evidence hash
//! kept in the ledger entry next to it.

use serde::{Deserialize, Serialize};

use super::AttendanceError;

/// Most strokes accepted in one signature.
pub const MAX_STROKES: usize = 60;
/// Most points accepted in one signature, all strokes together.
pub const MAX_POINTS: usize = 5_000;
/// Fewest points that make a signature (refuses an empty pad or a stray tap).
pub const MIN_POINTS: usize = 5;

/// A signature as received.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReceivedSignature {
    width: f64,
    height: f64,
    strokes: Vec<Vec<[f64; 2]>>,
}

/// A checked signature, in canonical form.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DrawnSignature {
    /// Canvas height in pixels (keys in alphabetical order: this is the canonical encoding).
    pub height: u32,
    /// Strokes, each a list of points.
    pub strokes: Vec<Vec<[u32; 2]>>,
    /// Canvas width in pixels.
    pub width: u32,
}

impl DrawnSignature {
    /// Parses and checks a signature sent by a client. Points outside the canvas are clamped.
    pub fn parse(raw: &str) -> Result<Self, AttendanceError> {
        let invalid = |why: &str| AttendanceError::Invalid(format!("signature tracée invalide : {why}"));
        if raw.len() > 200_000 {
            return Err(invalid("trop volumineuse"));
        }
        let received: ReceivedSignature =
            serde_json::from_str(raw).map_err(|_| invalid("format attendu {width, height, strokes}"))?;
        let frame_ok = received.width.is_finite()
            && received.height.is_finite()
            && (50.0..=4_000.0).contains(&received.width)
            && (30.0..=4_000.0).contains(&received.height);
        if !frame_ok {
            return Err(invalid("dimensions du cadre hors limites"));
        }
        if received.strokes.len() > MAX_STROKES {
            return Err(invalid("trop de traits"));
        }
        let points: usize = received.strokes.iter().map(Vec::len).sum();
        if points > MAX_POINTS {
            return Err(invalid("trop de points"));
        }
        if points < MIN_POINTS {
            return Err(invalid("le cadre est vide : signez avec le doigt ou le stylet"));
        }
        let (width, height) = (received.width.round() as u32, received.height.round() as u32);
        let clamp = |v: f64, max: u32| -> Result<u32, AttendanceError> {
            if !v.is_finite() {
                return Err(invalid("coordonnée non numérique"));
            }
            Ok(v.round().clamp(0.0, f64::from(max)) as u32)
        };
        let mut strokes = Vec::with_capacity(received.strokes.len());
        for stroke in received.strokes.iter().filter(|s| !s.is_empty()) {
            let mut out = Vec::with_capacity(stroke.len());
            for [x, y] in stroke {
                out.push([clamp(*x, width)?, clamp(*y, height)?]);
            }
            strokes.push(out);
        }
        Ok(DrawnSignature { height, strokes, width })
    }

    /// The canonical JSON text that is stored and hashed.
    pub fn canonical(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads back a stored canonical signature (None if it is not one, e.g. older free-form data).
    pub fn from_stored(stored: &str) -> Option<Self> {
        Self::parse(stored).ok()
    }

    /// Strokes scaled to fit a box of `box_width` × `box_height` (aspect ratio kept, centred),
    /// with at most `max_points` points per stroke so that printing stays light.
    pub fn fitted(&self, box_width: f32, box_height: f32, max_points: usize) -> Vec<Vec<(f32, f32)>> {
        let (w, h) = (self.width.max(1) as f32, self.height.max(1) as f32);
        let scale = (box_width / w).min(box_height / h);
        let (dx, dy) = ((box_width - w * scale) / 2.0, (box_height - h * scale) / 2.0);
        self.strokes
            .iter()
            .map(|stroke| {
                let step = stroke.len().div_ceil(max_points.max(2)).max(1);
                let mut points: Vec<(f32, f32)> = stroke
                    .iter()
                    .step_by(step)
                    .map(|[x, y]| (dx + *x as f32 * scale, dy + *y as f32 * scale))
                    .collect();
                if let Some([x, y]) = stroke.last()
                    && stroke.len() > 1
                    && (stroke.len() - 1) % step != 0
                {
                    points.push((dx + *x as f32 * scale, dy + *y as f32 * scale));
                }
                points
            })
            .collect()
    }

    /// An SVG path (`M x y L x y …`) of the strokes, for showing the signature on a page.
    pub fn svg_path(&self) -> String {
        let mut d = String::new();
        for stroke in &self.strokes {
            for (i, [x, y]) in stroke.iter().enumerate() {
                d.push_str(if i == 0 { "M" } else { "L" });
                d.push_str(&format!("{x} {y} "));
            }
        }
        d.trim_end().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_canonical_and_checked() {
        let raw = r#"{"strokes":[[[1.4,2],[10,20.6],[500,3]],[[5,5],[6,6]]],"width":300,"height":150.2}"#;
        let signature = DrawnSignature::parse(raw).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            signature.canonical(),
            r#"{"height":150,"strokes":[[[1,2],[10,21],[300,3]],[[5,5],[6,6]]],"width":300}"#
        );
        assert_eq!(DrawnSignature::from_stored(&signature.canonical()), Some(signature.clone()));
        assert!(signature.svg_path().starts_with("M1 2 L10 21"));
        let fitted = signature.fitted(150.0, 75.0, 100);
        assert_eq!(fitted.len(), 2);
        assert!(fitted.iter().flatten().all(|(x, y)| *x <= 150.0 && *y <= 75.0));
        for bad in [
            "",
            "{}",
            r#"{"width":300,"height":150,"strokes":[]}"#,
            r#"{"width":300,"height":150,"strokes":[[[1,1],[2,2]]]}"#,
            r#"{"width":10,"height":150,"strokes":[[[1,1],[2,2],[3,3],[4,4],[5,5]]]}"#,
            r#"{"width":300,"height":150,"strokes":[[[1,1],[2,2],[3,3],[4,4],[5,5]]],"extra":1}"#,
        ] {
            assert!(DrawnSignature::parse(bad).is_err(), "{bad}");
        }
    }
}
