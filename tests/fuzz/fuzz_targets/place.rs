//! The place parser: whatever a trainee types into « near », `parse_place_input` answers a
//! parsed place or an `InvalidPlace` error, never a panic; what it accepts is consistent.

#![no_main]

use libfuzzer_sys::fuzz_target;
use lms_core::geo::{GeoError, MAX_PLACE_INPUT_CHARS, ParsedInput, normalize_place_name, parse_place_input};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // A lookup key is words separated by single spaces.
    let key = normalize_place_name(text);
    assert!(!key.starts_with(' ') && !key.ends_with(' ') && !key.contains("  "), "{text:?} -> {key:?}");
    match parse_place_input(text) {
        Ok(ParsedInput::Coordinates { lat, lon }) => {
            assert!(lat.is_finite() && lon.is_finite() && lat.abs() <= 90.0 && lon.abs() <= 180.0, "{text:?}");
        }
        Ok(ParsedInput::Postcode(code)) => {
            assert!(code.len() == 5 && code.bytes().all(|b| b.is_ascii_digit()), "{text:?} -> {code:?}");
        }
        Ok(ParsedInput::Name { key, .. }) => {
            assert!(key.chars().any(char::is_alphabetic), "{text:?} -> {key:?}");
            assert!(text.trim().chars().count() <= MAX_PLACE_INPUT_CHARS);
        }
        Err(GeoError::InvalidPlace(message)) => assert!(!message.is_empty()),
        Err(other) => panic!("parsing alone answered {other:?} for {text:?}"),
    }
});
