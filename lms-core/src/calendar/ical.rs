//! iCalendar text (RFC 5545) for the organisation's half-days: invitations and cancellations in
//! the iTIP form of RFC 5546 (`METHOD:REQUEST`, `METHOD:CANCEL`) and the published feed
//! (`METHOD:PUBLISH`). Pure functions over plain structs, no database access, so the e-mail
//! outbox, the feed route and tests all get the same bytes.
//!
//! Events are built with the `icalendar` crate (escaping, 75-octet folding, CRLF). Its version
//! 0.17 cannot build a `VTIMEZONE` (it has no public way to name a component other than
//! `VEVENT`/`VTODO`/`VVENUE`), so the Europe/Paris definition is written here once, as text,
//! and placed before the first event.

use chrono::NaiveDateTime;
use icalendar::{
    Attendee as IcsAttendee, Calendar, CalendarDateTime, Component, EventLike, EventStatus, PartStat, Property, Role,
};

use crate::locale::to_paris;

/// The TZID every date-time refers to.
pub const PARIS_TZID: &str = "Europe/Paris";

/// Europe/Paris with the European Union's summer-time rules (since 1996): summer time from the
/// last Sunday of March, 02:00, to the last Sunday of October, 03:00. Clients need it to place
/// `DTSTART;TZID=Europe/Paris` on their own clock, whatever their time-zone database says.
const PARIS_VTIMEZONE: &str = "BEGIN:VTIMEZONE\r\n\
TZID:Europe/Paris\r\n\
X-LIC-LOCATION:Europe/Paris\r\n\
BEGIN:DAYLIGHT\r\n\
TZOFFSETFROM:+0100\r\n\
TZOFFSETTO:+0200\r\n\
TZNAME:CEST\r\n\
DTSTART:19700329T020000\r\n\
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n\
END:DAYLIGHT\r\n\
BEGIN:STANDARD\r\n\
TZOFFSETFROM:+0200\r\n\
TZOFFSETTO:+0100\r\n\
TZNAME:CET\r\n\
DTSTART:19701025T030000\r\n\
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\n\
END:STANDARD\r\n\
END:VTIMEZONE\r\n";

/// The iTIP method of a calendar object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// An invitation, or an update of one (same UID, higher SEQUENCE).
    Request,
    /// The events are called off.
    Cancel,
    /// A subscribed feed, with no reply expected.
    Publish,
}

impl Method {
    /// The `METHOD` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Request => "REQUEST",
            Method::Cancel => "CANCEL",
            Method::Publish => "PUBLISH",
        }
    }
}

/// A person named in a calendar object (organiser or attendee).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarPerson {
    /// Display name (`CN`).
    pub name: String,
    /// E-mail address (the `mailto:` calendar address).
    pub email: String,
}

/// One half-day as a calendar event.
#[derive(Debug, Clone, PartialEq)]
pub struct CalendarEvent {
    /// Stable identifier: `halfday-{id}@{host}`.
    pub uid: String,
    /// Revision: raised on every change so clients replace what they hold.
    pub sequence: u32,
    /// Start (UTC, as stored).
    pub starts_at: NaiveDateTime,
    /// End (UTC, as stored).
    pub ends_at: NaiveDateTime,
    /// Course title and module.
    pub summary: String,
    /// Venue name and address.
    pub location: String,
    /// Access note, whom to call, where to see it.
    pub description: String,
    /// Whether the event is called off (`STATUS:CANCELLED`).
    pub cancelled: bool,
    /// A link to the person's page.
    pub url: Option<String>,
}

/// A rendered iCalendar object (UTF-8 text with CRLF line ends).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ics {
    method: Method,
    text: String,
}

impl Ics {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The bytes to attach or serve.
    pub fn into_bytes(self) -> Vec<u8> {
        self.text.into_bytes()
    }

    /// Its method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The MIME type to send it with: `text/calendar; charset=utf-8; method=…` (RFC 6047 asks
    /// for the method parameter on iTIP e-mail parts).
    pub fn content_type(&self) -> String {
        format!("text/calendar; charset=utf-8; method={}", self.method.as_str())
    }
}

/// Fills in the public address of a calendar object stored with markers (an e-mail's invitation,
/// see the `calendar` module): the UID host marker becomes `host_of(public_url)`, the link marker
/// `public_url`. The lines are unfolded first (a marker may straddle a fold) and folded again at
/// 75 octets with CRLF (RFC 5545 §3.1), never inside a UTF-8 character.
pub fn with_public_address(ics: &[u8], public_url: &str) -> Result<Vec<u8>, super::CalendarError> {
    let host = super::host_of(public_url)?;
    let text = String::from_utf8_lossy(ics);
    let unfolded = text.replace("\r\n ", "").replace("\r\n\t", "");
    let filled = unfolded
        .replace(super::PUBLIC_HOST_MARKER, &host)
        .replace(crate::mail::render::PUBLIC_URL_MARKER, public_url.trim().trim_end_matches('/'));
    let mut out = String::with_capacity(filled.len() + filled.len() / 70 * 3);
    for line in filled.split_terminator("\r\n") {
        fold_line(line, &mut out);
    }
    Ok(out.into_bytes())
}

/// Writes one content line folded at 75 octets (continuations start with a space).
fn fold_line(line: &str, out: &mut String) {
    let mut room = 75;
    let mut used = 0;
    for c in line.chars() {
        if used + c.len_utf8() > room {
            out.push_str("\r\n ");
            // The leading space counts towards the 75 octets of a continuation line.
            room = 74;
            used = 0;
        }
        out.push(c);
        used += c.len_utf8();
    }
    out.push_str("\r\n");
}

/// A stored UTC instant as the Paris wall-clock time that `TZID=Europe/Paris` expects.
fn paris(utc: NaiveDateTime) -> CalendarDateTime {
    CalendarDateTime::WithTimezone { date_time: to_paris(utc), tzid: PARIS_TZID.to_owned() }
}

fn mailto(person: &CalendarPerson) -> String {
    format!("mailto:{}", person.email)
}

/// Renders a calendar object. `organizer` is required by iTIP for `REQUEST` and `CANCEL`;
/// `attendee` is the invited trainee. `now` stamps every event (`DTSTAMP`).
pub fn render(
    method: Method,
    name: &str,
    events: &[CalendarEvent],
    organizer: &CalendarPerson,
    attendee: Option<&CalendarPerson>,
    now: NaiveDateTime,
) -> Ics {
    let mut calendar = Calendar::empty();
    calendar.append_property(Property::new("VERSION", "2.0"));
    calendar.append_property(Property::new("PRODID", "-//tierslieux-lms//Calendrier des formations//FR"));
    calendar.append_property(Property::new("CALSCALE", "GREGORIAN"));
    calendar.append_property(Property::new("METHOD", method.as_str()));
    calendar.append_property(Property::new("X-WR-CALNAME", name));
    calendar.append_property(Property::new("X-WR-TIMEZONE", PARIS_TZID));
    for event in events {
        let mut vevent = icalendar::Event::new();
        vevent
            .uid(&event.uid)
            .sequence(event.sequence)
            .timestamp(now.and_utc())
            .starts(paris(event.starts_at))
            .ends(paris(event.ends_at))
            .summary(&event.summary)
            .location(&event.location)
            .description(&event.description)
            .status(if event.cancelled { EventStatus::Cancelled } else { EventStatus::Confirmed });
        if let Some(url) = &event.url {
            vevent.url(url);
        }
        vevent
            .append_property(Property::new("ORGANIZER", mailto(organizer)).add_parameter("CN", &organizer.name).done());
        if let Some(attendee) = attendee {
            vevent.attendee(
                IcsAttendee::new(mailto(attendee))
                    .cn(attendee.name.clone())
                    .role(Role::ReqParticipant)
                    .partstat(PartStat::NeedsAction),
            );
        }
        if event.cancelled {
            // Some clients (Outlook) read only this one to strike the event through.
            vevent.add_property("X-MICROSOFT-CDO-BUSYSTATUS", "FREE");
        }
        calendar.push(vevent.done());
    }
    let mut text = calendar.to_string();
    // The time zone goes before the events that refer to it (RFC 5545 §3.6.5).
    let at = text.find("BEGIN:VEVENT\r\n").or_else(|| text.find("END:VCALENDAR")).unwrap_or(text.len());
    text.insert_str(at, PARIS_VTIMEZONE);
    Ics { method, text }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(y: i32, m: u32, d: u32, h: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d).and_then(|d| d.and_hms_opt(h, 0, 0)).unwrap_or_default()
    }

    #[test]
    fn summer_and_winter_hours_become_paris_wall_clock() {
        // 07:00 UTC is 09:00 in Paris in summer (UTC+2) and 08:00 in winter (UTC+1).
        let organizer = CalendarPerson { name: "OF".into(), email: "of@example.org".into() };
        let event = |starts_at: NaiveDateTime| CalendarEvent {
            uid: "u@example.org".into(),
            sequence: 0,
            starts_at,
            ends_at: starts_at + chrono::Duration::hours(3),
            summary: "S".into(),
            location: "L".into(),
            description: "D".into(),
            cancelled: false,
            url: None,
        };
        let events = [event(at(2027, 6, 15, 7)), event(at(2027, 1, 12, 7))];
        let ics = render(Method::Publish, "Agenda", &events, &organizer, None, at(2027, 1, 1, 0));
        assert!(ics.as_str().contains("DTSTART;TZID=Europe/Paris:20270615T090000\r\n"));
        assert!(ics.as_str().contains("DTSTART;TZID=Europe/Paris:20270112T080000\r\n"));
    }

    #[test]
    fn lines_are_folded_at_75_octets_with_crlf() {
        let event = CalendarEvent {
            uid: "halfday-1@example.org".into(),
            sequence: 2,
            starts_at: at(2027, 1, 12, 8),
            ends_at: at(2027, 1, 12, 11),
            summary: "Piloter un tiers-lieu — une très longue ligne de résumé, accentuée, pour forcer le pliage".into(),
            location: "Le 400, 4 place de la République, 19100 Brive-la-Gaillarde".into(),
            description: "Accès : porte B ; sonnez".into(),
            cancelled: false,
            url: None,
        };
        let organizer = CalendarPerson { name: "Coopérative".into(), email: "contact@example.org".into() };
        let ics = render(Method::Request, "Agenda", &[event], &organizer, None, at(2027, 1, 1, 0));
        for line in ics.as_str().split("\r\n") {
            assert!(line.len() <= 75, "{line:?} is {} octets", line.len());
            assert!(!line.contains('\n'));
        }
        assert!(ics.as_str().contains("DTSTART;TZID=Europe/Paris:20270112T090000"));
        assert!(ics.as_str().find("BEGIN:VTIMEZONE") < ics.as_str().find("BEGIN:VEVENT"));
        assert!(ics.as_str().contains("SEQUENCE:2"));
    }

    #[test]
    fn the_public_address_is_filled_in_and_lines_folded_again() {
        let marker = crate::mail::render::PUBLIC_URL_MARKER;
        let event = CalendarEvent {
            uid: format!("halfday-1@{}", super::super::PUBLIC_HOST_MARKER),
            sequence: 0,
            starts_at: at(2027, 1, 12, 8),
            ends_at: at(2027, 1, 12, 11),
            summary: "S".into(),
            location: "L".into(),
            description: format!("Accès : porte B — très, très loin dans la cour ; votre espace : {marker}/me"),
            cancelled: false,
            url: Some(format!("{marker}/me")),
        };
        let organizer = CalendarPerson { name: "Coopérative".into(), email: "contact@example.org".into() };
        let ics = render(Method::Request, "Agenda", &[event], &organizer, None, at(2027, 1, 1, 0));
        let long = "https://formation.une-adresse-publique-particulierement-longue.example.org/lms/";
        let Ok(filled) = with_public_address(ics.as_str().as_bytes(), long) else { panic!("fill failed") };
        let Ok(filled) = String::from_utf8(filled) else { panic!("not UTF-8") };
        for line in filled.split("\r\n") {
            assert!(line.len() <= 75, "{line:?} is {} octets", line.len());
        }
        let unfolded = filled.replace("\r\n ", "");
        assert!(
            unfolded.contains("UID:halfday-1@formation.une-adresse-publique-particulierement-longue.example.org\r\n")
        );
        assert!(unfolded.contains(&format!("URL:{}/me\r\n", long.trim_end_matches('/'))));
        assert!(!unfolded.contains("%%") && !unfolded.contains(".invalid"));
        assert!(filled.ends_with("END:VCALENDAR\r\n"));
    }
}
