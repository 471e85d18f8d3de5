//! Rules shared by every free-text field people type (absence and correction reasons, evidence
//! notes, positioning answers, jury notes, revocation reasons).
//!
//! One rule for both backends: PostgreSQL cannot store NUL in text at all, and other control
//! characters (terminal escapes, bell…) have no place in a note that the CLI prints and the PDF
//! documents draw. Tabs and line breaks stay: notes may span several lines.

/// Why `text` cannot be stored as a free-text note (a French reason), if it cannot.
pub fn control_character_problem(text: &str) -> Option<String> {
    let found = text.chars().find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))?;
    Some(format!("caractère de contrôle interdit (U+{:04X}) : retirez-le du texte", u32::from(found)))
}

#[cfg(test)]
mod tests {
    use super::control_character_problem;

    #[test]
    fn nul_and_escapes_are_refused_line_breaks_are_not() {
        for bad in ["a\0b", "\u{1b}[31m", "bip\u{7}", "\u{7f}", "\u{85}"] {
            assert!(control_character_problem(bad).is_some(), "{bad:?}");
        }
        for good in ["", "Ligne 1\nLigne 2\r\n\tsuite", "<script>alert(1)</script>", "\u{202E}abc", "\u{feff}"] {
            assert_eq!(control_character_problem(good), None, "{good:?}");
        }
        assert!(control_character_problem("a\0").unwrap().contains("U+0000"));
    }
}
