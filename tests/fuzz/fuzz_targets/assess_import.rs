//! The assessment CSV import, its pure half: any bytes read as a file give lines or line-numbered
//! problems (or a refused header), never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use lms_core::assessment::import::{MAX_ROWS, parse_import};

fuzz_target!(|data: &[u8]| {
    // The CLI reads files as UTF-8 (refusing anything else before parsing).
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(parsed) = parse_import(text, Some("formatrice@example.org")) {
        assert!(parsed.lines.len() <= MAX_ROWS);
        for line in &parsed.lines {
            assert!(line.line >= 2, "data lines come after the header: {line:?}");
            assert_eq!(line.trainee, line.trainee.to_lowercase());
        }
        for problem in &parsed.problems {
            assert!(!problem.message.is_empty());
        }
    }
});
