//! What the public information pages a French organisation must publish say: the legal notice
//! (who publishes and who hosts), the privacy notice (what personal data is kept, why, on which
//! basis, for how long, and how to exercise one's rights), the accessibility statement, the
//! contact page and the general terms. The organisation's identity is read through
//! `documents::organisation`, its one owner; the rest is the organisation's stated policy, kept
//! here so every page and document quotes the same words.

use serde::Serialize;

use crate::db::{DbConn, DbError};
use crate::documents::organisation::{OrganisationIdentity, SettingKey, setting_value};

/// One kind of personal data the system keeps, and the rule it is kept under.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct DataRetention {
    /// What is kept.
    pub data: &'static str,
    /// Why.
    pub purpose: &'static str,
    /// Legal basis (RGPD article 6).
    pub basis: &'static str,
    /// For how long.
    pub duration: &'static str,
}

/// The privacy notice's table: every kind of personal data the system stores.
pub const RETENTION: [DataRetention; 7] = [
    DataRetention {
        data: "Compte : nom, adresse électronique, mot de passe (haché, jamais lisible), rôles",
        purpose: "Vous identifier, vous inscrire, vous adresser convocations et documents",
        basis: "Exécution du contrat de formation",
        duration: "Tant que le compte est actif, puis 3 ans après la dernière formation suivie",
    },
    DataRetention {
        data: "Inscriptions, financements, réponses de positionnement, demandes d'aménagement",
        purpose: "Organiser la formation, l'adapter, la facturer aux financeurs",
        basis: "Exécution du contrat ; obligation légale (bilan pédagogique et financier)",
        duration: "5 ans après la fin de la formation",
    },
    DataRetention {
        data: "Émargements (présences par demi-journée, signatures), évaluations des compétences",
        purpose: "Prouver la réalisation de la formation aux financeurs, délivrer attestations et certificats",
        basis: "Obligation légale (Code du travail, contrôle des financeurs)",
        duration: "5 ans après la fin de la formation",
    },
    DataRetention {
        data: "Certificats délivrés et identité de naissance des titulaires",
        purpose: "Permettre à quiconque de vérifier un certificat ; inscrire le titulaire au système d'information du CPF",
        basis: "Obligation légale du certificateur (Caisse des Dépôts, France compétences)",
        duration: "Sans limite de durée pour le certificat ; l'identité de naissance, le temps de la transmission au CPF et des contrôles",
    },
    DataRetention {
        data: "Courriels envoyés (convocations, rappels, changements)",
        purpose: "Vous prévenir et garder la preuve de l'envoi",
        basis: "Exécution du contrat",
        duration: "1 an",
    },
    DataRetention {
        data: "Sessions de connexion, jetons d'accès, tentatives de connexion",
        purpose: "Sécuriser votre compte",
        basis: "Intérêt légitime (sécurité du service)",
        duration: "Session : jusqu'à la déconnexion, 14 jours au plus ; jetons : jusqu'à leur révocation ; tentatives de connexion : prises en compte pendant une heure",
    },
    DataRetention {
        data: "Adresse d'agenda personnel (jeton secret)",
        purpose: "Vous permettre d'abonner votre agenda à vos demi-journées",
        basis: "Votre demande",
        duration: "Jusqu'à ce que vous la révoquiez depuis « Mon espace »",
    },
];

/// What the legal notice, privacy notice, contact page and general terms need of the
/// organisation: only what is filled in (an unset value is left out, never printed as a
/// placeholder on a public page).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LegalInformation {
    /// The organisation's identity, as set by the office.
    pub identity: OrganisationIdentity,
    /// One-line postal address, when set.
    pub address_line: Option<String>,
    /// Who hosts the site, when set.
    pub host: Option<String>,
    /// The privacy notice's table.
    pub retention: Vec<DataRetention>,
}

/// Reads what the public information pages show (one read of the settings).
pub fn legal_information(conn: &mut DbConn) -> Result<LegalInformation, DbError> {
    let identity = OrganisationIdentity::load(conn)?;
    let host = setting_value(conn, SettingKey::Host)?.filter(|value| !value.trim().is_empty());
    let place = [identity.postcode.clone(), identity.city.clone()].into_iter().flatten().collect::<Vec<_>>().join(" ");
    let address_line = [identity.address.clone(), (!place.is_empty()).then_some(place)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
    Ok(LegalInformation {
        address_line: (!address_line.is_empty()).then_some(address_line),
        identity,
        host,
        retention: RETENTION.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_privacy_notice_states_the_limits_the_code_enforces() {
        let security = RETENTION.iter().find(|r| r.data.starts_with("Sessions de connexion")).map(|r| r.duration);
        let days = format!("{} jours au plus", crate::access::LOGIN_SESSION_DAYS);
        assert!(security.is_some_and(|d| d.contains(&days)), "{security:?} should say {days}");
        let window = crate::access::BACKSTOP_WINDOW_MINUTES;
        assert_eq!(window, 60, "the notice says « pendant une heure »");
    }
}
