//! Character rules for text people type, one home for each kind of field:
//!
//! - free-text notes (absence and correction reasons, evidence notes, positioning answers, jury
//!   notes, revocation reasons): [`control_character_problem`];
//! - person names (display names, identity fields, jury members): [`name_character_problem`];
//! - e-mail addresses: [`email_character_problem`].
//!
//! One rule for both backends: PostgreSQL cannot store NUL in text at all, and other control
//! characters (terminal escapes, bell…) have no place in a note that the CLI prints and the PDF
//! documents draw. Tabs and line breaks stay in notes: they may span several lines.
//!
//! Bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) reorder what
//! follows them: `Zoé \u{202E}fdp.exe\u{202C}` prints as « Zoé exe.pdf », and a reason or a name can be made
//! to read backwards on a sheet, a certificate or a terminal. They are refused everywhere
//! ([`bidi_override_problem`], applied by the note rule too). Names and e-mail addresses refuse
//! every other invisible format character (Unicode general category Cf: zero-width space, word
//! joiner, byte-order mark, soft hyphen, the bidi marks U+200E, U+200F and U+061C…), so that two
//! names or addresses that look the same are the same; names keep U+200C and U+200D (ZWNJ, ZWJ),
//! which Persian, Indic scripts and emoji sequences need. Notes keep the other format characters:
//! they change nothing of how a line reads, and pasted text carries them.

/// Zero-width non-joiner and zero-width joiner: format characters that real names need.
const NAME_JOINERS: [char; 2] = ['\u{200C}', '\u{200D}'];

/// True for the characters of Unicode general category Cf (format), as of Unicode 15.1.
/// (The standard library has no general-category lookup; the list is short and stable.)
pub fn is_format_character(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    )
}

/// True for the bidirectional embeddings, overrides and isolates (U+202A–U+202E,
/// U+2066–U+2069): the characters that reorder the text after them.
pub fn is_bidi_override(c: char) -> bool {
    matches!(u32::from(c), 0x202A..=0x202E | 0x2066..=0x2069)
}

/// True for the bidi marks and controls (overrides, isolates, and the marks U+200E, U+200F,
/// U+061C).
fn is_bidi_control(c: char) -> bool {
    is_bidi_override(c) || matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}')
}

fn code_point(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

/// Why `text` cannot be stored as a free-text note (a French reason), if it cannot: a control
/// character other than tab and line breaks, or a bidi override ([`bidi_override_problem`]).
pub fn control_character_problem(text: &str) -> Option<String> {
    if let Some(found) = text.chars().find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) {
        return Some(format!("caractère de contrôle interdit ({}) : retirez-le du texte", code_point(found)));
    }
    bidi_override_problem(text)
}

/// Why `text` cannot be stored anywhere, if it holds a bidi embedding, override or isolate
/// (U+202A–U+202E, U+2066–U+2069).
pub fn bidi_override_problem(text: &str) -> Option<String> {
    let found = text.chars().find(|c| is_bidi_override(*c))?;
    Some(format!(
        "caractère de contrôle bidirectionnel interdit ({}) : il inverse l'ordre d'affichage du texte ; retirez-le",
        code_point(found)
    ))
}

/// Why `name` cannot be a person's name (display name, identity field, jury member), if it
/// cannot: any control character (line breaks included), any bidi control, any other invisible
/// format character except ZWNJ and ZWJ.
pub fn name_character_problem(name: &str) -> Option<String> {
    let found = name.chars().find(|c| c.is_control() || (is_format_character(*c) && !NAME_JOINERS.contains(c)))?;
    Some(forbidden_in("un nom", found))
}

/// Why `email` cannot be an e-mail address, if it cannot: any control character and any format
/// character (ZWNJ and ZWJ included: an address is ASCII in practice, and an invisible character
/// would make two accounts that look the same).
pub fn email_character_problem(email: &str) -> Option<String> {
    let found = email.chars().find(|c| c.is_control() || is_format_character(*c))?;
    Some(forbidden_in("une adresse e-mail", found))
}

fn forbidden_in(field: &str, found: char) -> String {
    let what = if found.is_control() {
        "caractère de contrôle"
    } else if is_bidi_control(found) {
        "caractère de contrôle bidirectionnel"
    } else {
        "caractère invisible"
    };
    format!("{what} interdit dans {field} ({}) : retirez-le", code_point(found))
}

/// `raw` cut to `max` characters, each control or format character shown as U+FFFD: what a
/// message may quote of refused input without printing an escape or a bidi override.
pub fn printable(raw: &str, max: usize) -> String {
    raw.chars().take(max).map(|c| if c.is_control() || is_format_character(c) { '\u{FFFD}' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_and_escapes_are_refused_line_breaks_are_not() {
        for bad in ["a\0b", "\u{1b}[31m", "bip\u{7}", "\u{7f}", "\u{85}"] {
            assert!(control_character_problem(bad).is_some(), "{bad:?}");
        }
        for good in ["", "Ligne 1\nLigne 2\r\n\tsuite", "<script>alert(1)</script>", "\u{feff}", "a\u{200B}b"] {
            assert_eq!(control_character_problem(good), None, "{good:?}");
        }
        assert!(control_character_problem("a\0").is_some_and(|p| p.contains("U+0000")));
    }

    #[test]
    fn notes_refuse_bidi_overrides_and_isolates_but_keep_marks_and_scripts() {
        for c in (0x202A..=0x202E).chain(0x2066..=0x2069).filter_map(char::from_u32) {
            let text = format!("absent {c}fdp.exe");
            let problem = control_character_problem(&text).unwrap_or_default();
            assert!(
                problem.contains(&format!("U+{:04X}", u32::from(c))) && problem.contains("bidirectionnel"),
                "{c:?}"
            );
        }
        for good in ["العربية \u{200F}עברית", "اسم\u{200E} Zoé", "👩🏽‍🏫", "Mise à jour\u{00AD}"]
        {
            assert_eq!(control_character_problem(good), None, "{good:?}");
        }
    }

    #[test]
    fn names_refuse_format_characters_except_joiners() {
        for c in [
            '\u{202A}',
            '\u{202B}',
            '\u{202C}',
            '\u{202D}',
            '\u{202E}',
            '\u{2066}',
            '\u{2067}',
            '\u{2068}',
            '\u{2069}',
            '\u{200E}',
            '\u{200F}',
            '\u{061C}',
            '\u{200B}',
            '\u{2060}',
            '\u{FEFF}',
            '\u{00AD}',
            '\u{2062}',
            '\u{E0041}',
            '\u{1B}',
            '\n',
            '\t',
        ] {
            let name = format!("Zoé{c}Martin");
            let problem = name_character_problem(&name).unwrap_or_default();
            assert!(problem.contains(&format!("U+{:04X}", u32::from(c))), "{c:?}: {problem}");
            assert!(problem.contains("nom"), "{problem}");
        }
        assert!(name_character_problem("\u{202E}x").is_some_and(|p| p.contains("bidirectionnel")));
        assert!(name_character_problem("a\u{200B}").is_some_and(|p| p.contains("invisible")));
        for good in [
            "Zoé Martin-Lefèvre",
            "Jean-Noël d'Aubigné",
            "می\u{200C}خواهم",
            "👩🏽‍🏫 Awa",
            "👨\u{200D}👩\u{200D}👧",
            "العربية עברית",
            "O'Brien",
        ] {
            assert_eq!(name_character_problem(good), None, "{good:?}");
        }
    }

    #[test]
    fn emails_refuse_every_format_character() {
        for c in ['\u{200B}', '\u{200C}', '\u{200D}', '\u{FEFF}', '\u{202E}', '\u{00AD}', '\u{1B}'] {
            let email = format!("zoe{c}@example.org");
            let problem = email_character_problem(&email).unwrap_or_default();
            assert!(problem.contains(&format!("U+{:04X}", u32::from(c))) && problem.contains("e-mail"), "{c:?}");
        }
        assert_eq!(email_character_problem("zoé.martin@exemple.fr"), None);
    }

    #[test]
    fn quoted_input_never_carries_escapes_or_overrides() {
        assert_eq!(printable("a\u{1B}[31mb\u{202E}c", 100), "a\u{FFFD}[31mb\u{FFFD}c");
        assert_eq!(printable("abcdef", 3), "abc");
    }

    #[test]
    fn the_format_table_covers_the_well_known_ones_only() {
        for c in ['\u{AD}', '\u{600}', '\u{61C}', '\u{200B}', '\u{2064}', '\u{206F}', '\u{FEFF}', '\u{E007F}'] {
            assert!(is_format_character(c), "{c:?}");
        }
        for c in ['a', ' ', '\u{A0}', '\u{202F}', '\u{2065}', '\u{200A}', '\u{2028}', 'é', '👩'] {
            assert!(!is_format_character(c), "{c:?}");
        }
    }
}
