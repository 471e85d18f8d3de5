//! The lines of Cerfa 10443 (Bilan pédagogique et financier) the LMS fills, with the form's own
//! numbering and wording, and **the one place each piece of data is put on a line**: a payer on
//! a cadre C line ([`IncomeLine::for_payer`]), a trainee category on an F-1 line
//! ([`TraineeLine::for_category`]), a course objective on an F-3 line
//! ([`ObjectiveLine::for_objective`]), a course's NSF code on its F-4 speciality
//! ([`nsf_speciality`]).

use crate::catalogue::ObjectiveCategory;
use crate::enrolment::funding::{FundingPayer, TraineeCategory};

crate::text_enum! {
    /// A line of cadre C, « origine des produits de l'organisme » (the stored text is the line's
    /// number on the form, also the end of its input key `c.<line>`).
    pub enum IncomeLine: "ligne du cadre C" {
        /// C-1: companies, for the training of their employees.
        Companies = "1", "Entreprises pour la formation de leurs salariés";
        /// C-2a: OPCO, apprenticeship contracts.
        OpcoApprenticeship = "2a", "OPCO : contrats d'apprentissage";
        /// C-2b: OPCO, professionalisation contracts.
        OpcoProfessionalisation = "2b", "OPCO : contrats de professionnalisation";
        /// C-2c: OPCO, Pro-A.
        OpcoProA = "2c", "OPCO : promotion ou reconversion par alternance (Pro-A)";
        /// C-2d: OPCO, transitions.
        OpcoTransition = "2d", "OPCO : projets de transition professionnelle";
        /// C-2e: the compte personnel de formation (paid by the Caisse des Dépôts).
        Cpf = "2e", "Compte personnel de formation (Caisse des Dépôts)";
        /// C-2f: schemes for job seekers.
        OpcoJobSeekers = "2f", "OPCO : dispositifs spécifiques pour les personnes en recherche d'emploi";
        /// C-2g: schemes for the self-employed.
        OpcoSelfEmployed = "2g", "OPCO : dispositifs spécifiques pour les travailleurs non-salariés";
        /// C-2h: skills development plan and other schemes.
        OpcoPlan = "2h", "OPCO : plan de développement des compétences ou autres dispositifs";
        /// C-3: public employers, for their own staff.
        PublicEmployers = "3", "Pouvoirs publics pour la formation de leurs agents";
        /// C-4: European bodies.
        European = "4", "Instances européennes";
        /// C-5: the State.
        State = "5", "État";
        /// C-6: regional councils.
        Regions = "6", "Conseils régionaux";
        /// C-7: France Travail.
        FranceTravail = "7", "France Travail (ex-Pôle emploi)";
        /// C-8: other public money.
        OtherPublic = "8", "Autres ressources publiques";
        /// C-9: individuals paying for themselves.
        Individuals = "9", "Contrats conclus avec des personnes à titre individuel et à leurs frais";
        /// C-10: other training organisations (we are their subcontractor).
        OtherProviders = "10", "Contrats conclus avec d'autres organismes de formation";
        /// C-11: anything else earned by training.
        Other = "11", "Autres produits au titre de la formation professionnelle";
    }
}

impl IncomeLine {
    /// The line a payer's money goes on. An OPCO paying for an apprentice pays under the
    /// apprenticeship contract; any other OPCO funding is put on the plan line (the other schemes
    /// are entered by hand, `c.2b`…). Money with no stated payer goes on C-11.
    pub fn for_payer(payer: Option<FundingPayer>, category: Option<TraineeCategory>) -> IncomeLine {
        match payer {
            Some(FundingPayer::Employer) => IncomeLine::Companies,
            Some(FundingPayer::Opco) if category == Some(TraineeCategory::Apprentice) => IncomeLine::OpcoApprenticeship,
            Some(FundingPayer::Opco) => IncomeLine::OpcoPlan,
            Some(FundingPayer::Cpf) => IncomeLine::Cpf,
            Some(FundingPayer::FranceTravail) => IncomeLine::FranceTravail,
            Some(FundingPayer::Region) => IncomeLine::Regions,
            Some(FundingPayer::State) => IncomeLine::State,
            Some(FundingPayer::OtherPublic) => IncomeLine::OtherPublic,
            Some(FundingPayer::SelfFunded) => IncomeLine::Individuals,
            Some(FundingPayer::OtherProvider) => IncomeLine::OtherProviders,
            Some(FundingPayer::Other) | None => IncomeLine::Other,
        }
    }

    /// Whether the line is one of the « organismes gestionnaires » lines (C-2a to C-2h).
    pub fn is_opco(self) -> bool {
        self.as_str().starts_with('2')
    }

    /// The line's reference on the form (`C-2a`).
    pub fn reference(self) -> String {
        format!("C-{}", self.as_str())
    }
}

crate::text_enum! {
    /// A line of cadre F-1, « type de stagiaires de l'organisme ».
    pub enum TraineeLine: "ligne du cadre F-1" {
        /// a: employees of private employers, apprentices excepted.
        Employees = "a", "Salariés d'employeurs privés hors apprentis";
        /// b: apprentices.
        Apprentices = "b", "Apprentis";
        /// c: job seekers.
        JobSeekers = "c", "Personnes en recherche d'emploi formées par votre organisme";
        /// d: individuals paying for themselves.
        Individuals = "d", "Particuliers à leurs propres frais formés par votre organisme";
        /// e: anyone else.
        Others = "e", "Autres stagiaires";
    }
}

impl TraineeLine {
    /// The line of a trainee category; a trainee without one is among « autres stagiaires ».
    pub fn for_category(category: Option<TraineeCategory>) -> TraineeLine {
        match category {
            Some(TraineeCategory::Employee) => TraineeLine::Employees,
            Some(TraineeCategory::Apprentice) => TraineeLine::Apprentices,
            Some(TraineeCategory::JobSeeker) => TraineeLine::JobSeekers,
            Some(TraineeCategory::Individual) => TraineeLine::Individuals,
            Some(TraineeCategory::Other) | None => TraineeLine::Others,
        }
    }
}

crate::text_enum! {
    /// A line of cadre F-3, « objectif général des prestations dispensées ».
    pub enum ObjectiveLine: "ligne du cadre F-3" {
        /// a: a diploma, title or CQP registered in the RNCP.
        Rncp = "a", "Formations visant un diplôme, un titre à finalité professionnelle ou un certificat de qualification professionnelle enregistré au RNCP";
        /// b: a certification or habilitation registered in the Répertoire spécifique.
        Rs = "b", "Formations visant une certification ou une habilitation enregistrée au répertoire spécifique (RS)";
        /// c: a CQP registered in neither.
        Cqp = "c", "Formations visant un CQP non enregistré au RNCP ou au RS";
        /// d: other professional training.
        Other = "d", "Autres formations professionnelles";
        /// e: skills assessments.
        SkillsAssessment = "e", "Bilans de compétences";
        /// f: VAE support.
        Vae = "f", "Actions d'accompagnement à la validation des acquis de l'expérience";
    }
}

impl ObjectiveLine {
    /// The line of a course's objective. The LMS runs neither skills assessments nor VAE
    /// support, so lines e and f stay empty.
    pub fn for_objective(objective: ObjectiveCategory) -> ObjectiveLine {
        match objective {
            ObjectiveCategory::Rncp => ObjectiveLine::Rncp,
            ObjectiveCategory::Rs => ObjectiveLine::Rs,
            ObjectiveCategory::Cqp => ObjectiveLine::Cqp,
            ObjectiveCategory::Other => ObjectiveLine::Other,
        }
    }
}

/// The NSF speciality of a course's code, as cadre F-4 asks for it: the three digits of the
/// speciality group (`341p` → `341`: the letter is the field, production or services, which the
/// form does not ask). `None` when the code does not start with three digits.
pub fn nsf_speciality(course_code: &str) -> Option<String> {
    let digits: String = course_code.trim().chars().take(3).collect();
    (digits.len() == 3 && digits.chars().all(|c| c.is_ascii_digit())).then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_payer_has_a_line_and_opco_follows_the_contract() {
        assert_eq!(IncomeLine::for_payer(Some(FundingPayer::Employer), None), IncomeLine::Companies);
        assert_eq!(
            IncomeLine::for_payer(Some(FundingPayer::Opco), Some(TraineeCategory::Apprentice)),
            IncomeLine::OpcoApprenticeship
        );
        assert_eq!(
            IncomeLine::for_payer(Some(FundingPayer::Opco), Some(TraineeCategory::Employee)),
            IncomeLine::OpcoPlan
        );
        assert_eq!(IncomeLine::for_payer(Some(FundingPayer::Cpf), None), IncomeLine::Cpf);
        assert_eq!(IncomeLine::for_payer(Some(FundingPayer::OtherProvider), None), IncomeLine::OtherProviders);
        assert_eq!(IncomeLine::for_payer(None, None), IncomeLine::Other);
        assert!(IncomeLine::OpcoPlan.is_opco() && !IncomeLine::Companies.is_opco());
        assert_eq!(IncomeLine::OpcoProA.reference(), "C-2c");
    }

    #[test]
    fn nsf_specialities_are_three_digits() {
        assert_eq!(nsf_speciality("341p").as_deref(), Some("341"));
        assert_eq!(nsf_speciality("310").as_deref(), Some("310"));
        assert_eq!(nsf_speciality("34p"), None);
        assert_eq!(nsf_speciality(""), None);
    }
}
