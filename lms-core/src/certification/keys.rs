//! The organisation's Ed25519 signing key, kept OUTSIDE the database: a stolen database dump must
//! not let anyone sign certificates.
//!
//! The keys folder (`LMS_KEYS_DIR`, default `data/keys`) holds two files:
//! - `signing-key.ed25519`: the 32-byte secret seed, hex, owner-only permissions (0600), never
//!   printed or logged; loading refuses a file readable by group or others;
//! - `signing-key.pub.jwk`: the public key as a JSON Web Key (RFC 8037, `kty` OKP, `crv` Ed25519)
//!   with its RFC 7638 thumbprint as `kid`. The server publishes it as a JWKS and needs nothing else.
//!
//! The folder and both files must not be writable by group or others (whoever could write there
//! could swap the key); every read checks it and names the `chmod` that fixes it. `lms keys show`
//! loads the secret too and checks that it matches the public key, so a damaged file is reported.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Classify, ErrorKind};

/// Environment variable the doors read the keys folder from (the core is given the folder).
pub const KEYS_DIR_ENV: &str = "LMS_KEYS_DIR";
/// Default keys folder (next to the default database).
pub const DEFAULT_KEYS_DIR: &str = "data/keys";
const SECRET_FILE: &str = "signing-key.ed25519";
const PUBLIC_FILE: &str = "signing-key.pub.jwk";

/// Errors of key handling.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// `lms keys init` was already run.
    #[error("une clé de signature existe déjà dans {0} (elle n'est jamais remplacée automatiquement)")]
    AlreadyExists(String),
    /// No key yet.
    #[error("aucune clé de signature dans {0} : lancez `lms keys init`")]
    Missing(String),
    /// The secret key file is readable by others.
    #[error("la clé secrète {0} est lisible par d'autres comptes : `chmod 600 {0}` puis réessayez")]
    TooOpen(String),
    /// The keys folder or a key file can be modified by other accounts.
    #[error("{path} est modifiable par d'autres comptes (droits {mode:o}) : `chmod {fix} {path}` puis réessayez")]
    Writable {
        /// The folder or file.
        path: String,
        /// Its permissions, octal.
        mode: u32,
        /// The mode to give it (`700` for the folder, `600` / `644` for the files).
        fix: &'static str,
    },
    /// A key file is malformed.
    #[error("fichier de clé invalide : {0}")]
    Malformed(String),
    /// The file system refused.
    #[error("accès au dossier des clés impossible ({path}) : {reason}")]
    Io {
        /// Path concerned.
        path: String,
        /// What the system said.
        reason: String,
    },
}

impl Classify for KeyError {
    fn kind(&self) -> ErrorKind {
        match self {
            KeyError::AlreadyExists(_) => ErrorKind::Conflict,
            KeyError::Missing(_) => ErrorKind::NotFound,
            KeyError::TooOpen(_) | KeyError::Writable { .. } | KeyError::Malformed(_) => ErrorKind::Invalid,
            KeyError::Io { .. } => ErrorKind::Unavailable,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            KeyError::AlreadyExists(_) => "key_exists",
            KeyError::Missing(_) => "key_missing",
            KeyError::TooOpen(_) | KeyError::Writable { .. } => "key_permissions",
            KeyError::Malformed(_) => "key_malformed",
            KeyError::Io { .. } => "key_io",
        }
    }
}

fn io_error(path: &Path, error: std::io::Error) -> KeyError {
    KeyError::Io { path: path.display().to_string(), reason: error.to_string() }
}

/// The public key as a JSON Web Key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PublicJwk {
    /// `OKP`.
    pub kty: String,
    /// `Ed25519`.
    pub crv: String,
    /// The 32-byte public key, base64url without padding.
    pub x: String,
    /// RFC 7638 thumbprint, base64url.
    pub kid: String,
    /// `EdDSA`.
    pub alg: String,
    /// `sig`.
    #[serde(rename = "use")]
    pub key_use: String,
}

impl PublicJwk {
    /// The JWK of a verifying key.
    pub fn of(key: &VerifyingKey) -> Self {
        let x = URL_SAFE_NO_PAD.encode(key.as_bytes());
        // RFC 7638: the required members, in lexicographic order, without whitespace.
        let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
        PublicJwk { kty: "OKP".into(), crv: "Ed25519".into(), x, kid, alg: "EdDSA".into(), key_use: "sig".into() }
    }

    /// The verifying key this JWK describes (checks the thumbprint too).
    pub fn verifying_key(&self) -> Result<VerifyingKey, KeyError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(self.x.as_bytes())
            .map_err(|_| KeyError::Malformed("clé publique non base64url".into()))?;
        let bytes: [u8; 32] =
            bytes.try_into().map_err(|_| KeyError::Malformed("clé publique de longueur invalide".into()))?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::Malformed("clé publique invalide".into()))?;
        if self.kty != "OKP" || self.crv != "Ed25519" || PublicJwk::of(&key).kid != self.kid {
            return Err(KeyError::Malformed("JWK incohérente (type, courbe ou empreinte)".into()));
        }
        Ok(key)
    }
}

/// The keys folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStore {
    dir: PathBuf,
}

/// What `lms keys show` prints: never the secret.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct KeyInfo {
    /// The folder.
    pub dir: String,
    /// Key identifier (thumbprint).
    pub kid: String,
    /// Algorithm.
    pub alg: String,
    /// The public JWK.
    pub public_jwk: PublicJwk,
    /// Permissions of the secret file, octal (`600`).
    pub secret_file_mode: String,
}

impl KeyStore {
    /// A given folder.
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        KeyStore { dir: dir.into() }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn secret_path(&self) -> PathBuf {
        self.dir.join(SECRET_FILE)
    }

    fn public_path(&self) -> PathBuf {
        self.dir.join(PUBLIC_FILE)
    }

    /// Creates the key once (refuses if one exists) and returns its public description.
    pub fn init(&self) -> Result<KeyInfo, KeyError> {
        let secret_path = self.secret_path();
        if secret_path.exists() {
            return Err(KeyError::AlreadyExists(self.dir.display().to_string()));
        }
        create_private_dir(&self.dir)?;
        self.check_not_writable_by_others(&self.dir, "700")?;
        let mut seed = [0_u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut seed);
        let signing = SigningKey::from_bytes(&seed);
        let hex: String = seed.iter().map(|b| format!("{b:02x}")).collect();
        seed.fill(0);
        write_owner_only(&secret_path, format!("{hex}\n").as_bytes())?;
        let jwk = PublicJwk::of(&signing.verifying_key());
        let text = serde_json::to_string_pretty(&jwk).map_err(|e| KeyError::Malformed(e.to_string()))?;
        std::fs::write(self.public_path(), text + "\n").map_err(|e| io_error(&self.public_path(), e))?;
        self.info()
    }

    /// The public description of the key, after checking the permissions and that both files are
    /// whole: the secret must parse and match the public key.
    pub fn info(&self) -> Result<KeyInfo, KeyError> {
        let mode = self.check_secret_permissions()?;
        let jwk = self.public_jwk()?;
        let signer = self.signing_key()?;
        if signer.jwk() != &jwk {
            return Err(KeyError::Malformed(format!(
                "{} ne correspond pas à la clé secrète {} : l'un des deux fichiers a été modifié ou remplacé",
                self.public_path().display(),
                self.secret_path().display()
            )));
        }
        Ok(KeyInfo {
            dir: self.dir.display().to_string(),
            kid: jwk.kid.clone(),
            alg: jwk.alg.clone(),
            public_jwk: jwk,
            secret_file_mode: format!("{mode:o}"),
        })
    }

    /// The public key only (what the server reads).
    pub fn public_jwk(&self) -> Result<PublicJwk, KeyError> {
        self.check_not_writable_by_others(&self.dir, "700")?;
        let path = self.public_path();
        self.check_not_writable_by_others(&path, "644")?;
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(KeyError::Missing(self.dir.display().to_string()));
            }
            Err(e) => return Err(io_error(&path, e)),
        };
        let jwk: PublicJwk =
            serde_json::from_str(&text).map_err(|e| KeyError::Malformed(format!("{}: {e}", path.display())))?;
        jwk.verifying_key()?;
        Ok(jwk)
    }

    /// The signing key (for issuing), refused if the file is readable by others.
    pub fn signing_key(&self) -> Result<Signer, KeyError> {
        self.check_secret_permissions()?;
        let path = self.secret_path();
        let text = std::fs::read_to_string(&path).map_err(|e| io_error(&path, e))?;
        let hex = text.trim();
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(KeyError::Malformed(format!("{} : 64 caractères hexadécimaux attendus", path.display())));
        }
        let mut seed = [0_u8; 32];
        for (index, byte) in seed.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[index * 2..index * 2 + 2], 16)
                .map_err(|_| KeyError::Malformed("hexadécimal invalide".into()))?;
        }
        let key = SigningKey::from_bytes(&seed);
        seed.fill(0);
        let jwk = PublicJwk::of(&key.verifying_key());
        Ok(Signer { key, jwk })
    }

    /// Refuses a folder or file that group or others may write (a missing one is left to the
    /// read that follows, which says how to create the key).
    #[cfg(unix)]
    fn check_not_writable_by_others(&self, path: &Path, fix: &'static str) -> Result<(), KeyError> {
        use std::os::unix::fs::PermissionsExt;
        let metadata = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_error(path, e)),
        };
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o022 != 0 {
            return Err(KeyError::Writable { path: path.display().to_string(), mode, fix });
        }
        Ok(())
    }

    #[cfg(not(unix))]
    fn check_not_writable_by_others(&self, _path: &Path, _fix: &'static str) -> Result<(), KeyError> {
        Ok(())
    }

    #[cfg(unix)]
    fn check_secret_permissions(&self) -> Result<u32, KeyError> {
        use std::os::unix::fs::PermissionsExt;
        self.check_not_writable_by_others(&self.dir, "700")?;
        let path = self.secret_path();
        let metadata = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(KeyError::Missing(self.dir.display().to_string()));
            }
            Err(e) => return Err(io_error(&path, e)),
        };
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyError::TooOpen(path.display().to_string()));
        }
        Ok(mode)
    }

    #[cfg(not(unix))]
    fn check_secret_permissions(&self) -> Result<u32, KeyError> {
        if !self.secret_path().exists() {
            return Err(KeyError::Missing(self.dir.display().to_string()));
        }
        Ok(0o600)
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> Result<(), KeyError> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(|e| io_error(dir, e))
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> Result<(), KeyError> {
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))
}

fn write_owner_only(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| io_error(path, e))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(|e| io_error(path, e))
}

/// A loaded signing key. Its `Debug` never shows the secret.
pub struct Signer {
    key: SigningKey,
    jwk: PublicJwk,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("kid", &self.jwk.kid).finish_non_exhaustive()
    }
}

impl Signer {
    /// Signs bytes (Ed25519).
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        ed25519_dalek::Signer::sign(&self.key, message).to_bytes()
    }

    /// The public JWK.
    pub fn jwk(&self) -> &PublicJwk {
        &self.jwk
    }

    /// A throw-away key, for tests and benchmarks that must not touch the keys folder.
    pub fn ephemeral() -> Self {
        let mut seed = [0_u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut seed);
        let key = SigningKey::from_bytes(&seed);
        let jwk = PublicJwk::of(&key.verifying_key());
        Signer { key, jwk }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_writes_an_owner_only_secret_and_a_public_jwk_once() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = KeyStore::at(dir.path().join("keys"));
        let info = store.init().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(info.secret_file_mode, "600");
        assert!(matches!(store.init(), Err(KeyError::AlreadyExists(_))));
        let signer = store.signing_key().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(signer.jwk().kid, info.kid);
        assert!(!format!("{signer:?}").contains(&info.public_jwk.x));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let secret = store.dir().join(SECRET_FILE);
            let _ = std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644));
            assert!(matches!(store.signing_key(), Err(KeyError::TooOpen(_))));
        }
    }

    #[test]
    fn a_missing_key_says_how_to_create_one() {
        let store = KeyStore::at("/nonexistent/lms-keys");
        assert!(matches!(store.public_jwk(), Err(KeyError::Missing(_))));
        assert!(matches!(store.signing_key(), Err(KeyError::Missing(_))));
    }
}
