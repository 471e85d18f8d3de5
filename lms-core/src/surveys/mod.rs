//! Satisfaction surveys (Qualiopi indicator 30): questionnaires kept as data, per course or by
//! default, opened for each training session à chaud (when its last half-day ends) and à froid
//! (some days later), answered once per person, optionally anonymously.
//!
//! `figures.rs` holds the one definition of the published satisfaction figures (mean and response
//! rate), read by the outcome indicators and the quality evidence.

pub mod figures;

crate::text_enum! {
    /// Who a questionnaire is for.
    pub enum SurveyAudience: "public du questionnaire" {
        /// The session's confirmed trainees.
        Trainee = "trainee", "Stagiaires";
        /// The session's trainers.
        Trainer = "trainer", "Formateurs";
        /// The funder or the employer.
        Funder = "funder", "Financeur ou employeur";
    }
}

crate::text_enum! {
    /// When a questionnaire is asked.
    pub enum SurveyTiming: "moment du questionnaire" {
        /// When the session's last half-day ends.
        AChaud = "a_chaud", "À chaud";
        /// Some days after the end (setting `quality.survey_cold_days`).
        AFroid = "a_froid", "À froid";
    }
}
