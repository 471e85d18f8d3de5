//! End-to-end suite: one binary, run once per backend by `.ci/run` (see `lms_tests`).

#![allow(clippy::expect_used, clippy::unwrap_used, reason = "tests: a failure is a test failure")]

mod attendance;
mod cli;
mod enrolment;
mod fixtures;
mod generate;
mod geo;
mod search;
mod server;
mod storage;
