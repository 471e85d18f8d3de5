//! tierslieux-lms core: every rule of the training organisation, its storage and its use cases.
//!
//! No HTTP and no terminal here: `lms-server` and `lms-cli` parse input, call one use case of this
//! crate and render its result. A use case is a function taking a `&mut DbConn` and plain inputs,
//! running in one transaction, and returning a typed result or a typed error.
//!
//! Glossary (code in English, the organisation's words in French):
//! - training session (`TrainingSession`, « session ») — a dated cohort of a course; never confused
//!   with a login session (`LoginSession`);
//! - half-day (« demi-journée ») — the unit of the schedule and of attendance;
//! - attendance (« émargement ») — who was there, per half-day, signed;
//! - venue (« tiers-lieu ») — coworking, fablab, atelier partagé… where half-days take place;
//! - trainee (« stagiaire »), trainer (« formateur »), enrolment (« inscription »),
//!   waitlist (« liste d'attente »), référentiel — the certification's units and competences.
//!
//! Modules follow the domain: [`geo`] (communes, places, travel estimate), [`venues`],
//! [`catalogue`] (courses, training sessions, schedules), [`people`] (users and roles),
//! [`enrolment`] (seats and waitlist), [`attendance`] (the hash-chained ledger), [`assessment`],
//! [`certification`] (référentiel, jury, issuing, verification), [`documents`] (PDF), [`exports`]
//! (Accrochage, LHEO), [`reports`] (BPF, outcomes, coverage), the quality loop — [`surveys`]
//! (satisfaction), [`complaints`] (register and improvement actions), [`adjustments`] (disability)
//! and [`quality`] (the auditor's evidence) —, [`fixtures`] (reference and demo
//! data), [`mail`] (the e-mail outbox and its messages), and [`db`] (the only place where SQLite and PostgreSQL differ).

pub mod access;
pub mod adjustments;
pub mod assessment;
pub mod attendance;
pub mod calendar;
pub mod catalogue;
pub mod certification;
pub mod complaints;
pub mod dashboard;
pub mod db;
pub mod documents;
pub mod enrolment;
pub mod exports;
pub mod fixtures;
pub mod geo;
pub mod legal;
pub mod locale;
pub mod mail;
pub mod notifications;
pub mod people;
pub mod quality;
pub mod reports;
pub mod rights;
pub mod roster;
pub mod surveys;
pub mod text;
pub mod venues;

pub use db::{DatabaseUrl, DbConn, DbError};

/// What kind of failure an error is, so each door maps it once (HTTP status, CLI exit code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input is malformed or breaks a rule (HTTP 400/422, exit 1).
    Invalid,
    /// The thing asked for does not exist (HTTP 404, exit 1).
    NotFound,
    /// The request conflicts with the current state (HTTP 409, exit 1).
    Conflict,
    /// The caller is not allowed to do this (HTTP 403, exit 1).
    Forbidden,
    /// The caller must authenticate first (HTTP 401, exit 1).
    Unauthenticated,
    /// Too many attempts (HTTP 429, exit 1).
    RateLimited,
    /// The database is busy or unreachable (HTTP 503, exit 1).
    Unavailable,
    /// A bug or an unexpected failure (HTTP 500, exit 1).
    Internal,
}

/// Implemented by every module's error type.
pub trait Classify {
    /// The kind of failure.
    fn kind(&self) -> ErrorKind;
    /// A stable machine-readable code (`"unknown_place"`, `"session_full"`…).
    fn code(&self) -> &'static str;
    /// Extra machine-readable members for the API error object (e.g. `candidates` of an
    /// ambiguous place); none by default.
    fn details(&self) -> Option<serde_json::Value> {
        None
    }
}
