//! Published revocation: a W3C Bitstring Status List (`BitstringStatusListEntry`) that anyone can
//! fetch and check, so that a revoked certificate stops verifying for everyone, not only for us.
//!
//! Why this method rather than 1EdTech's Revocation List: it is the status method of the
//! Verifiable Credentials data model 2.0 that our credentials already use (its terms are in the
//! `https://www.w3.org/ns/credentials/v2` context, no further context needed), and a verifier
//! downloads the whole list, so we never learn which certificate is being checked nor publish
//! the identifiers of revoked certificates.
//!
//! Each certificate gets the next index of the current list when it is issued (gapless: the
//! list's `allocated` counter moves inside the issuing transaction, guarded so that concurrent
//! issuers serialise on the list row); a list holds [`CAPACITY`] entries (16 KiB of bits, the
//! minimum size the specification sets for herd privacy) and the next one is opened when it is
//! full. The signed list credential is stored, so the server publishes it without holding the
//! secret key: it is signed when a list receives its first entry and signed again, from the
//! register, in the transaction of each revocation.

use std::io::{Read, Write};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::credential::{self, CredentialFrame, CredentialProblem, JwtClaims, JwtPayload};
use super::eligibility::CertifyError;
use super::keys::{PublicJwk, Signer};
use super::registry::CertificateStatus;
use crate::db::schema::{certificates, credential_status_lists};
use crate::db::{DbConn, DbError};

/// Entries per list: 131,072 bits, 16 KiB before compression.
pub const CAPACITY: i64 = 131_072;
/// The path under the public base URL where list `N` is published (`/credentials/status/N`).
pub const STATUS_PATH: &str = "/credentials/status";
const PURPOSE: &str = "revocation";

/// The URL of a status list credential.
pub fn list_url(public_url: &str, list: i32) -> String {
    format!("{public_url}{STATUS_PATH}/{list}")
}

/// A credential's `credentialStatus`: where its bit is published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusListEntry {
    /// `{list URL}#{index}`.
    pub id: String,
    /// `BitstringStatusListEntry`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `revocation`.
    pub status_purpose: String,
    /// The bit's index in the list, in decimal (a string, as the specification requires).
    pub status_list_index: String,
    /// The list credential's URL.
    pub status_list_credential: String,
}

impl StatusListEntry {
    fn new(list_url: String, index: i64) -> Self {
        StatusListEntry {
            id: format!("{list_url}#{index}"),
            kind: "BitstringStatusListEntry".into(),
            status_purpose: PURPOSE.into(),
            status_list_index: index.to_string(),
            status_list_credential: list_url,
        }
    }

    /// The list number and index this entry points at, if it is one of ours.
    fn position(&self) -> Option<(i32, usize)> {
        let (base, list) = self.status_list_credential.rsplit_once('/')?;
        if !base.ends_with(STATUS_PATH) || self.kind != "BitstringStatusListEntry" || self.status_purpose != PURPOSE {
            return None;
        }
        Some((list.parse().ok()?, self.status_list_index.parse().ok()?))
    }
}

/// The subject of a status list credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BitstringStatusList {
    /// `{list URL}#list`.
    pub id: String,
    /// `BitstringStatusList`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `revocation`.
    pub status_purpose: String,
    /// Multibase base64url (`u…`) of the GZIP-compressed bits, index 0 the first byte's highest bit.
    pub encoded_list: String,
}

/// A `BitstringStatusListCredential`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusListCredential {
    /// `@context`, `id` (the list URL) and `type`.
    #[serde(flatten)]
    pub frame: CredentialFrame,
    /// The issuer's profile URL.
    pub issuer: String,
    /// When this version of the list was signed.
    pub valid_from: String,
    /// The list.
    pub credential_subject: BitstringStatusList,
}

/// The payload of a signed status list.
pub type StatusListPayload = JwtPayload<StatusListCredential>;

/// Encodes the bits set at `revoked` into a list of [`CAPACITY`] bits.
pub fn encode_list(revoked: &[i64]) -> Result<String, CertifyError> {
    let mut bits = vec![0_u8; (CAPACITY / 8) as usize];
    for index in revoked.iter().filter_map(|i| usize::try_from(*i).ok()) {
        if let Some(byte) = bits.get_mut(index / 8) {
            *byte |= 0x80 >> (index % 8);
        }
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let compressed = encoder
        .write_all(&bits)
        .and_then(|()| encoder.finish())
        .map_err(|e| CertifyError::Io(format!("compression de la liste de statut : {e}")))?;
    Ok(format!("u{}", URL_SAFE_NO_PAD.encode(compressed)))
}

/// Whether bit `index` of an encoded list is set; `None` when the list cannot be decoded or is
/// too short.
pub fn bit_is_set(encoded_list: &str, index: usize) -> Option<bool> {
    let compressed = URL_SAFE_NO_PAD.decode(encoded_list.strip_prefix('u')?).ok()?;
    let mut bits = Vec::new();
    flate2::read::GzDecoder::new(compressed.as_slice()).take(1 << 24).read_to_end(&mut bits).ok()?;
    bits.get(index / 8).map(|byte| byte & (0x80 >> (index % 8)) != 0)
}

fn sign_list(
    signer: &Signer,
    public_url: &str,
    list: i32,
    revoked: &[i64],
    now: NaiveDateTime,
) -> Result<String, CertifyError> {
    let url = list_url(public_url, list);
    let valid_from = now.and_utc();
    let credential = StatusListCredential {
        frame: CredentialFrame {
            context: vec![credential::OB_CONTEXT[0].to_owned()],
            id: url.clone(),
            types: vec!["VerifiableCredential".into(), "BitstringStatusListCredential".into()],
        },
        issuer: credential::issuer_id(public_url),
        valid_from: valid_from.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        credential_subject: BitstringStatusList {
            id: format!("{url}#list"),
            kind: "BitstringStatusList".into(),
            status_purpose: PURPOSE.into(),
            encoded_list: encode_list(revoked)?,
        },
    };
    let payload = JwtPayload {
        claims: JwtClaims {
            iss: credential.issuer.clone(),
            jti: url.clone(),
            sub: Some(credential.credential_subject.id.clone()),
            nbf: valid_from.timestamp(),
        },
        credential,
    };
    credential::sign(signer, public_url, &payload).map_err(|problem| corrupt(list, problem))
}

fn corrupt(list: i32, problem: CredentialProblem) -> CertifyError {
    CertifyError::CorruptCertificate { number: format!("liste de statut {list}"), problem }
}

/// Gives the certificate being issued the next index of the current list (inside the issuing
/// transaction), opening the next list when this one fills up and signing a list that receives
/// its first entry.
pub(crate) fn allocate_entry(
    conn: &mut DbConn,
    signer: &Signer,
    public_url: &str,
    now: NaiveDateTime,
) -> Result<(i32, i64, StatusListEntry), CertifyError> {
    use credential_status_lists::dsl as l;
    // Each pass either takes an index or finds the current list full; a full list always has a
    // successor (opened by whoever took its last index), so a few passes suffice.
    for _ in 0..4 {
        let current: Option<i32> =
            l::credential_status_lists.select(diesel::dsl::max(l::list_number)).first(conn).map_err(DbError::from)?;
        let list = current.unwrap_or(1);
        if current.is_none() {
            open_list(conn, list)?;
        }
        // The guarded increment takes the row lock (PostgreSQL) and never passes the capacity.
        let taken = diesel::update(
            l::credential_status_lists.filter(l::list_number.eq(list)).filter(l::allocated.lt(CAPACITY)),
        )
        .set(l::allocated.eq(l::allocated + 1))
        .execute(conn)
        .map_err(DbError::from)?;
        if taken == 0 {
            let next_exists: i64 = l::credential_status_lists
                .filter(l::list_number.eq(list + 1))
                .count()
                .get_result(conn)
                .map_err(DbError::from)?;
            if next_exists == 0 {
                open_list(conn, list + 1)?;
            }
            continue;
        }
        let (allocated, stored_url): (i64, Option<String>) = l::credential_status_lists
            .filter(l::list_number.eq(list))
            .select((l::allocated, l::public_url))
            .first(conn)
            .map_err(DbError::from)?;
        if allocated == CAPACITY {
            open_list(conn, list + 1)?;
        }
        let url = match stored_url {
            Some(url) => url,
            None => {
                let jwt = sign_list(signer, public_url, list, &[], now)?;
                diesel::update(l::credential_status_lists.filter(l::list_number.eq(list)))
                    .set((l::public_url.eq(public_url), l::credential_jwt.eq(&jwt), l::updated_at.eq(now)))
                    .execute(conn)
                    .map_err(DbError::from)?;
                public_url.to_owned()
            }
        };
        let index = allocated - 1;
        return Ok((list, index, StatusListEntry::new(list_url(&url, list), index)));
    }
    Err(CertifyError::Io("aucune liste de statut disponible : réessayez".into()))
}

fn open_list(conn: &mut DbConn, list: i32) -> Result<(), CertifyError> {
    use credential_status_lists::dsl as l;
    diesel::insert_into(l::credential_status_lists)
        .values((l::list_number.eq(list), l::allocated.eq(0_i64)))
        .execute(conn)
        .map_err(DbError::from)?;
    Ok(())
}

/// Signs list `list` again from the register (inside the revocation's transaction).
pub(crate) fn republish(conn: &mut DbConn, signer: &Signer, list: i32, now: NaiveDateTime) -> Result<(), CertifyError> {
    use credential_status_lists::dsl as l;
    // Touching the row first serialises concurrent revocations of the same list (PostgreSQL),
    // so each signs a list that includes the others' bits.
    diesel::update(l::credential_status_lists.filter(l::list_number.eq(list)))
        .set(l::updated_at.eq(now))
        .execute(conn)
        .map_err(DbError::from)?;
    let public_url: Option<String> = l::credential_status_lists
        .filter(l::list_number.eq(list))
        .select(l::public_url)
        .first(conn)
        .optional()
        .map_err(DbError::from)?
        .flatten();
    let Some(public_url) = public_url else {
        return Err(corrupt(list, CredentialProblem::Unreadable("liste jamais publiée".into())));
    };
    let revoked: Vec<i64> = certificates::table
        .filter(certificates::status_list.eq(list))
        .filter(certificates::status.eq(CertificateStatus::Revoked))
        .select(certificates::status_index)
        .load::<Option<i64>>(conn)
        .map_err(DbError::from)?
        .into_iter()
        .flatten()
        .collect();
    let jwt = sign_list(signer, &public_url, list, &revoked, now)?;
    diesel::update(l::credential_status_lists.filter(l::list_number.eq(list)))
        .set(l::credential_jwt.eq(&jwt))
        .execute(conn)
        .map_err(DbError::from)?;
    Ok(())
}

/// The signed status list `list` as published (a VC-JWT); `None` for a list not yet published.
pub fn published_list(conn: &mut DbConn, list: i32) -> Result<Option<String>, CertifyError> {
    use credential_status_lists::dsl as l;
    Ok(l::credential_status_lists
        .filter(l::list_number.eq(list))
        .select(l::credential_jwt)
        .first::<Option<String>>(conn)
        .optional()
        .map_err(DbError::from)?
        .flatten())
}

/// What the published list says about a credential's entry: `Some(true)` if revoked, `None` when
/// the entry is not one of our lists. With `key`, the list's signature is checked too (without, it
/// is our own stored copy, trusted like the register). A list that does not verify or cannot be
/// decoded is an error, never "not revoked".
pub fn published_status(
    conn: &mut DbConn,
    key: Option<&PublicJwk>,
    entry: &StatusListEntry,
) -> Result<Option<bool>, CertifyError> {
    let Some((list, index)) = entry.position() else { return Ok(None) };
    let Some(jwt) = published_list(conn, list)? else { return Ok(None) };
    let payload: StatusListPayload = match key {
        Some(key) => credential::verify(&jwt, key),
        None => credential::unverified_payload(&jwt),
    }
    .map_err(|problem| corrupt(list, problem))?;
    if payload.credential.frame.id != entry.status_list_credential {
        return Err(corrupt(list, CredentialProblem::Unreadable("liste publiée sous une autre adresse".into())));
    }
    bit_is_set(&payload.credential.credential_subject.encoded_list, index)
        .map(Some)
        .ok_or_else(|| corrupt(list, CredentialProblem::Unreadable("liste de statut illisible".into())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_bits_read_back_and_others_stay_clear() {
        let encoded = encode_list(&[0, 9, CAPACITY - 1]).unwrap_or_else(|e| panic!("{e}"));
        assert!(encoded.starts_with('u'));
        assert_eq!(bit_is_set(&encoded, 0), Some(true));
        assert_eq!(bit_is_set(&encoded, 1), Some(false));
        assert_eq!(bit_is_set(&encoded, 9), Some(true));
        assert_eq!(bit_is_set(&encoded, (CAPACITY - 1) as usize), Some(true));
        assert_eq!(bit_is_set(&encoded, CAPACITY as usize), None);
        assert_eq!(bit_is_set("zpas-une-liste", 0), None);
    }

    #[test]
    fn an_entry_names_its_list_and_index() {
        let entry = StatusListEntry::new(list_url("https://lms.example", 2), 41);
        assert_eq!(entry.id, "https://lms.example/credentials/status/2#41");
        assert_eq!(entry.position(), Some((2, 41)));
        let foreign = StatusListEntry { status_list_credential: "https://ailleurs.example/x/2".into(), ..entry };
        assert_eq!(foreign.position(), None);
    }
}
