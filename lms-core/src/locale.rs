//! French formatting shared by pages, documents, e-mails and the CLI: dates in words, Paris local
//! times, amounts, and the typography rules every text follows (elision, plurals, decimal commas,
//! one duration format, date ranges, lists). Pages reach these through the template filters of
//! `lms-server/src/templates.rs`; nothing else formats French numbers or durations by hand.

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeZone, Timelike};
use chrono_tz::Europe::Paris;

const WEEKDAYS: [&str; 7] = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"];
const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// `lundi 7 décembre 2026` (`1er` for the first of the month, as French typography wants).
pub fn date_fr(date: NaiveDate) -> String {
    let day = if date.day() == 1 { "1er".to_owned() } else { date.day().to_string() };
    format!(
        "{} {} {} {}",
        WEEKDAYS[date.weekday().num_days_from_monday() as usize],
        day,
        MONTHS[date.month0() as usize],
        date.year()
    )
}

/// `7 déc. 2026`-style short form: `7 décembre 2026`.
pub fn short_date_fr(date: NaiveDate) -> String {
    let day = if date.day() == 1 { "1er".to_owned() } else { date.day().to_string() };
    format!("{} {} {}", day, MONTHS[date.month0() as usize], date.year())
}

/// A UTC instant as Paris wall-clock time, `9 h 00` style.
pub fn time_fr(utc: NaiveDateTime) -> String {
    let local = Paris.from_utc_datetime(&utc);
    format!("{} h {:02}", local.hour(), local.minute())
}

/// A UTC instant as a Paris local date-time.
pub fn to_paris(utc: NaiveDateTime) -> NaiveDateTime {
    Paris.from_utc_datetime(&utc).naive_local()
}

/// Euro amount from cents, French style: `5 600,00 €`.
pub fn euros_fr(cents: i64) -> String {
    let negative = cents < 0;
    let cents = cents.unsigned_abs();
    let units = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, ch) in units.chars().enumerate() {
        if i > 0 && (units.len() - i).is_multiple_of(3) {
            grouped.push('\u{202f}');
        }
        grouped.push(ch);
    }
    format!("{}{},{:02}\u{a0}€", if negative { "-" } else { "" }, grouped, cents % 100)
}

/// Narrow no-break space, before `%`, `:` and between thousands.
const NARROW_NBSP: char = '\u{202f}';

/// Whether French elides a preceding `de`, `que`, `le`… before `word`: a vowel (accented or not) or
/// a `y`. An initial `h` is left alone: whether it is mute depends on the word, and `de H…` is never
/// wrong on a place name whereas `d'H…` sometimes is.
fn starts_with_vowel_sound(word: &str) -> bool {
    word.trim_start().chars().next().is_some_and(|first| {
        matches!(
            first.to_lowercase().next().unwrap_or(first),
            'a' | 'e'
                | 'i'
                | 'o'
                | 'u'
                | 'y'
                | 'à'
                | 'â'
                | 'ä'
                | 'é'
                | 'è'
                | 'ê'
                | 'ë'
                | 'î'
                | 'ï'
                | 'ô'
                | 'ö'
                | 'û'
                | 'ü'
                | 'ù'
                | 'œ'
                | 'æ'
        )
    })
}

/// `de` + `Angoulême` → `d'Angoulême`, `que` + `Aurélie` → `qu'Aurélie`, `de` + `Bordeaux` →
/// `de Bordeaux`. Works for `de`, `que`, `le`, `la`, `je`, `me`, `te`, `se`, `ne`, `ce`, `jusque`,
/// `lorsque`, `puisque` (the words French elides); any other word is joined with a space. The
/// apostrophe is the straight one, as in the rest of the interface.
pub fn elide(word: &str, next: &str) -> String {
    const ELIDED: [&str; 13] =
        ["de", "que", "le", "la", "je", "me", "te", "se", "ne", "ce", "jusque", "lorsque", "puisque"];
    let next = next.trim();
    let lower = word.to_lowercase();
    if ELIDED.contains(&lower.as_str()) && starts_with_vowel_sound(next) {
        let mut kept: String = word.chars().take(word.chars().count().saturating_sub(1)).collect();
        kept.push('\'');
        format!("{kept}{next}")
    } else {
        format!("{word} {next}")
    }
}

/// `1 absent`, `2 absents`, `0 absent` (French counts zero and one in the singular), with the
/// number written by [`integer_fr`].
pub fn count_fr(count: i64, singular: &str, plural: &str) -> String {
    format!("{} {}", integer_fr(count), if count.abs() > 1 { plural } else { singular })
}

/// `12 345` with a narrow no-break space between thousands.
pub fn integer_fr(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut grouped = String::with_capacity(digits.len() + 4);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(NARROW_NBSP);
        }
        grouped.push(ch);
    }
    if value < 0 { format!("-{grouped}") } else { grouped }
}

/// A decimal number with a comma and at most `decimals` digits after it, trailing zeros dropped:
/// `87,5`, `1 234,25`, `3`.
pub fn decimal_fr(value: f64, decimals: usize) -> String {
    if !value.is_finite() {
        return "—".to_owned();
    }
    let text = format!("{:.*}", decimals, value.abs());
    let (units, fraction) = text.split_once('.').unwrap_or((text.as_str(), ""));
    let fraction = fraction.trim_end_matches('0');
    let units: i64 = units.parse().unwrap_or(0);
    let sign = if value < 0.0 && (units != 0 || !fraction.is_empty()) { "-" } else { "" };
    if fraction.is_empty() {
        format!("{sign}{}", integer_fr(units))
    } else {
        format!("{sign}{},{fraction}", integer_fr(units))
    }
}

/// A percentage given as a number of hundredths: `87,5 %` (narrow no-break space before `%`).
pub fn percent_fr(percent: f64) -> String {
    format!("{}{NARROW_NBSP}%", decimal_fr(percent, 1))
}

/// The one way a duration is written: `140 h`, `3 h 30`, `0 h 45`, `0 h`.
pub fn duration_fr(minutes: i64) -> String {
    let sign = if minutes < 0 { "-" } else { "" };
    let minutes = minutes.unsigned_abs();
    let (hours, rest) = (minutes / 60, minutes % 60);
    let hours = integer_fr(i64::try_from(hours).unwrap_or(i64::MAX));
    if rest == 0 { format!("{sign}{hours}\u{a0}h") } else { format!("{sign}{hours}\u{a0}h\u{a0}{rest:02}") }
}

/// [`duration_fr`] of a number of hours (`140.0` → `140 h`, `3.5` → `3 h 30`), rounded to the minute.
pub fn hours_fr(hours: f64) -> String {
    if !hours.is_finite() {
        return "—".to_owned();
    }
    duration_fr((hours * 60.0).round() as i64)
}

/// `le 18 décembre 2026` for one day, `du 7 au 9 décembre 2026` within a month, `du 28 novembre au
/// 2 décembre 2026` within a year, `du 28 décembre 2026 au 2 janvier 2027` otherwise.
pub fn date_range_fr(start: NaiveDate, end: NaiveDate) -> String {
    let (start, end) = if end < start { (end, start) } else { (start, end) };
    let day = |date: NaiveDate| if date.day() == 1 { "1er".to_owned() } else { date.day().to_string() };
    if start == end {
        format!("le {}", short_date_fr(start))
    } else if start.year() == end.year() && start.month() == end.month() {
        format!("du {} au {}", day(start), short_date_fr(end))
    } else if start.year() == end.year() {
        format!("du {} {} au {}", day(start), MONTHS[start.month0() as usize], short_date_fr(end))
    } else {
        format!("du {} au {}", short_date_fr(start), short_date_fr(end))
    }
}

/// `A`, `A et B`, `A, B et C`.
pub fn list_fr<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [only] => only.as_ref().to_owned(),
        [init @ .., last] => {
            let head: Vec<&str> = init.iter().map(AsRef::as_ref).collect();
            format!("{} et {}", head.join(", "), last.as_ref())
        }
    }
}

/// A message shown as a sentence: first letter upper-case (the rest untouched), ending with a
/// full stop unless it already ends with punctuation.
pub fn sentence_fr(text: &str) -> String {
    let text = text.trim();
    let mut chars = text.chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let mut sentence: String = first.to_uppercase().chain(chars).collect();
    if !sentence.ends_with(['.', '!', '?', '…', ':', ')', '»']) {
        sentence.push('.');
    }
    sentence
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_french_dates_times_and_amounts() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap_or_default();
        assert_eq!(date_fr(d), "lundi 7 décembre 2026");
        let first = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap_or_default();
        assert_eq!(short_date_fr(first), "1er mars 2027");
        let utc = NaiveDate::from_ymd_opt(2027, 1, 12).and_then(|d| d.and_hms_opt(8, 0, 0)).unwrap_or_default();
        assert_eq!(time_fr(utc), "9 h 00");
        assert_eq!(euros_fr(560_000), "5\u{202f}600,00\u{a0}€");
        assert_eq!(euros_fr(35_050), "350,50\u{a0}€");
    }

    #[test]
    fn elides_before_vowels_only() {
        assert_eq!(elide("de", "Angoulême"), "d'Angoulême");
        assert_eq!(elide("que", "Aurélie"), "qu'Aurélie");
        assert_eq!(elide("de", "Île-d’Oléron"), "d'Île-d’Oléron");
        assert_eq!(elide("de", "Bordeaux"), "de Bordeaux");
        assert_eq!(elide("De", "Yssingeaux"), "D'Yssingeaux");
        assert_eq!(elide("de", "Hendaye"), "de Hendaye");
        assert_eq!(elide("à", "Angoulême"), "à Angoulême");
    }

    #[test]
    fn counts_numbers_and_durations() {
        assert_eq!(count_fr(0, "absent", "absents"), "0 absent");
        assert_eq!(count_fr(1, "absent", "absents"), "1 absent");
        assert_eq!(count_fr(2, "demi-journée", "demi-journées"), "2 demi-journées");
        assert_eq!(integer_fr(80_000), "80\u{202f}000");
        assert_eq!(decimal_fr(87.5, 1), "87,5");
        assert_eq!(decimal_fr(140.0, 1), "140");
        assert_eq!(decimal_fr(1234.25, 2), "1\u{202f}234,25");
        assert_eq!(decimal_fr(-0.01, 1), "0");
        assert_eq!(percent_fr(87.5), "87,5\u{202f}%");
        assert_eq!(duration_fr(140 * 60), "140\u{a0}h");
        assert_eq!(duration_fr(210), "3\u{a0}h\u{a0}30");
        assert_eq!(duration_fr(5), "0\u{a0}h\u{a0}05");
        assert_eq!(hours_fr(140.0), "140\u{a0}h");
        assert_eq!(hours_fr(3.5), "3\u{a0}h\u{a0}30");
    }

    #[test]
    fn writes_date_ranges_and_lists() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default();
        assert_eq!(date_range_fr(d(2026, 12, 18), d(2026, 12, 18)), "le 18 décembre 2026");
        assert_eq!(date_range_fr(d(2026, 12, 7), d(2026, 12, 9)), "du 7 au 9 décembre 2026");
        assert_eq!(date_range_fr(d(2026, 11, 28), d(2026, 12, 2)), "du 28 novembre au 2 décembre 2026");
        assert_eq!(date_range_fr(d(2026, 12, 28), d(2027, 1, 2)), "du 28 décembre 2026 au 2 janvier 2027");
        assert_eq!(date_range_fr(d(2027, 3, 1), d(2027, 3, 3)), "du 1er au 3 mars 2027");
        let none: [&str; 0] = [];
        assert_eq!(list_fr(&none), "");
        assert_eq!(list_fr(&["A"]), "A");
        assert_eq!(list_fr(&["A", "B"]), "A et B");
        assert_eq!(list_fr(&["A", "B", "C"]), "A, B et C");
        assert_eq!(sentence_fr("séance introuvable"), "Séance introuvable.");
        assert_eq!(sentence_fr("Déjà fait !"), "Déjà fait !");
    }
}
