//! `lms user`: accounts and roles.

use std::io::Read;
use std::process::ExitCode;

use clap::Subcommand;
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
    /// Remplace le mot de passe d'un compte (lu sur l'entrée standard).
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
        .map_err(|e| Failure::new(format!("lecture du mot de passe impossible : {e}")))?;
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
            println!("Compte créé : {} ({})", user.email, role.as_str());
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
            people::set_password(&mut conn, &email, &password)?;
            if context.json {
                return output::json(&serde_json::json!({ "email": email, "password_changed": true }));
            }
            println!("Mot de passe modifié.");
            Ok(ExitCode::SUCCESS)
        }
    }
}
