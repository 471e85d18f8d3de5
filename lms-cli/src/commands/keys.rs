//! `lms keys`: the organisation's signing key (outside the database; never printed).

use std::process::ExitCode;

use clap::Subcommand;
use lms_core::certification::keys::KeyInfo;

use crate::{Context, Failure, output};

/// Key commands (folder `--keys-dir` / `LMS_KEYS_DIR`, default `data/keys`).
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Crée la clé de signature Ed25519 une fois pour toutes (fichier secret en 0600, jamais
    /// affiché) et sa clé publique (JWK), publiée par le serveur. Refuse si une clé existe déjà.
    Init,
    /// Affiche la clé publique, son identifiant (kid) et les droits du fichier secret.
    Show,
}

fn print(context: &Context, info: &KeyInfo) -> Result<ExitCode, Failure> {
    if context.json {
        return output::json(info);
    }
    outln!("Dossier : {}", info.dir);
    outln!("Identifiant (kid) : {}", info.kid);
    outln!("Algorithme : {} (Ed25519)", info.alg);
    outln!("Clé publique (x) : {}", info.public_jwk.x);
    outln!("Droits du fichier secret : {}", info.secret_file_mode);
    Ok(ExitCode::SUCCESS)
}

/// Runs a key command.
pub fn run(context: &Context, command: KeysCommand) -> Result<ExitCode, Failure> {
    let store = &context.keys;
    match command {
        KeysCommand::Init => {
            let info = store.init()?;
            if !context.json {
                outln!("Clé de signature créée.");
            }
            print(context, &info)
        }
        KeysCommand::Show => print(context, &store.info()?),
    }
}
