//! Drawn signatures: what a trainee traces with a finger on the trainer's device, kept as vector
//! strokes (not an image), so that it is small, exact, and can be redrawn on the printed sheet.
//!
//! Wire and stored format (JSON): `{"width": W, "height": H, "strokes": [[[x, y], …], …]}` with
//! the canvas size in pixels and integer coordinates inside it. The stored text is the canonical
//! re-encoding of what was received (sorted keys, integers), and its SHA-256 is the evidence hash
//! kept in the ledger entry next to it.
//!
//! A signature must be a drawing, not a tap or a dot: at least [`MIN_DISTINCT_POINTS`] different
//! points (after rounding and clamping to the canvas), spread over at least [`min_extent`] units
//! in width or in height. The thresholds are low on purpose (a short paraph on the 600 × 220 pad
//! of the trainer's page spans far more): they refuse what cannot be anyone's signature, such as
//! five identical points or a scribble a few pixels wide, not a small signature.

use serde::{Deserialize, Serialize};

use super::AttendanceError;

/// Most strokes accepted in one signature.
pub const MAX_STROKES: usize = 60;
/// Most points accepted in one signature, all strokes together.
pub const MAX_POINTS: usize = 5_000;
/// Fewest points that make a signature (refuses an empty pad or a stray tap).
pub const MIN_POINTS: usize = 5;
/// Fewest different points that make a signature (refuses the same point sent again and again).
pub const MIN_DISTINCT_POINTS: usize = 5;
/// Smallest extent, in canvas units, that a signature must reach in width or in height, whatever
/// the canvas.
pub const MIN_EXTENT_UNITS: u32 = 10;

/// Why an empty pad (or a tap) is refused: what the person holding the device reads.
pub const EMPTY_PAD: &str = "Le cadre de signature est vide : la personne signe dans le cadre avec le doigt ou un stylet, puis vous enregistrez.";

/// A refusal of what was drawn, worded for the person at the device: why, then what to do.
fn refused(why: String) -> AttendanceError {
    AttendanceError::Invalid(format!("Signature non enregistrée : {why}."))
}

/// The extent a signature must reach in width or in height on a `width` × `height` canvas:
/// 1/40 of the longer side (15 units on the trainer's 600 × 220 pad), never under
/// [`MIN_EXTENT_UNITS`].
pub fn min_extent(width: u32, height: u32) -> u32 {
    (width.max(height) / 40).max(MIN_EXTENT_UNITS)
}

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
    /// Parses and checks a signature sent by a client. Points outside the canvas are clamped; a
    /// signature that is not a drawing (too few different points, too small) is refused.
    pub fn parse(raw: &str) -> Result<Self, AttendanceError> {
        let signature = Self::decode(raw)?;
        signature.check_drawing()?;
        Ok(signature)
    }

    /// Refuses a signature that cannot be a drawing (see the module documentation).
    fn check_drawing(&self) -> Result<(), AttendanceError> {
        let mut distinct: Vec<[u32; 2]> = self.strokes.iter().flatten().copied().collect();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() < MIN_DISTINCT_POINTS {
            return Err(refused(format!(
                "le tracé ne compte que {} point{} différent{} ; un simple appui ne suffit pas : signez à nouveau dans le cadre",
                distinct.len(),
                if distinct.len() > 1 { "s" } else { "" },
                if distinct.len() > 1 { "s" } else { "" },
            )));
        }
        let span = |axis: usize| {
            let values = distinct.iter().map(|p| p[axis]);
            values.clone().max().unwrap_or(0) - values.min().unwrap_or(0)
        };
        let (span_x, span_y) = (span(0), span(1));
        let needed = min_extent(self.width, self.height);
        if span_x < needed && span_y < needed {
            return Err(refused(format!(
                "le tracé est trop petit ({span_x} × {span_y} points ; il doit couvrir au moins {needed} points en \
                 largeur ou en hauteur) : signez à nouveau, en plus grand"
            )));
        }
        Ok(())
    }

    /// Parses the format only (frame, limits, clamping), without the drawing check.
    fn decode(raw: &str) -> Result<Self, AttendanceError> {
        let invalid = |why: &str| refused(why.to_owned());
        if raw.trim().is_empty() {
            return Err(AttendanceError::Invalid(EMPTY_PAD.to_owned()));
        }
        if raw.len() > 200_000 {
            return Err(invalid("le tracé reçu est trop lourd ; effacez le cadre et signez plus simplement"));
        }
        let received: ReceivedSignature = serde_json::from_str(raw)
            .map_err(|_| invalid("le tracé reçu est illisible (page incomplète ou modifiée) ; rechargez la page"))?;
        let frame_ok = received.width.is_finite()
            && received.height.is_finite()
            && (50.0..=4_000.0).contains(&received.width)
            && (30.0..=4_000.0).contains(&received.height);
        if !frame_ok {
            return Err(invalid("le cadre de signature a une taille inattendue ; rechargez la page"));
        }
        if received.strokes.len() > MAX_STROKES {
            return Err(invalid(&format!(
                "le tracé compte plus de {MAX_STROKES} traits ; effacez le cadre et signez plus simplement"
            )));
        }
        let points: usize = received.strokes.iter().map(Vec::len).sum();
        if points > MAX_POINTS {
            return Err(invalid("le tracé compte trop de points ; effacez le cadre et signez plus simplement"));
        }
        if points < MIN_POINTS {
            return Err(AttendanceError::Invalid(EMPTY_PAD.to_owned()));
        }
        let (width, height) = (received.width.round() as u32, received.height.round() as u32);
        let clamp = |v: f64, max: u32| -> Result<u32, AttendanceError> {
            if !v.is_finite() {
                return Err(invalid("le tracé reçu est illisible (coordonnée non numérique) ; rechargez la page"));
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
    /// A signature stored before the drawing check existed is still read back and drawn.
    pub fn from_stored(stored: &str) -> Option<Self> {
        Self::decode(stored).ok()
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
        // Nothing in the refusals is a technical format description: each says what to do.
        for bad in ["", "   ", "{}", "not json", r#"{"width":300,"height":150,"strokes":[]}"#] {
            let message = DrawnSignature::parse(bad).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(!message.contains('{') && !message.contains("width"), "{bad}: {message}");
        }
        for empty in
            ["", "  ", r#"{"width":300,"height":150,"strokes":[]}"#, r#"{"width":300,"height":150,"strokes":[[]]}"#]
        {
            assert_eq!(DrawnSignature::parse(empty).err().map(|e| e.to_string()).as_deref(), Some(EMPTY_PAD));
        }
    }

    fn signature(points: &[[i64; 2]]) -> String {
        serde_json::json!({"width": 600, "height": 220, "strokes": [points]}).to_string()
    }

    #[test]
    fn degenerate_signatures_are_refused_with_a_reason() {
        let five_same = signature(&[[100, 100]; 5]);
        let message = DrawnSignature::parse(&five_same).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("1 point différent ;") && message.contains("signez à nouveau"), "{message}");
        // Many points, but only four different ones (a tap repeated).
        let taps: Vec<[i64; 2]> = (0..400).map(|i| [100 + (i % 2) * 90, 100 + (i / 2 % 2) * 90]).collect();
        assert!(DrawnSignature::parse(&signature(&taps)).is_err());
        // Points outside the canvas clamp to one corner.
        assert!(
            DrawnSignature::parse(&signature(&[[-5, -5], [-9, -1], [-3, -8], [-7, -7], [-1, -2], [-4, -4]])).is_err()
        );
        // Different points, but a dot: 14 × 14 on a 600 × 220 pad (15 needed).
        let dot: Vec<[i64; 2]> = (0..15).map(|i| [300 + i, 100 + (14 - i)]).collect();
        let message = DrawnSignature::parse(&signature(&dot)).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("trop petit (14 × 14 points") && message.contains("au moins 15"), "{message}");
        // The same dot one unit wider is accepted (the threshold is the threshold), and so is a
        // flat stroke (a long paraph) or a tall one.
        let wider: Vec<[i64; 2]> = (0..16).map(|i| [300 + i, 100]).chain([[300, 101]]).collect();
        assert!(DrawnSignature::parse(&signature(&wider)).is_ok());
        let tall: Vec<[i64; 2]> = (0..6).map(|i| [300, 100 + i * 3]).collect();
        assert!(DrawnSignature::parse(&signature(&tall)).is_ok());
        // On the smallest canvas the floor applies.
        assert_eq!(min_extent(50, 30), MIN_EXTENT_UNITS);
        assert_eq!(min_extent(600, 220), 15);
        assert_eq!(min_extent(4_000, 3_000), 100);
    }

    #[test]
    fn stored_signatures_from_before_the_drawing_check_are_still_drawn() {
        let old = r#"{"height":220,"strokes":[[[0,0],[0,0],[0,0],[0,0],[0,0]]],"width":600}"#;
        assert!(DrawnSignature::parse(old).is_err());
        assert!(DrawnSignature::from_stored(old).is_some_and(|s| s.strokes[0].len() == 5));
    }
}
