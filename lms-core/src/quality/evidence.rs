//! The quality evidence bundle an auditor asks for (`lms quality evidence`): every
//! [`EvidenceTable`] the domain can produce for a period, each written as CSV and as a tagged
//! PDF, with `index.csv` and `LISEZMOI.txt` naming each file, the indicator it proves, its title,
//! its row count, the generation date and the organisation.
//!
//! The tables come from [`PROVIDERS`], one line per part of the domain. This module provides
//! indicators 1 (public information), 2 (outcome indicators), 3 (certification results) and 11
//! (achievement of objectives, attendance); satisfaction, complaints, positioning and disability
//! adjustments add their line. A table with no row is still written, saying « aucune donnée
//! enregistrée », so the auditor sees the indicator was checked.
//!
//! The tables are read in one read transaction; the files are rendered after it, in memory, and
//! [`write_bundle`] writes them all or nothing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Display;
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use super::EvidenceTable;
use crate::assessment::AssessmentResult;
use crate::catalogue::AdmissionMode;
use crate::db::ids::{TrainingSessionId, UserId};
use crate::db::json_text::JsonText;
use crate::db::schema::{assessments, competences, courses, enrolments, half_days, training_sessions, users};
use crate::db::{DbConn, DbError};
use crate::documents::evidence::{EvidenceHeader, NO_DATA, render_evidence};
use crate::documents::organisation::OrganisationIdentity;
use crate::documents::pdf::PdfError;
use crate::enrolment::EnrolmentStatus;
use crate::locale::{decimal_fr, duration_fr, euros_fr, percent_fr, short_date_fr};
use crate::reports::ReportError;
use crate::reports::outcomes::{self, OutcomeIndicators, Period};
use crate::{Classify, ErrorKind};

/// What the bundle covers and how it is dated.
#[derive(Debug, Clone)]
pub struct EvidenceScope {
    /// The period (sessions by their last half-day, as in [`crate::reports::outcomes`]).
    pub period: Period,
    /// When the bundle is generated (UTC).
    pub now: NaiveDateTime,
    /// The public address of the site, to name the published results page; `None` names the path.
    pub public_url: Option<String>,
}

/// A part of the domain handing its evidence to the bundle.
pub type Provider = fn(&mut DbConn, &EvidenceScope) -> Result<Vec<EvidenceTable>, EvidenceError>;

/// Every provider of evidence, by indicator. Adding a part of the domain is one line here, e.g.
/// a function `fn(conn, scope) { provided(crate::complaints::evidence(conn, scope.now)) }`
/// ([`provided`] takes a `Vec<EvidenceTable>` or a `Result` of one with any module's error).
pub const PROVIDERS: &[Provider] = &[
    public_information,
    outcome_indicators,
    certification_results,
    objectives_achieved,
    positioning_decisions,
    disability_adjustments,
    satisfaction_surveys,
    complaints_register,
];

/// Indicator 30: the satisfaction surveys, their response rates and results per question.
fn satisfaction_surveys(conn: &mut DbConn, _scope: &EvidenceScope) -> Result<Vec<EvidenceTable>, EvidenceError> {
    provided(crate::surveys::evidence(conn))
}

/// Indicator 8: positioning answers and admission decisions.
fn positioning_decisions(conn: &mut DbConn, _scope: &EvidenceScope) -> Result<Vec<EvidenceTable>, EvidenceError> {
    provided(crate::enrolment::evidence(conn))
}

/// Indicator 26: disability adjustment requests, without any health detail.
fn disability_adjustments(conn: &mut DbConn, _scope: &EvidenceScope) -> Result<Vec<EvidenceTable>, EvidenceError> {
    provided(crate::adjustments::evidence(conn))
}

/// Indicators 31 and 32: the complaints register and the improvement actions.
fn complaints_register(conn: &mut DbConn, scope: &EvidenceScope) -> Result<Vec<EvidenceTable>, EvidenceError> {
    provided(crate::complaints::evidence(conn, scope.now))
}

/// What a provider returns, turned into the bundle's result.
pub trait IntoEvidence {
    /// The tables, or the provider's refusal.
    fn into_evidence(self) -> Result<Vec<EvidenceTable>, EvidenceError>;
}

impl IntoEvidence for Vec<EvidenceTable> {
    fn into_evidence(self) -> Result<Vec<EvidenceTable>, EvidenceError> {
        Ok(self)
    }
}

impl<E: Classify + Display> IntoEvidence for Result<Vec<EvidenceTable>, E> {
    fn into_evidence(self) -> Result<Vec<EvidenceTable>, EvidenceError> {
        self.map_err(|e| EvidenceError::Provider { kind: e.kind(), code: e.code(), message: e.to_string() })
    }
}

/// Adapts what another module's `evidence` function returns to a [`Provider`]'s result.
pub fn provided(tables: impl IntoEvidence) -> Result<Vec<EvidenceTable>, EvidenceError> {
    tables.into_evidence()
}

/// Errors of the evidence bundle.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// Bad input (period, output folder).
    #[error("{0}")]
    Invalid(String),
    /// A provider refused.
    #[error("{message}")]
    Provider {
        /// Its kind.
        kind: ErrorKind,
        /// Its stable code.
        code: &'static str,
        /// Its message.
        message: String,
    },
    /// A provider handed a table that cannot be written (a defect).
    #[error("table de preuves « {0} » mal formée : {1}")]
    Malformed(String, String),
    /// A PDF could not be rendered.
    #[error(transparent)]
    Pdf(#[from] PdfError),
    /// Writing the files failed.
    #[error("{0}")]
    Io(String),
    /// Storage failure.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<ReportError> for EvidenceError {
    fn from(e: ReportError) -> Self {
        match e {
            ReportError::Invalid(message) => EvidenceError::Invalid(message),
            ReportError::Db(e) => EvidenceError::Db(e),
        }
    }
}

impl Classify for EvidenceError {
    fn kind(&self) -> ErrorKind {
        match self {
            EvidenceError::Invalid(_) => ErrorKind::Invalid,
            EvidenceError::Provider { kind, .. } => *kind,
            EvidenceError::Malformed(..) | EvidenceError::Io(_) => ErrorKind::Internal,
            EvidenceError::Pdf(e) => e.kind(),
            EvidenceError::Db(e) => e.kind(),
        }
    }
    fn code(&self) -> &'static str {
        match self {
            EvidenceError::Invalid(_) => "invalid_input",
            EvidenceError::Provider { code, .. } => code,
            EvidenceError::Malformed(..) => "malformed_evidence",
            EvidenceError::Io(_) => "io_error",
            EvidenceError::Pdf(e) => e.code(),
            EvidenceError::Db(e) => e.code(),
        }
    }
}

/// One file of the bundle.
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceFile {
    /// File name (no folder).
    pub name: String,
    /// Content.
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

/// One line of the index.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct IndexEntry {
    /// File name.
    pub file: String,
    /// Qualiopi indicator it proves.
    pub indicator: u8,
    /// Title.
    pub title: String,
    /// Rows of the table (0 when nothing was recorded).
    pub rows: usize,
    /// Day of generation (Paris date).
    pub generated_on: NaiveDate,
    /// The organisation.
    pub organisation: String,
}

/// The bundle: its files (the index included) and the index itself.
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceBundle {
    /// The organisation's name.
    pub organisation: String,
    /// The period covered.
    pub period: Period,
    /// When it was generated (UTC).
    pub generated_at: NaiveDateTime,
    /// Every file, `index.csv` and `LISEZMOI.txt` last.
    pub files: Vec<EvidenceFile>,
    /// One entry per evidence file (CSV and PDF of each table).
    pub index: Vec<IndexEntry>,
}

/// The index's file names.
pub const INDEX_CSV: &str = "index.csv";
/// The plain-text guide to the bundle.
pub const README: &str = "LISEZMOI.txt";

/// The period in words: « du 7 décembre 2025 au 6 décembre 2026 ».
pub fn period_fr(period: Period) -> String {
    format!("du {} au {}", short_date_fr(period.from), short_date_fr(period.to))
}

/// Reads every provider's tables for `scope` in one read transaction, then renders each as CSV
/// and PDF, with the index.
pub fn evidence_bundle(conn: &mut DbConn, scope: &EvidenceScope) -> Result<EvidenceBundle, EvidenceError> {
    let (organisation, tables) = crate::db::read_transaction(conn, |conn| -> Result<_, EvidenceError> {
        let organisation =
            OrganisationIdentity::load(conn)?.name.unwrap_or_else(|| "Organisme de formation".to_owned());
        let mut tables = Vec::new();
        for provider in PROVIDERS {
            tables.extend(provider(conn, scope)?);
        }
        Ok((organisation, tables))
    })?;
    render_bundle(organisation, scope, tables)
}

fn render_bundle(
    organisation: String,
    scope: &EvidenceScope,
    tables: Vec<EvidenceTable>,
) -> Result<EvidenceBundle, EvidenceError> {
    let generated_on = crate::attendance::records::paris_date(scope.now);
    let header = EvidenceHeader { organisation: organisation.clone(), period: period_fr(scope.period), generated_on };
    let mut stems = HashSet::new();
    let mut files = Vec::new();
    let mut index = Vec::new();
    for table in &tables {
        check_table(table, &mut stems)?;
        for (extension, bytes) in [("csv", table_csv(table)?), ("pdf", render_evidence(table, &header)?)] {
            let name = format!("{}.{extension}", table.file_stem);
            index.push(IndexEntry {
                file: name.clone(),
                indicator: table.indicator,
                title: table.title.clone(),
                rows: table.rows.len(),
                generated_on,
                organisation: organisation.clone(),
            });
            files.push(EvidenceFile { name, bytes });
        }
    }
    files.push(EvidenceFile { name: INDEX_CSV.to_owned(), bytes: index_csv(&index)? });
    files.push(EvidenceFile {
        name: README.to_owned(),
        bytes: readme(&organisation, scope, &tables, &index).into_bytes(),
    });
    Ok(EvidenceBundle { organisation, period: scope.period, generated_at: scope.now, files, index })
}

/// A file stem is a plain, unique name; every row has as many cells as there are columns.
fn check_table(table: &EvidenceTable, stems: &mut HashSet<String>) -> Result<(), EvidenceError> {
    let malformed = |why: &str| Err(EvidenceError::Malformed(table.file_stem.clone(), why.to_owned()));
    let plain = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    if table.file_stem.is_empty() || !table.file_stem.chars().all(plain) {
        return malformed("nom de fichier : minuscules, chiffres et tirets seulement");
    }
    if table.columns.is_empty() || table.rows.iter().any(|row| row.len() != table.columns.len()) {
        return malformed("chaque ligne doit avoir autant de cellules que de colonnes");
    }
    if ["index", "lisezmoi"].contains(&table.file_stem.as_str()) || !stems.insert(table.file_stem.clone()) {
        return malformed("nom de fichier déjà pris");
    }
    Ok(())
}

fn csv_error(e: impl Display) -> EvidenceError {
    EvidenceError::Io(format!("écriture CSV impossible : {e}"))
}

/// The table as CSV, header first; an empty table has one line saying nothing was recorded.
fn table_csv(table: &EvidenceTable) -> Result<Vec<u8>, EvidenceError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(&table.columns).map_err(csv_error)?;
    if table.rows.is_empty() {
        let mut line = vec![String::new(); table.columns.len()];
        line[0] = NO_DATA.to_owned();
        writer.write_record(&line).map_err(csv_error)?;
    }
    for row in &table.rows {
        writer.write_record(row).map_err(csv_error)?;
    }
    writer.into_inner().map_err(csv_error)
}

fn index_csv(index: &[IndexEntry]) -> Result<Vec<u8>, EvidenceError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(["fichier", "indicateur", "titre", "lignes", "généré le", "organisme"]).map_err(csv_error)?;
    for entry in index {
        writer
            .write_record([
                entry.file.clone(),
                entry.indicator.to_string(),
                entry.title.clone(),
                entry.rows.to_string(),
                entry.generated_on.to_string(),
                entry.organisation.clone(),
            ])
            .map_err(csv_error)?;
    }
    writer.into_inner().map_err(csv_error)
}

fn readme(organisation: &str, scope: &EvidenceScope, tables: &[EvidenceTable], index: &[IndexEntry]) -> String {
    let generated_on = crate::attendance::records::paris_date(scope.now);
    let mut text = format!(
        "Dossier qualité (Qualiopi) — {organisation}\nPériode : {}\nGénéré le {} à partir des données enregistrées dans le LMS.\n\n\
         Chaque tableau est fourni en CSV (pour le retraiter) et en PDF (pour le lire) ; index.csv reprend la liste ci-dessous.\n\n",
        period_fr(scope.period),
        short_date_fr(generated_on)
    );
    for table in tables {
        let rows = if table.rows.is_empty() {
            "aucune donnée enregistrée".to_owned()
        } else {
            crate::locale::count_fr(table.rows.len() as i64, "ligne", "lignes")
        };
        text.push_str(&format!("Indicateur {} — {} ({rows})\n  {}\n", table.indicator, table.title, table.description));
        for entry in index.iter().filter(|e| e.file.starts_with(&format!("{}.", table.file_stem))) {
            text.push_str(&format!("  {}\n", entry.file));
        }
        text.push('\n');
    }
    text
}

/// What [`write_bundle`] did.
#[derive(Debug, Clone, Serialize)]
pub struct WrittenBundle {
    /// The folder written.
    pub dir: String,
    /// The files written, in order.
    pub files: Vec<String>,
}

/// Writes `bundle` into `dir`: created when missing; an existing file, or a folder that is not
/// empty, is refused unless `force` (then only the bundle's own files are replaced). Every file is
/// first written into a temporary folder beside `dir`, then moved into place, so a failure leaves
/// nothing half-written.
pub fn write_bundle(bundle: &EvidenceBundle, dir: &Path, force: bool) -> Result<WrittenBundle, EvidenceError> {
    let shown = dir.display();
    let exists = match std::fs::symlink_metadata(dir) {
        Ok(meta) if meta.is_dir() => true,
        Ok(_) => return Err(EvidenceError::Invalid(format!("{shown} existe et n'est pas un dossier."))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(EvidenceError::Io(format!("lecture de {shown} impossible : {e}"))),
    };
    if exists && !force {
        let mut entries =
            std::fs::read_dir(dir).map_err(|e| EvidenceError::Io(format!("lecture de {shown} impossible : {e}")))?;
        if entries.next().is_some() {
            return Err(EvidenceError::Invalid(format!(
                "le dossier {shown} n'est pas vide : choisissez un dossier vide ou ajoutez --force pour remplacer les fichiers du dossier qualité."
            )));
        }
    }
    let parent = match dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !parent.is_dir() {
        return Err(EvidenceError::Invalid(format!("le dossier parent de {shown} n'existe pas.")));
    }
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "preuves".into());
    let temporary = parent.join(format!(".{name}.{}.part", std::process::id()));
    let io =
        |what: &Path, e: std::io::Error| EvidenceError::Io(format!("écriture de {} impossible : {e}", what.display()));
    let result = (|| -> Result<(), EvidenceError> {
        std::fs::create_dir(&temporary).map_err(|e| io(&temporary, e))?;
        for file in &bundle.files {
            let path = temporary.join(&file.name);
            std::fs::write(&path, &file.bytes).map_err(|e| io(&path, e))?;
        }
        if exists {
            for file in &bundle.files {
                std::fs::rename(temporary.join(&file.name), dir.join(&file.name)).map_err(|e| io(dir, e))?;
            }
            std::fs::remove_dir(&temporary).map_err(|e| io(&temporary, e))
        } else {
            std::fs::rename(&temporary, dir).map_err(|e| io(dir, e))
        }
    })();
    if let Err(e) = result {
        // Best effort: the temporary folder holds a partial bundle nobody should read.
        let _ = std::fs::remove_dir_all(&temporary);
        return Err(e);
    }
    Ok(WrittenBundle { dir: shown.to_string(), files: bundle.files.iter().map(|f| f.name.clone()).collect() })
}

/// A rate, or why there is none (an empty cell would leave the auditor guessing).
fn cell_rate(rate: Option<f64>) -> String {
    rate.map(percent_fr).unwrap_or_else(|| "non calculable".to_owned())
}

/// Indicator 1: the published offer, as the public reads it, and where the results are published.
fn public_information(conn: &mut DbConn, scope: &EvidenceScope) -> Result<Vec<EvidenceTable>, EvidenceError> {
    #[derive(Queryable)]
    struct CourseRow {
        code: String,
        title: String,
        objectives: JsonText<Vec<String>>,
        prerequisites: JsonText<Vec<String>>,
        duration_days: i32,
        duration_minutes: i64,
        price_cents: i64,
        pricing_note: String,
        accessibility: String,
        admission: AdmissionMode,
        updated_at: NaiveDateTime,
    }
    let rows: Vec<CourseRow> = courses::table
        .filter(courses::archived_at.is_null())
        .order(courses::code)
        .select((
            courses::code,
            courses::title,
            courses::objectives,
            courses::prerequisites,
            courses::duration_days,
            courses::duration_minutes,
            courses::price_cents,
            courses::pricing_note,
            courses::accessibility,
            courses::admission,
            courses::updated_at,
        ))
        .load(conn)
        .map_err(DbError::from)?;
    let offer = EvidenceTable {
        indicator: 1,
        file_stem: "01-offre-publiee".into(),
        title: "Information du public : l'offre de formation publiée".into(),
        description: "Les formations publiées (non archivées) telles que le catalogue /formations les présente : objectifs, durée, prix, prérequis, accessibilité, modalités d'admission et date de mise à jour.".into(),
        columns: [
            "Code",
            "Intitulé",
            "Objectifs",
            "Durée",
            "Prix",
            "Prérequis",
            "Accessibilité",
            "Modalités d'admission",
            "Mis à jour le",
        ]
        .map(String::from)
        .to_vec(),
        rows: rows
            .into_iter()
            .map(|c| {
                let price = if c.pricing_note.trim().is_empty() {
                    euros_fr(c.price_cents)
                } else {
                    format!("{} ({})", euros_fr(c.price_cents), c.pricing_note.trim())
                };
                let prerequisites = c.prerequisites.into_inner();
                vec![
                    c.code,
                    c.title,
                    c.objectives.into_inner().join(" ; "),
                    format!("{} ({})", crate::locale::count_fr(i64::from(c.duration_days), "jour", "jours"), duration_fr(c.duration_minutes)),
                    price,
                    if prerequisites.is_empty() { "Aucun".to_owned() } else { prerequisites.join(" ; ") },
                    c.accessibility,
                    c.admission.label_fr().to_owned(),
                    c.updated_at.date().to_string(),
                ]
            })
            .collect(),
    };
    let report = outcomes::outcomes_report(conn, scope.period, scope.now)?;
    let page = match &scope.public_url {
        Some(base) => format!("{}/resultats", base.trim_end_matches('/')),
        None => "/resultats".to_owned(),
    };
    let published = EvidenceTable {
        indicator: 1,
        file_stem: "01-resultats-publies".into(),
        title: "Information du public : la page des résultats".into(),
        description: "La page publique « Nos résultats », liée depuis le pied de chaque page du site, et ce qu'elle publie pour la période.".into(),
        columns: ["Page", "Adresse", "Période", "Mise à jour", "Formations présentées"].map(String::from).to_vec(),
        rows: vec![vec![
            "Nos résultats".into(),
            page,
            period_fr(scope.period),
            report.updated_on.to_string(),
            report.by_course.len().to_string(),
        ]],
    };
    Ok(vec![offer, published])
}

fn indicator_row(label: String, title: String, i: &OutcomeIndicators) -> Vec<String> {
    vec![
        label,
        title,
        i.enrolled.to_string(),
        i.completed.to_string(),
        i.abandoned.to_string(),
        cell_rate(i.completion_rate),
        i.presented.to_string(),
        i.certified.to_string(),
        cell_rate(i.certification_rate),
        i.satisfaction_mean.map(|m| format!("{} / 5", decimal_fr(m, 1))).unwrap_or_else(|| "aucune réponse".to_owned()),
        i.satisfaction_answered.to_string(),
        i.satisfaction_invited.to_string(),
        cell_rate(i.satisfaction_response_rate),
    ]
}

/// Indicator 2: the outcome indicators by course, as published.
fn outcome_indicators(conn: &mut DbConn, scope: &EvidenceScope) -> Result<Vec<EvidenceTable>, EvidenceError> {
    let report = outcomes::outcomes_report(conn, scope.period, scope.now)?;
    let mut rows: Vec<Vec<String>> = report
        .by_course
        .iter()
        .map(|i| indicator_row(i.course.clone().unwrap_or_default(), i.title.clone().unwrap_or_default(), i))
        .collect();
    if !rows.is_empty() {
        rows.push(indicator_row("Total".into(), "Toutes les formations".into(), &report.total));
    }
    Ok(vec![EvidenceTable {
        indicator: 2,
        file_stem: "02-indicateurs-resultats".into(),
        title: "Indicateurs de résultats par formation".into(),
        description: "Les chiffres publiés sur la page « Nos résultats » : sessions terminées dans la période (dernière demi-journée), taux d'achèvement, taux de certification sur tous les candidats présentés (ajournés compris) et satisfaction à chaud avec son taux de réponse.".into(),
        columns: [
            "Code",
            "Formation",
            "Inscrits",
            "Terminés",
            "Abandons",
            "Taux d'achèvement",
            "Présentés",
            "Certifiés",
            "Taux de certification",
            "Satisfaction",
            "Réponses",
            "Interrogés",
            "Taux de réponse",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    }])
}

/// Indicator 3: the certification results of each session.
fn certification_results(conn: &mut DbConn, scope: &EvidenceScope) -> Result<Vec<EvidenceTable>, EvidenceError> {
    let sessions = outcomes::certification_by_session(conn, scope.period)?;
    Ok(vec![EvidenceTable {
        indicator: 3,
        file_stem: "03-resultats-certification".into(),
        title: "Résultats aux certifications par session".into(),
        description: "Par session terminée dans la période : candidats présentés au jury (dernière décision), admis, ajournés, refusés, et certificats valides délivrés.".into(),
        columns: ["Session", "Formation", "Fin de session", "Présentés", "Admis", "Ajournés", "Refusés", "Certifiés", "Taux de certification"]
            .map(String::from)
            .to_vec(),
        rows: sessions
            .into_iter()
            .map(|s| {
                vec![
                    s.session,
                    s.course,
                    s.ends_on.to_string(),
                    s.presented.to_string(),
                    s.admitted.to_string(),
                    s.deferred.to_string(),
                    s.refused.to_string(),
                    s.certified.to_string(),
                    cell_rate(outcomes::rate(s.certified, s.presented)),
                ]
            })
            .collect(),
    }])
}

/// A session that ended in the period.
#[derive(Queryable)]
struct EndedSession {
    id: TrainingSessionId,
    reference: String,
    course: String,
}

/// Indicator 11: the objectives achieved — the latest result of each trainee on each competence,
/// counted per session and competence — and each trainee's hours attended against the schedule.
fn objectives_achieved(conn: &mut DbConn, scope: &EvidenceScope) -> Result<Vec<EvidenceTable>, EvidenceError> {
    let period = scope.period;
    let sessions: Vec<EndedSession> = training_sessions::table
        .inner_join(courses::table)
        .filter(training_sessions::ends_on.ge(period.from).and(training_sessions::ends_on.le(period.to)))
        .order((courses::code, training_sessions::ends_on, training_sessions::reference))
        .select((training_sessions::id, training_sessions::reference, courses::code))
        .load(conn)
        .map_err(DbError::from)?;
    let ids: Vec<TrainingSessionId> = sessions.iter().map(|s| s.id.clone()).collect();

    #[derive(Queryable)]
    struct ResultRow {
        session: TrainingSessionId,
        trainee: UserId,
        code: String,
        label: String,
        position: i32,
        result: AssessmentResult,
    }
    // Oldest first: the last row of each (session, trainee, competence) is the result that stands.
    let results: Vec<ResultRow> = assessments::table
        .inner_join(competences::table)
        .filter(assessments::training_session_id.eq_any(&ids))
        .order((assessments::assessed_at.asc(), assessments::id.asc()))
        .select((
            assessments::training_session_id,
            assessments::trainee_id,
            competences::code,
            competences::label,
            competences::position,
            assessments::result,
        ))
        .load(conn)
        .map_err(DbError::from)?;
    let mut standing: HashMap<(TrainingSessionId, UserId, String), AssessmentResult> = HashMap::new();
    let mut labels: HashMap<String, (i32, String)> = HashMap::new();
    for row in results {
        labels.insert(row.code.clone(), (row.position, row.label));
        standing.insert((row.session, row.trainee, row.code), row.result);
    }
    let mut counts: BTreeMap<(usize, (i32, String)), [i64; 3]> = BTreeMap::new();
    let order: HashMap<&TrainingSessionId, usize> = sessions.iter().enumerate().map(|(i, s)| (&s.id, i)).collect();
    for ((session, _, code), result) in &standing {
        let Some(at) = order.get(session) else { continue };
        let position = labels.get(code).map(|(p, _)| *p).unwrap_or_default();
        let slot = counts.entry((*at, (position, code.clone()))).or_default();
        match result {
            AssessmentResult::Acquired => slot[0] += 1,
            AssessmentResult::InProgress => slot[1] += 1,
            AssessmentResult::NotAcquired => slot[2] += 1,
        }
    }
    let competence_rows = counts
        .into_iter()
        .map(|((at, (_, code)), [acquired, in_progress, not_acquired])| {
            let session = &sessions[at];
            vec![
                session.reference.clone(),
                session.course.clone(),
                code.clone(),
                labels.get(&code).map(|(_, l)| l.clone()).unwrap_or_default(),
                acquired.to_string(),
                in_progress.to_string(),
                not_acquired.to_string(),
                (acquired + in_progress + not_acquired).to_string(),
            ]
        })
        .collect();
    let achieved = EvidenceTable {
        indicator: 11,
        file_stem: "11-acquis-competences".into(),
        title: "Atteinte des objectifs : résultats des évaluations par compétence".into(),
        description: "Par session terminée dans la période et par compétence du référentiel : le dernier résultat de chaque stagiaire évalué (acquise, en cours d'acquisition, non acquise).".into(),
        columns: ["Session", "Formation", "Compétence", "Libellé", "Acquise", "En cours d'acquisition", "Non acquise", "Stagiaires évalués"]
            .map(String::from)
            .to_vec(),
        rows: competence_rows,
    };

    // Scheduled minutes per session, then the ledger's count for each trainee who started.
    let scheduled: Vec<(TrainingSessionId, i64)> = half_days::table
        .filter(half_days::training_session_id.eq_any(&ids))
        .group_by(half_days::training_session_id)
        .select((half_days::training_session_id, diesel::dsl::sum(half_days::minutes)))
        .load::<(TrainingSessionId, Option<i64>)>(conn)
        .map_err(DbError::from)?
        .into_iter()
        .map(|(id, minutes)| (id, minutes.unwrap_or(0)))
        .collect();
    let scheduled: HashMap<TrainingSessionId, i64> = scheduled.into_iter().collect();
    let trainees: Vec<(TrainingSessionId, UserId, String, EnrolmentStatus)> = enrolments::table
        .inner_join(users::table)
        .filter(enrolments::training_session_id.eq_any(&ids))
        .filter(enrolments::status.eq_any(EnrolmentStatus::STARTED))
        .order(users::display_name)
        .select((enrolments::training_session_id, enrolments::trainee_id, users::display_name, enrolments::status))
        .load(conn)
        .map_err(DbError::from)?;
    let mut attendance_rows = Vec::new();
    // One ledger read per session (the attendance module's rule); a period holds tens of sessions.
    for session in &sessions {
        let people: Vec<&(TrainingSessionId, UserId, String, EnrolmentStatus)> =
            trainees.iter().filter(|t| t.0 == session.id).collect();
        if people.is_empty() {
            continue;
        }
        let ids: Vec<UserId> = people.iter().map(|t| t.1.clone()).collect();
        let attended = crate::attendance::attended_minutes(conn, &session.id, &ids)?;
        let planned = scheduled.get(&session.id).copied().unwrap_or(0);
        for (_, trainee, name, status) in people {
            let minutes = attended.get(trainee).copied().unwrap_or(0);
            attendance_rows.push(vec![
                session.reference.clone(),
                session.course.clone(),
                name.clone(),
                status.label_fr().to_owned(),
                duration_fr(minutes),
                duration_fr(planned),
                cell_rate(outcomes::rate(minutes, planned)),
            ]);
        }
    }
    let attendance = EvidenceTable {
        indicator: 11,
        file_stem: "11-assiduite".into(),
        title: "Atteinte des objectifs : assiduité de chaque stagiaire".into(),
        description: "Par session terminée dans la période : heures suivies selon le registre d'émargement (dernière saisie par demi-journée) rapportées aux heures prévues au planning.".into(),
        columns: ["Session", "Formation", "Stagiaire", "Inscription", "Heures suivies", "Heures prévues", "Taux d'assiduité"]
            .map(String::from)
            .to_vec(),
        rows: attendance_rows,
    };
    Ok(vec![achieved, attendance])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(stem: &str, rows: Vec<Vec<String>>) -> EvidenceTable {
        EvidenceTable {
            indicator: 30,
            file_stem: stem.into(),
            title: "Essai".into(),
            description: "Un essai.".into(),
            columns: vec!["a".into(), "b".into()],
            rows,
        }
    }

    #[test]
    fn an_empty_table_says_so_and_a_malformed_one_is_refused() {
        let csv = table_csv(&table("30-essai", vec![])).unwrap_or_default();
        assert_eq!(String::from_utf8_lossy(&csv), "a,b\nAucune donnée enregistrée.,\n");
        let mut stems = HashSet::new();
        assert!(check_table(&table("30-essai", vec![vec!["1".into()]]), &mut stems).is_err());
        assert!(check_table(&table("30 essai", vec![]), &mut stems).is_err());
        assert!(check_table(&table("30-essai", vec![]), &mut stems).is_ok());
        assert!(check_table(&table("30-essai", vec![]), &mut stems).is_err(), "a stem is unique");
    }
}
