//! `lms user`: accounts and roles.

use std::io::Read;
use std::process::ExitCode;

use clap::Subcommand;
use lms_core::access::accounts;
use lms_core::people::{self, NewUser, Role};

use crate::{Context, Failure, output};

/// User commands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Crée un compte.
    Add {
        /// Adresse e-mail (identifiant de connexion).
        #[arg(long)]
        email: String,
        /// Nom affiché.
        #[arg(long)]
        name: String,
        /// Rôle : trainee (stagiaire), trainer (formateur) ou admin.
        #[arg(long, value_parser = ["trainee", "trainer", "admin"])]
        role: String,
        /// Lit le mot de passe sur l'entrée standard (jamais en argument : il resterait dans
        /// l'historique du shell). Au moins 10 caractères.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Liste les comptes.
    List {
        /// Seulement les comptes ayant ce rôle.
        #[arg(long, value_parser = ["trainee", "trainer", "admin"])]
        role: Option<String>,
    },
    /// Ajoute un rôle à un compte (sans effet s'il l'a déjà).
    SetRole {
        /// Adresse e-mail du compte.
        #[arg(long)]
        email: String,
        /// Rôle à ajouter.
        #[arg(long, value_parser = ["trainee", "trainer", "admin"])]
        role: String,
    },
    /// Retire un rôle à un compte (effet immédiat sur ses connexions et jetons).
    RemoveRole {
        /// Adresse e-mail du compte.
        #[arg(long)]
        email: String,
        /// Rôle à retirer.
        #[arg(long, value_parser = ["trainee", "trainer", "admin"])]
        role: String,
    },
    /// Désactive un compte : plus de connexion possible ; ses connexions et jetons sont fermés.
    /// Ses inscriptions, émargements et certificats sont conservés.
    Deactivate {
        /// Adresse e-mail du compte.
        #[arg(long)]
        email: String,
    },
    /// Réactive un compte désactivé (il se reconnecte avec son mot de passe).
    Reactivate {
        /// Adresse e-mail du compte.
        #[arg(long)]
        email: String,
    },
    /// Révoque tous les jetons d'API du compte et ferme toutes ses connexions (son mot de passe
    /// reste valable).
    RevokeTokens {
        /// Adresse e-mail du compte.
        #[arg(long)]
        email: String,
    },
    /// Remplace le mot de passe d'un compte (lu sur l'entrée standard) ; toutes ses connexions et
    /// tous ses jetons d'API sont fermés.
    SetPassword {
        /// Adresse e-mail du compte.
        #[arg(long)]
        email: String,
        /// Lit le mot de passe sur l'entrée standard.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

fn read_password() -> Result<String, Failure> {
    let mut raw = String::new();
    std::io::stdin()
        .take(4096)
        .read_to_string(&mut raw)
        .map_err(|e| Failure::new("io_error", format!("lecture du mot de passe impossible : {e}")))?;
    // Only the line terminator is stripped: spaces inside a password are legitimate.
    Ok(raw.trim_end_matches(['\n', '\r']).to_owned())
}

fn render(context: &Context, users: &[people::UserView]) -> Result<ExitCode, Failure> {
    let rows = users
        .iter()
        .map(|u| {
            vec![
                u.email.clone(),
                u.name.clone(),
                u.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", "),
                if u.active { "actif".into() } else { "désactivé".into() },
            ]
        })
        .collect();
    output::listing(context, users, &["e-mail", "nom", "rôles", "état"], rows)
}

fn ended_summary(ended: &accounts::AccessEnded) -> String {
    format!("{} connexion(s) fermée(s), {} jeton(s) d'API révoqué(s).", ended.login_sessions, ended.api_tokens)
}

/// Runs a user command.
pub fn run(context: &Context, command: UserCommand) -> Result<ExitCode, Failure> {
    match command {
        UserCommand::Add { email, name, role, .. } => {
            let role = Role::parse(&role)?;
            let password = read_password()?;
            let mut conn = context.connect()?;
            let user = people::add_user(&mut conn, &NewUser { email, display_name: name, role, password })?;
            if context.json {
                return output::json(&user);
            }
            outln!("Compte créé : {} ({})", user.email, role.as_str());
            Ok(ExitCode::SUCCESS)
        }
        UserCommand::List { role } => {
            let role = role.as_deref().map(Role::parse).transpose()?;
            let mut conn = context.connect()?;
            let users = people::list_users(&mut conn, role)?;
            render(context, &users)
        }
        UserCommand::SetRole { email, role } => {
            let role = Role::parse(&role)?;
            let mut conn = context.connect()?;
            let user = people::grant_role(&mut conn, &email, role)?;
            render(context, std::slice::from_ref(&user))
        }
        UserCommand::SetPassword { email, .. } => {
            let password = read_password()?;
            let mut conn = context.connect()?;
            let ended = accounts::set_password_and_end_logins(&mut conn, &email, &password, lms_core::db::now())?;
            if context.json {
                return output::json(&serde_json::json!({
                    "email": ended.email,
                    "password_changed": true,
                    "login_sessions_ended": ended.login_sessions,
                    "api_tokens_revoked": ended.api_tokens,
                }));
            }
            outln!("Mot de passe modifié. {}", ended_summary(&ended));
            Ok(ExitCode::SUCCESS)
        }
        UserCommand::RemoveRole { email, role } => {
            let role = Role::parse(&role)?;
            let mut conn = context.connect()?;
            let user = accounts::remove_role(&mut conn, &email, role)?;
            render(context, std::slice::from_ref(&user))
        }
        UserCommand::Deactivate { email } => {
            let mut conn = context.connect()?;
            let ended = accounts::deactivate(&mut conn, &email, lms_core::db::now())?;
            if context.json {
                return output::json(&ended);
            }
            outln!("Compte {} désactivé. {}", ended.email, ended_summary(&ended));
            Ok(ExitCode::SUCCESS)
        }
        UserCommand::Reactivate { email } => {
            let mut conn = context.connect()?;
            let user = accounts::reactivate(&mut conn, &email, lms_core::db::now())?;
            render(context, std::slice::from_ref(&user))
        }
        UserCommand::RevokeTokens { email } => {
            let mut conn = context.connect()?;
            let ended = accounts::revoke_all_logins(&mut conn, &email, lms_core::db::now())?;
            if context.json {
                return output::json(&ended);
            }
            outln!("{}", ended_summary(&ended));
            Ok(ExitCode::SUCCESS)
        }
    }
}
