//! Typed identifiers: one newtype per entity, stored as TEXT UUIDs (v7, so they sort by creation).
//!
//! `MultiBackend` has no UUID type, so each id carries its own `ToSql`/`FromSql` impls for the
//! text column on every backend (rust-stack.md §1.3).

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;
use diesel::sqlite::Sqlite;

use super::MultiBackend;

/// A string that is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("identifiant invalide : « {0} »")]
pub struct InvalidId(pub String);

macro_rules! id_type {
    ($($(#[$meta:meta])* $name:ident;)+) => {$(
        $(#[$meta])*
        #[derive(
            Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
            diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = Text)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A new time-ordered identifier.
            pub fn generate() -> Self {
                Self(uuid::Uuid::now_v7().to_string())
            }

            /// Parses user input; only canonical UUIDs are accepted.
            pub fn parse(raw: &str) -> Result<Self, InvalidId> {
                let trimmed = raw.trim();
                uuid::Uuid::parse_str(trimmed)
                    .map(|u| Self(u.hyphenated().to_string()))
                    .map_err(|_| InvalidId(raw.chars().take(64).collect()))
            }

            /// The identifier as stored.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, InvalidId> {
                Self::parse(s)
            }
        }

        impl ToSql<Text, MultiBackend> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
                out.set_value((Text, self.0.as_str()));
                Ok(IsNull::No)
            }
        }

        impl ToSql<Text, Sqlite> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
                <str as ToSql<Text, Sqlite>>::to_sql(self.0.as_str(), out)
            }
        }

        impl ToSql<Text, Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                <str as ToSql<Text, Pg>>::to_sql(self.0.as_str(), out)
            }
        }

        impl<DB> FromSql<Text, DB> for $name
        where
            DB: Backend,
            String: FromSql<Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                String::from_sql(bytes).map(Self)
            }
        }
    )+};
}

id_type! {
    /// A person (trainee, trainer, administrator).
    UserId;
    /// A tiers-lieu.
    VenueId;
    /// A course of the catalogue (formation).
    CourseId;
    /// A dated cohort of a course (never a login session).
    TrainingSessionId;
    /// A half-day of a training session's schedule.
    HalfDayId;
    /// A change of a half-day's date, hours or venue, kept in its history.
    HalfDayChangeId;
    /// An enrolment of a trainee in a training session.
    EnrolmentId;
    /// An entry of the attendance ledger.
    AttendanceEntryId;
    /// A competence result.
    AssessmentId;
    /// A certification of the référentiel (e.g. RS5142).
    CertificationId;
    /// A unit (bloc) of a certification.
    UnitId;
    /// A numbered competence of a unit.
    CompetenceId;
    /// A jury decision (procès-verbal line).
    JuryDecisionId;
    /// An issued certificate.
    CertificateId;
    /// A browser login session.
    LoginSessionId;
    /// An API token.
    ApiTokenId;
    /// A notification shown to a user.
    NotificationId;
    /// An audit-log entry.
    AuditEntryId;
    /// A complaint, difficulty or incident of the complaints register.
    ComplaintId;
    /// A step in a complaint's history.
    ComplaintEventId;
    /// An improvement action (Qualiopi indicator 32).
    ImprovementActionId;
    /// A message of the e-mail outbox.
    OutboxMessageId;
    /// A password-reset token (its row; the token itself is never stored).
    PasswordResetTokenId;
    /// A trainee's request for disability adjustments.
    AdjustmentRequestId;
    /// A satisfaction questionnaire (its questions, per course or by default).
    QuestionnaireId;
    /// A satisfaction survey opened for one training session.
    SurveyId;
    /// An invitation to answer a survey.
    SurveyInvitationId;
}
