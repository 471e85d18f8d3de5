//! `lms`: the administration command line of tierslieux-lms.
//!
//! Each command parses its arguments, opens the database, calls one use case of `lms-core` and
//! renders the result as a table or, with `--json`, as JSON for scripts. Exit codes: 0 success,
//! 1 refused or invalid (one line on stderr, at most [`MAX_ERROR_CHARS`] characters, no colour
//! codes), 2 usage error (clap). Output to a closed pipe (`lms … | head`) ends the program quietly.

/// `println!` that never panics: writes one line to standard output through
/// [`output::line`], which ends the program quietly when the reader has gone.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::line(format_args!($($arg)*))
    };
}

mod commands;
mod output;

/// Longest error line printed; longer messages (one echoing a huge input) are cut with « … ».
pub const MAX_ERROR_CHARS: usize = 500;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Administration de tierslieux-lms : base de données, données de référence, personnes, lieux,
/// formations et sessions.
#[derive(Debug, Parser)]
#[command(name = "lms", version, about, long_about = None)]
struct Cli {
    /// Base de données : postgres://…, sqlite://CHEMIN, sqlite:CHEMIN ou un chemin de fichier.
    /// Par défaut, le fichier SQLite du serveur : data/lms.db.
    #[arg(long, env = "DATABASE_URL", global = true)]
    database_url: Option<String>,

    /// Sortie JSON (pour les scripts) au lieu d'un tableau.
    #[arg(long, global = true)]
    json: bool,

    /// Dossier de la clé de signature des certificats (hors base de données).
    #[arg(long, env = "LMS_KEYS_DIR", global = true, default_value = lms_core::certification::keys::DEFAULT_KEYS_DIR)]
    keys_dir: std::path::PathBuf,

    /// Adresse publique du site, imprimée dans les certificats (lien et QR code de vérification).
    #[arg(long, env = "LMS_PUBLIC_URL", global = true, default_value = lms_core::certification::issuing::DEFAULT_PUBLIC_URL, value_parser = parse_public_url)]
    public_url: String,

    /// Niveau de journalisation sur la sortie d'erreur (filtre tracing, par ex. `debug`).
    #[arg(long, env = "LMS_LOG", global = true, default_value = "warn")]
    log: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Base de données (migrations).
    #[command(subcommand)]
    Db(commands::db::DbCommand),
    /// Données de référence et de démonstration.
    #[command(subcommand)]
    Fixtures(commands::fixtures::FixturesCommand),
    /// Comptes et rôles.
    #[command(subcommand)]
    User(commands::user::UserCommand),
    /// Tiers-lieux.
    #[command(subcommand)]
    Venue(commands::venue::VenueCommand),
    /// Formations du catalogue.
    #[command(subcommand)]
    Course(commands::course::CourseCommand),
    /// Sessions de formation.
    #[command(subcommand)]
    Session(commands::session::SessionCommand),
    /// Inscriptions.
    #[command(subcommand)]
    Enrolment(commands::enrolment::EnrolmentCommand),
    /// Aménagements (situation de handicap) : demandes et réponses du ou de la référent·e.
    #[command(subcommand)]
    Adjustment(commands::adjustment::AdjustmentCommand),
    /// E-mails : boîte d'envoi (liste, nouvel essai).
    #[command(subcommand)]
    Mail(commands::mail::MailCommand),
    /// Réclamations : registre, suivi, actions d'amélioration (Qualiopi 31 et 32).
    #[command(subcommand)]
    Complaint(commands::complaint::ComplaintCommand),
    /// Émargement : vérification du registre chaîné.
    #[command(subcommand)]
    Attendance(commands::attendance::AttendanceCommand),
    /// Certification : éligibilité, délivrance, révocation, registre, vérification.
    #[command(subcommand)]
    Certify(commands::certify::CertifyCommand),
    /// Jury de certification : procès-verbal.
    #[command(subcommand)]
    Jury(commands::jury::JuryCommand),
    /// Clé de signature des certificats (hors base de données).
    #[command(subcommand)]
    Keys(commands::keys::KeysCommand),
    /// Exports réglementaires (Accrochage, LHEO).
    #[command(subcommand)]
    Export(commands::export::ExportCommand),
    /// Rapports (BPF, résultats, couverture du territoire).
    #[command(subcommand)]
    Report(commands::report::ReportCommand),
    /// Qualité (Qualiopi) : dossier de preuves pour l'auditeur.
    #[command(subcommand)]
    Quality(commands::quality::QualityCommand),
    /// Sauvegarde cohérente de la base SQLite.
    Backup(commands::backup::BackupArgs),
    /// Restaure une sauvegarde SQLite.
    Restore(commands::backup::RestoreArgs),
    /// Documents des stagiaires : certificat de réalisation, attestation de fin de formation.
    #[command(subcommand)]
    Documents(commands::documents::DocumentsCommand),
    /// Évaluation des compétences : import CSV.
    #[command(subcommand)]
    Assess(commands::assess::AssessCommand),
    /// Questionnaires de satisfaction : ouverture, liste, résultats, questionnaires.
    #[command(subcommand)]
    Survey(commands::survey::SurveyCommand),
}

/// A refusal to report on stderr with exit code 1: `erreur [code] : message`, the code being the
/// same stable code the API returns for the same refusal.
#[derive(Debug)]
pub struct Failure {
    code: &'static str,
    message: String,
}

impl<E: lms_core::Classify + std::fmt::Display> From<E> for Failure {
    fn from(error: E) -> Self {
        Failure { code: error.code(), message: error.to_string() }
    }
}

impl Failure {
    /// A refusal of the command line itself (a file it cannot read, a report that fails), with
    /// its stable code.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Failure { code, message: message.into() }
    }
}

/// `LMS_PUBLIC_URL`: an `http://` or `https://` address, kept without its trailing `/`.
fn parse_public_url(raw: &str) -> Result<String, String> {
    let url = lms_core::certification::issuing::normalise_public_url(raw);
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(url)
    } else {
        Err(format!("adresse publique invalide « {raw} » (http:// ou https://)"))
    }
}

/// Everything a command needs from the global options.
pub struct Context {
    database_url: Option<String>,
    /// Print JSON instead of tables.
    pub json: bool,
    /// The folder of the certificate signing key.
    pub keys: lms_core::certification::keys::KeyStore,
    /// The site's public address, printed in certificates.
    pub public_url: String,
    /// The shared lock on a SQLite database, held until the command ends, so that `lms restore`
    /// cannot swap the file under a command at work (and a command waits for a restore).
    database_lock: std::cell::RefCell<Option<lms_core::db::lock::DatabaseLock>>,
}

impl Context {
    /// Opens the database, refusing to work on one whose schema is behind this binary.
    pub fn connect(&self) -> Result<lms_core::DbConn, Failure> {
        let mut conn = self.connect_unchecked()?;
        let pending = lms_core::db::pending_migrations(&mut conn)?;
        if !pending.is_empty() {
            return Err(Failure::new(
                "pending_migrations",
                format!(
                    "la base n'est pas à jour ({} migration(s) en attente) : lancez `lms db migrate`",
                    pending.len()
                ),
            ));
        }
        Ok(conn)
    }

    /// Opens the database as it is (for `db migrate`); creates `data/` for the default file.
    pub fn connect_unchecked(&self) -> Result<lms_core::DbConn, Failure> {
        let url = match &self.database_url {
            Some(raw) => lms_core::DatabaseUrl::parse(raw)?,
            None => {
                let url = lms_core::DatabaseUrl::default_sqlite();
                lms_core::db::ensure_sqlite_parent(&url)
                    .map_err(|e| Failure::new("io_error", format!("impossible de créer le dossier data/ : {e}")))?;
                url
            }
        };
        if self.database_lock.borrow().is_none() {
            // A database in a read-only place cannot have its lock file created: nothing can
            // restore over it either, so the command goes on without the lock.
            if let Ok(lock) = lms_core::db::lock::hold_shared(&url) {
                *self.database_lock.borrow_mut() = lock;
            }
        }
        Ok(lms_core::db::connect(&url)?)
    }
}

/// The one stderr line of a refusal: control characters (newlines, escape sequences an input
/// may carry) become spaces, and the message is cut at [`MAX_ERROR_CHARS`] characters.
fn error_line(code: &str, message: &str) -> String {
    let clean: String = message.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let clean = clean.trim();
    let mut line = format!("erreur [{code}] : ");
    if clean.chars().count() > MAX_ERROR_CHARS {
        line.extend(clean.chars().take(MAX_ERROR_CHARS));
        line.push('…');
    } else {
        line.push_str(clean);
    }
    line
}

/// A `println!` left in a command and a closed pipe panics ("failed printing to stdout"): that
/// is not a failure of the command, so end quietly instead of printing a panic message.
fn quiet_on_closed_stdout() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message =
            payload.downcast_ref::<String>().map(String::as_str).or_else(|| payload.downcast_ref::<&str>().copied());
        if message.is_some_and(|m| m.starts_with("failed printing to stdout")) {
            std::process::exit(0);
        }
        default_hook(info);
    }));
}

fn main() -> ExitCode {
    quiet_on_closed_stdout();
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(&cli.log).unwrap_or_else(|_| "warn".into()))
        .init();
    let context = Context {
        database_url: cli.database_url,
        json: cli.json,
        keys: lms_core::certification::keys::KeyStore::at(cli.keys_dir),
        public_url: cli.public_url,
        database_lock: std::cell::RefCell::new(None),
    };
    let result = match cli.command {
        Command::Db(command) => commands::db::run(&context, command),
        Command::Fixtures(command) => commands::fixtures::run(&context, command),
        Command::User(command) => commands::user::run(&context, command),
        Command::Venue(command) => commands::venue::run(&context, command),
        Command::Course(command) => commands::course::run(&context, command),
        Command::Session(command) => commands::session::run(&context, command),
        Command::Enrolment(command) => commands::enrolment::run(&context, command),
        Command::Adjustment(command) => commands::adjustment::run(&context, command),
        Command::Mail(command) => commands::mail::run(&context, command),
        Command::Complaint(command) => commands::complaint::run(&context, command),
        Command::Attendance(command) => commands::attendance::run(&context, command),
        Command::Certify(command) => commands::certify::run(&context, command),
        Command::Jury(command) => commands::jury::run(&context, command),
        Command::Keys(command) => commands::keys::run(&context, command),
        Command::Export(command) => commands::export::run(&context, command),
        Command::Report(command) => commands::report::run(&context, command),
        Command::Quality(command) => commands::quality::run(&context, command),
        Command::Backup(args) => commands::backup::backup(&context, args),
        Command::Restore(args) => commands::backup::restore(&context, args),
        Command::Documents(command) => commands::documents::run(&context, command),
        Command::Assess(command) => commands::assess::run(&context, command),
        Command::Survey(command) => commands::survey::run(&context, command),
    };
    match result {
        Ok(code) => code,
        Err(Failure { code, message }) => {
            use std::io::Write as _;
            // One line, whatever the message; a closed stderr is nobody left to tell.
            let _ = writeln!(std::io::stderr().lock(), "{}", error_line(code, &message));
            ExitCode::from(1)
        }
    }
}
