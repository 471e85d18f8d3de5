//! The BPF laid out as Cerfa 10443 is: cadres in order, each with its numbered lines and boxes,
//! values written the French way. The one layout behind `lms report bpf` (text) and the PDF
//! (`documents::bpf`), so that both show the same lines with the same wording.

use serde::Serialize;

use super::lines::IncomeLine;
use super::{BpfLine, BpfReport, PeopleLine, TrainerLine, hours_fr};
use crate::documents::organisation::SettingKey;
use crate::locale::{date_fr, euros_fr};

/// What an input not entered yet shows.
const TO_ENTER: &str = "à renseigner";

/// One cadre of the form.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FormSection {
    /// The cadre (`C`, `F-1`).
    pub cadre: &'static str,
    /// Its title on the form.
    pub title: &'static str,
    /// The headings of the value boxes (one per value of a row).
    pub columns: Vec<&'static str>,
    /// The lines.
    pub rows: Vec<FormRow>,
    /// Explanations printed under the cadre.
    pub notes: Vec<String>,
}

/// One line of a cadre.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FormRow {
    /// The line's reference (`C-2a`), empty for a heading.
    pub line: String,
    /// Its wording.
    pub label: String,
    /// The values, one per column.
    pub cells: Vec<String>,
    /// A total or subtotal line.
    pub total: bool,
}

fn row(line: impl Into<String>, label: impl Into<String>, cells: Vec<String>) -> FormRow {
    FormRow { line: line.into(), label: label.into(), cells, total: false }
}

fn total_row(line: impl Into<String>, label: impl Into<String>, cells: Vec<String>) -> FormRow {
    FormRow { total: true, ..row(line, label, cells) }
}

fn people(line: &BpfLine) -> Vec<String> {
    vec![line.trainees.to_string(), hours_fr(line.hours)]
}

fn people_line(line: &PeopleLine) -> FormRow {
    row(&line.line, &line.label, vec![line.trainees.to_string(), hours_fr(line.hours)])
}

fn trainers(line: &TrainerLine) -> Vec<String> {
    vec![line.people.to_string(), hours_fr(line.hours)]
}

fn entered_euros(cents: Option<i64>) -> String {
    cents.map(euros_fr).unwrap_or_else(|| TO_ENTER.into())
}

fn identity(value: &Option<String>, key: SettingKey) -> String {
    value.clone().unwrap_or_else(|| format!("{TO_ENTER} : lms documents setting {} …", key.as_str()))
}

const PEOPLE: [&str; 2] = ["Stagiaires", "Heures-stagiaires"];

impl BpfReport {
    /// The report as the form's cadres, A to H.
    pub fn form(&self) -> Vec<FormSection> {
        let id = &self.a_identity;
        let address = [id.address.clone(), id.postcode.clone(), id.city.clone()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ");
        let activity = &self.b_activity;
        let income = &self.c_income;
        let charges = &self.d_charges;
        let mut c_rows = Vec::new();
        for (kind, line) in IncomeLine::ALL.into_iter().zip(&income.lines) {
            if kind == IncomeLine::OpcoApprenticeship {
                c_rows.push(row(
                    "C-2",
                    "Organismes gestionnaires des fonds de la formation professionnelle (OPCO…), pour des actions dispensées dans le cadre :",
                    vec![String::new()],
                ));
            }
            c_rows.push(row(&line.line, &line.label, vec![euros_fr(line.amount_cents)]));
            if kind == IncomeLine::OpcoPlan {
                c_rows.push(total_row("C-2", "Total des lignes a à h", vec![euros_fr(income.opco_total_cents)]));
            }
        }
        c_rows.push(total_row(
            "C-T",
            "Total des produits réalisés au titre de la formation professionnelle (lignes 1 à 11)",
            vec![euros_fr(income.total_cents)],
        ));
        c_rows.push(row(
            "C-CA",
            "Chiffre d'affaires global de l'organisme",
            vec![entered_euros(income.turnover_cents)],
        ));
        c_rows.push(row(
            "C-%",
            "Part du chiffre d'affaires réalisée au titre de la formation professionnelle",
            vec![
                income
                    .training_share_percent
                    .map(|p| format!("{p:.1} %").replace('.', ","))
                    .unwrap_or_else(|| TO_ENTER.into()),
            ],
        ));
        let mut c_notes = vec![
            "Lignes calculées à partir des plans de financement des inscriptions dont la session commence dans l'année, plus les produits hors LMS saisis (lms report bpf-input --year AAAA c.LIGNE MONTANT).".to_owned(),
        ];
        if income.unstated_payer_cents > 0 {
            c_notes.push(format!(
                "Dont {} sur la ligne C-11 : inscriptions sans financeur déclaré, à vérifier.",
                euros_fr(income.unstated_payer_cents)
            ));
        }
        let trainees = &self.f1_trainees;
        let mut f1_rows: Vec<FormRow> = trainees.lines.iter().map(people_line).collect();
        f1_rows.push(total_row("F-1", "Total (a + b + c + d + e)", people(&trainees.total)));
        f1_rows.push(row(
            "F-1-D",
            "dont stagiaires ayant suivi une action en tout ou partie à distance",
            people(&trainees.distance_learning),
        ));
        let mut f1_notes = vec![
            "Heures-stagiaires : heures réellement suivies dans l'année, d'après le registre d'émargement.".to_owned(),
            "Formation à distance : le LMS ne planifie que des demi-journées en présentiel dans un lieu, d'où 0."
                .to_owned(),
        ];
        if trainees.without_category > 0 {
            f1_notes.push(format!(
                "Dont {} inscription(s) sans catégorie de stagiaire, comptée(s) en « autres stagiaires » : à vérifier.",
                trainees.without_category
            ));
        }
        let objectives = &self.f3_objectives;
        let mut f3_rows: Vec<FormRow> = objectives.lines.iter().map(people_line).collect();
        f3_rows.push(total_row("F-3", "Total", people(&objectives.total)));
        let specialities = &self.f4_specialities;
        let mut f4_rows: Vec<FormRow> = specialities
            .lines
            .iter()
            .enumerate()
            .map(|(i, s)| {
                row(
                    format!("F-4-{}", i + 1),
                    format!("Spécialité NSF {}", s.code),
                    vec![s.trainees.to_string(), hours_fr(s.hours)],
                )
            })
            .collect();
        f4_rows.push(row("F-4-A", "Autres spécialités", people(&specialities.others)));
        f4_rows.push(total_row("F-4", "Total", people(&specialities.total)));
        let yes_no = |v: Option<bool>| match v {
            Some(true) => "oui".to_owned(),
            Some(false) => "non".to_owned(),
            None => TO_ENTER.to_owned(),
        };
        vec![
            FormSection {
                cadre: "A",
                title: "Identification de l'organisme de formation",
                columns: vec![""],
                rows: vec![
                    row("A-1", "Numéro de déclaration d'activité", vec![identity(&id.nda, SettingKey::Nda)]),
                    row("A-2", "Numéro SIRET", vec![identity(&id.siret, SettingKey::Siret)]),
                    row("A-3", "Dénomination", vec![identity(&id.name, SettingKey::Name)]),
                    row(
                        "A-4",
                        "Adresse",
                        vec![if address.is_empty() { identity(&None, SettingKey::Address) } else { address }],
                    ),
                    row("A-5", "Téléphone", vec![identity(&id.phone, SettingKey::Phone)]),
                    row("A-6", "Courriel", vec![identity(&id.email, SettingKey::Email)]),
                ],
                notes: Vec::new(),
            },
            FormSection {
                cadre: "B",
                title: "Caractéristiques de l'organisme",
                columns: vec![""],
                rows: vec![
                    row(
                        "B-1",
                        "Exercice comptable",
                        vec![format!("du {} au {}", date_fr(activity.period_from), date_fr(activity.period_to))],
                    ),
                    row(
                        "B-2",
                        "La formation professionnelle est-elle l'activité principale de l'organisme ?",
                        vec![yes_no(activity.training_is_main_activity)],
                    ),
                    row(
                        "B-3",
                        "Des formations ont-elles été dispensées en tout ou partie à distance ?",
                        vec![yes_no(Some(activity.distance_learning))],
                    ),
                ],
                notes: Vec::new(),
            },
            FormSection {
                cadre: "C",
                title: "Bilan financier hors taxes : origine des produits de l'organisme",
                columns: vec!["Montant"],
                rows: c_rows,
                notes: c_notes,
            },
            FormSection {
                cadre: "D",
                title: "Bilan financier hors taxes : charges de l'organisme",
                columns: vec!["Montant"],
                rows: vec![
                    total_row(
                        "D-1",
                        "Total des charges de l'organisme liées à l'activité de formation",
                        vec![entered_euros(charges.total_cents)],
                    ),
                    row("D-2", "dont salaires des formateurs", vec![entered_euros(charges.trainer_salaries_cents)]),
                    row(
                        "D-3",
                        "dont achats de prestations de formation et honoraires de formation",
                        vec![entered_euros(charges.bought_training_cents)],
                    ),
                ],
                notes: vec!["Charges saisies (lms report bpf-input) : le LMS ne tient pas la comptabilité.".to_owned()],
            },
            FormSection {
                cadre: "E",
                title: "Personnes dispensant des heures de formation",
                columns: vec!["Nombre", "Heures dispensées"],
                rows: vec![
                    row(
                        "E-1",
                        "Personnes de votre organisme dispensant des heures de formation",
                        trainers(&self.e_trainers.internal),
                    ),
                    row(
                        "E-2",
                        "Personnes extérieures à votre organisme dispensant des heures de formation dans le cadre de contrats de sous-traitance",
                        trainers(&self.e_trainers.external),
                    ),
                ],
                notes: vec![
                    "E-1 : formateurs ayant contresigné des demi-journées de l'année dans le registre d'émargement, et les heures de ces demi-journées. E-2 : saisi.".to_owned(),
                ],
            },
            FormSection {
                cadre: "F-1",
                title: "Bilan pédagogique : type de stagiaires de l'organisme",
                columns: PEOPLE.to_vec(),
                rows: f1_rows,
                notes: f1_notes,
            },
            FormSection {
                cadre: "F-2",
                title: "Activité sous-traitée de l'organisme de formation",
                columns: PEOPLE.to_vec(),
                rows: vec![row(
                    "F-2",
                    "Stagiaires ou apprentis dont l'action a été confiée par votre organisme à un autre organisme de formation",
                    people(&self.f2_subcontracted),
                )],
                notes: vec!["Saisi (lms report bpf-input) : le LMS n'enregistre pas les formations confiées à d'autres.".to_owned()],
            },
            FormSection {
                cadre: "F-3",
                title: "Objectif général des prestations dispensées",
                columns: PEOPLE.to_vec(),
                rows: f3_rows,
                notes: vec![
                    "Les formations ne portent pas leur niveau RNCP : la ligne a n'est pas ventilée par niveau.".to_owned(),
                ],
            },
            FormSection {
                cadre: "F-4",
                title: "Spécialités de formation (nomenclature NSF)",
                columns: PEOPLE.to_vec(),
                rows: f4_rows,
                notes: Vec::new(),
            },
            FormSection {
                cadre: "G",
                title: "Stagiaires dont la formation a été confiée à votre organisme par un autre organisme de formation",
                columns: PEOPLE.to_vec(),
                rows: vec![row(
                    "G",
                    "Formations confiées par un autre organisme de formation (financeur : autre organisme de formation)",
                    people(&self.g_received),
                )],
                notes: Vec::new(),
            },
            FormSection {
                cadre: "H",
                title: "Personne ayant la qualité de dirigeant",
                columns: vec![""],
                rows: vec![
                    row(
                        "H-1",
                        "Dirigeant (nom et qualité)",
                        vec![identity(&self.h_manager.representative, SettingKey::Representative)],
                    ),
                    row(
                        "H-2",
                        "Personne ayant rempli le bilan",
                        vec![self.h_manager.contact.clone().unwrap_or_else(|| TO_ENTER.into())],
                    ),
                ],
                notes: Vec::new(),
            },
        ]
    }
}
