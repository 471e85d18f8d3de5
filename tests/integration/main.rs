//! End-to-end suite: one binary, run once per backend by `.ci/run` (see `lms_tests`).

#![allow(clippy::expect_used, clippy::unwrap_used, reason = "tests: a failure is a test failure")]

mod accounts;
mod admission;
mod api_contracts;
mod assess_import;
mod attack;
mod attendance;
mod attendance_support;
mod authorization;
mod browser;
mod calendar;
mod certification;
mod checkin;
mod cli;
mod cli_hardening;
mod contracts;
mod courses;
mod csv_exports;
mod documents;
mod enrolment;
mod enrolment_http;
mod enrolment_office;
mod exports;
mod fixtures;
mod generate;
mod geo;
mod input_hardening;
mod mail_calendars;
mod openapi;
mod outbox;
mod password_reset;
mod reminders;
mod reports;
mod restore;
mod scale_out;
mod schedules;
mod search;
mod security;
mod server;
mod session_changes;
mod session_lifecycle;
mod storage;
mod trainer;
mod venue_addresses;
mod venues;
