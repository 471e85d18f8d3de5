//! The organisation's working calendar: French public holidays and weekends.
//!
//! Holidays are computed, not listed, so that every year works. The fixed ones are 1 January,
//! 1 May, 8 May, 14 July, 15 August, 1 November, 11 November and 25 December. The moving ones
//! hang on Easter Sunday, computed here with the anonymous Gregorian computus (the
//! Meeus/Jones/Butcher algorithm, exact for every Gregorian year): Easter Monday (+1 day),
//! Ascension Thursday (+39) and Whit Monday (+50). Whit Monday is kept as a holiday although it
//! is also the « journée de solidarité » in many firms: a training centre cannot count on its
//! trainees being free that day.
//!
//! Alsace-Moselle: venues in the Moselle (57), Bas-Rhin (67) and Haut-Rhin (68) départements
//! also observe Good Friday (Easter − 2) and Saint Stephen's Day (26 December), as the local law
//! (Code du travail, article L3134-13) makes them public holidays there. The département is the
//! one of the venue's commune; a session elsewhere may still be held on those two days.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// Which set of public holidays applies to a place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HolidayRegion {
    /// The national list.
    General,
    /// Moselle, Bas-Rhin, Haut-Rhin: the national list plus Good Friday and 26 December.
    AlsaceMoselle,
}

impl HolidayRegion {
    /// The region of a département code (« 57 », « 67 », « 68 » are Alsace-Moselle).
    pub fn of_departement(departement: &str) -> Self {
        match departement.trim() {
            "57" | "67" | "68" => HolidayRegion::AlsaceMoselle,
            _ => HolidayRegion::General,
        }
    }
}

/// Easter Sunday of a Gregorian year (anonymous Gregorian computus). `None` only for a year that
/// chrono cannot represent.
pub fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

/// The French name of the public holiday falling on `date` in `region`, if any.
pub fn public_holiday(date: NaiveDate, region: HolidayRegion) -> Option<&'static str> {
    let fixed = match (date.month(), date.day()) {
        (1, 1) => Some("jour de l’an"),
        (5, 1) => Some("fête du Travail"),
        (5, 8) => Some("Victoire 1945"),
        (7, 14) => Some("fête nationale"),
        (8, 15) => Some("Assomption"),
        (11, 1) => Some("Toussaint"),
        (11, 11) => Some("Armistice 1918"),
        (12, 25) => Some("Noël"),
        (12, 26) if region == HolidayRegion::AlsaceMoselle => Some("Saint-Étienne (Alsace-Moselle)"),
        _ => None,
    };
    if fixed.is_some() {
        return fixed;
    }
    let easter = easter_sunday(date.year())?;
    let offset = (date - easter).num_days();
    match offset {
        -2 if region == HolidayRegion::AlsaceMoselle => Some("Vendredi saint (Alsace-Moselle)"),
        1 => Some("lundi de Pâques"),
        39 => Some("Ascension"),
        50 => Some("lundi de Pentecôte"),
        _ => None,
    }
}

/// Why no training may be held on `date` in `region` (« samedi », « dimanche » or the holiday's
/// name), or `None` on a working day.
pub fn non_working_reason(date: NaiveDate, region: HolidayRegion) -> Option<&'static str> {
    match date.weekday() {
        Weekday::Sat => Some("samedi"),
        Weekday::Sun => Some("dimanche"),
        _ => public_holiday(date, region),
    }
}

/// The first working day on or after `date` in `region` (at most a few days later).
pub fn next_working_day(mut date: NaiveDate, region: HolidayRegion) -> NaiveDate {
    // A weekend next to a holiday is at most four days; the bound only guards the loop.
    for _ in 0..14 {
        if non_working_reason(date, region).is_none() {
            break;
        }
        date += Duration::days(1);
    }
    date
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
    }

    #[test]
    fn easter_matches_known_dates() {
        for (year, m, day) in
            [(2024, 3, 31), (2025, 4, 20), (2026, 4, 5), (2027, 3, 28), (2028, 4, 16), (2038, 4, 25), (2285, 3, 22)]
        {
            assert_eq!(easter_sunday(year), Some(d(year, m, day)), "{year}");
        }
    }

    #[test]
    fn moving_and_fixed_holidays() {
        let g = HolidayRegion::General;
        assert_eq!(public_holiday(d(2027, 3, 29), g), Some("lundi de Pâques"));
        assert_eq!(public_holiday(d(2027, 5, 6), g), Some("Ascension"));
        assert_eq!(public_holiday(d(2027, 5, 17), g), Some("lundi de Pentecôte"));
        assert_eq!(public_holiday(d(2026, 12, 25), g), Some("Noël"));
        assert_eq!(public_holiday(d(2027, 1, 1), g), Some("jour de l’an"));
        assert_eq!(public_holiday(d(2026, 12, 24), g), None);
        // Good Friday and 26 December only in Alsace-Moselle.
        assert_eq!(public_holiday(d(2027, 3, 26), g), None);
        assert_eq!(public_holiday(d(2026, 12, 26), g), None);
        let am = HolidayRegion::of_departement("67");
        assert_eq!(public_holiday(d(2027, 3, 26), am), Some("Vendredi saint (Alsace-Moselle)"));
        assert_eq!(public_holiday(d(2028, 12, 26), am), Some("Saint-Étienne (Alsace-Moselle)"));
        assert_eq!(HolidayRegion::of_departement("75"), HolidayRegion::General);
    }

    #[test]
    fn weekends_and_next_working_day() {
        let g = HolidayRegion::General;
        assert_eq!(non_working_reason(d(2026, 12, 5), g), Some("samedi"));
        assert_eq!(non_working_reason(d(2026, 12, 6), g), Some("dimanche"));
        assert_eq!(non_working_reason(d(2026, 12, 7), g), None);
        // Friday 25 December 2026 → Monday 28.
        assert_eq!(next_working_day(d(2026, 12, 25), g), d(2026, 12, 28));
    }
}
