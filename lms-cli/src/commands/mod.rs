//! One module per noun, each with its clap arguments and a `run` that calls `lms-core`.

pub mod assess;
pub mod attendance;
pub mod course;
pub mod db;
pub mod documents;
pub mod enrolment;
pub mod fixtures;
pub mod session;
pub mod user;
pub mod venue;
