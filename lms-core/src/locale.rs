//! French formatting shared by pages, documents and the CLI: dates in words, Paris local times.

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
}
