//! A fictional housing corporation, "Woonstichting De Linde", so that a new
//! user sees a living system: departments, 100 employees, the applications
//! a corporation really uses, and a few tickets. Loading it twice changes
//! nothing (the directory upserts are idempotent, the demo tickets carry
//! fixed request ids).

use std::collections::HashSet;

use kerndesk_intake::directory::{queries as directory, rules as directory_rules};
use kerndesk_intake::tickets::api::TicketsApi;
use kerndesk_proto::intake::v1 as pb;
use kerndesk_runtime::AppContext;
use kerndesk_runtime::auth::{Caller, Role};
use kerndesk_store::model::KeyUserRole;

const DEPARTMENTS: &[(&str, &str)] = &[
    ("bestuur", "Bestuur & Staf"),
    ("klantcontact", "Klantcontactcentrum"),
    ("verhuur", "Verhuur & Wonen"),
    ("vastgoed", "Vastgoed & Onderhoud"),
    ("sociaal-beheer", "Sociaal Beheer"),
    ("financien", "Financiën & Control"),
    ("informatievoorziening", "Informatievoorziening"),
    ("hr", "P&O"),
];

const FIRST_NAMES: &[&str] = &[
    "Anouk",
    "Bram",
    "Charlotte",
    "Daan",
    "Esther",
    "Floor",
    "Gijs",
    "Hanneke",
    "Ilse",
    "Jeroen",
    "Karin",
    "Lars",
    "Marieke",
    "Niels",
    "Olga",
    "Pieter",
    "Quinten",
    "Roos",
    "Sander",
    "Tamara",
    "Ugur",
    "Vera",
    "Willem",
    "Yasmina",
    "Zeynep",
];

const LAST_NAMES: &[&str] = &[
    "de Vries",
    "Jansen",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "de Boer",
    "Mulder",
    "de Groot",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "van Leeuwen",
    "Dekker",
    "Brouwer",
    "El Amrani",
    "Yilmaz",
];

type Catalogue = &'static [(
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static [(&'static str, &'static str)],
)];

/// (code, name, modules, topics)
const APPLICATIONS: Catalogue = &[
    (
        "erp",
        "ERP Vastgoed & Huur",
        &[
            ("huuradministratie", "Huuradministratie"),
            ("contractbeheer", "Contractbeheer"),
            ("onderhoud", "Reparatieverzoeken & onderhoud"),
            ("financien", "Financiële administratie"),
        ],
        &[
            ("rapportage", "Rapportages & selecties"),
            ("autorisatie", "Rechten & rollen"),
            ("werkwijze", "Hoe werkt ...?"),
        ],
    ),
    (
        "outlook",
        "Outlook / Exchange",
        &[],
        &[
            ("gedeelde-mailbox", "Gedeelde mailbox"),
            ("agenda", "Agenda & vergaderen"),
            ("handtekening", "Handtekening"),
        ],
    ),
    (
        "teams",
        "Microsoft Teams",
        &[],
        &[
            ("vergaderen", "Vergaderen & bellen"),
            ("kanalen", "Teams & kanalen"),
            ("bestanden", "Bestanden delen"),
        ],
    ),
    (
        "sharepoint",
        "SharePoint & intranet",
        &[],
        &[
            ("rechten", "Toegang & rechten"),
            ("zoeken", "Zoeken & vinden"),
        ],
    ),
    (
        "office",
        "Office (Word, Excel, PowerPoint)",
        &[
            ("word", "Word"),
            ("excel", "Excel"),
            ("powerpoint", "PowerPoint"),
        ],
        &[
            ("sjablonen", "Sjablonen & huisstijl"),
            ("werkwijze", "Hoe werkt ...?"),
        ],
    ),
    (
        "printen",
        "Printen & scannen",
        &[],
        &[
            ("printer", "Printer werkt niet"),
            ("scannen", "Scannen naar mail"),
        ],
    ),
    (
        "inloggen",
        "Inloggen & MFA",
        &[],
        &[
            ("wachtwoord", "Wachtwoord vergeten"),
            ("mfa", "Authenticator-app / MFA"),
            ("nieuwe-telefoon", "Nieuwe telefoon koppelen"),
        ],
    ),
    (
        "telefonie",
        "Telefonie & mobiel",
        &[],
        &[
            ("toestel", "Toestel & simkaart"),
            ("doorschakelen", "Doorschakelen"),
        ],
    ),
    (
        "huurdersportaal",
        "Huurdersportaal",
        &[
            ("reparatie", "Reparatie melden"),
            ("account", "Huurdersaccount"),
        ],
        &[("huurder-helpen", "Huurder helpen met het portaal")],
    ),
];

/// Employee `e001` .. `e100`, spread over the departments.
pub fn employees() -> Vec<pb::Employee> {
    (1..=100)
        .map(|n: usize| {
            let first = FIRST_NAMES[(n * 7) % FIRST_NAMES.len()];
            let last = LAST_NAMES[(n * 11) % LAST_NAMES.len()];
            let department = DEPARTMENTS[n % DEPARTMENTS.len()].0;
            let mail_name = format!("{}.{}", first, last.replace(' ', ""))
                .to_lowercase()
                .replace('ë', "e");
            pb::Employee {
                id: format!("e{n:03}"),
                display_name: format!("{first} {last}"),
                email: format!("{mail_name}{n}@delinde.example"),
                department: department.to_owned(),
                // One leaver, as in every real export.
                active: n != 100,
            }
        })
        .collect()
}

pub fn departments() -> Vec<pb::Department> {
    DEPARTMENTS
        .iter()
        .map(|(code, name)| pb::Department {
            code: (*code).into(),
            name: (*name).into(),
        })
        .collect()
}

pub fn applications() -> Vec<pb::Application> {
    APPLICATIONS
        .iter()
        .map(|(code, name, modules, topics)| pb::Application {
            code: (*code).into(),
            name: (*name).into(),
            active: true,
            modules: modules
                .iter()
                .map(|(c, n)| pb::Module {
                    code: (*c).into(),
                    name: (*n).into(),
                })
                .collect(),
            topics: topics
                .iter()
                .map(|(c, n)| pb::Topic {
                    code: (*c).into(),
                    name: (*n).into(),
                })
                .collect(),
        })
        .collect()
}

/// (employee, application, role, hours per week): the key-user register.
const KEY_USERS: &[(&str, &str, KeyUserRole, i32)] = &[
    ("e010", "erp", KeyUserRole::Primary, 8),
    ("e020", "erp", KeyUserRole::Deputy, 4),
    ("e030", "teams", KeyUserRole::Primary, 4),
    ("e030", "office", KeyUserRole::Primary, 4),
    ("e040", "inloggen", KeyUserRole::Primary, 2),
    ("e040", "printen", KeyUserRole::Primary, 2),
    ("e050", "huurdersportaal", KeyUserRole::Primary, 6),
];

/// (reporter, application, module, topic, category, title)
const TICKETS: &[(&str, &str, &str, &str, i32, &str)] = &[
    (
        "e001",
        "inloggen",
        "",
        "mfa",
        2,
        "Authenticator-app geeft geen melding meer",
    ),
    (
        "e002",
        "erp",
        "huuradministratie",
        "werkwijze",
        1,
        "Hoe verwerk ik een huurverhoging met terugwerkende kracht?",
    ),
    (
        "e003",
        "teams",
        "",
        "vergaderen",
        1,
        "Hoe deel ik alleen één venster in een Teams-vergadering?",
    ),
    (
        "e004",
        "printen",
        "",
        "printer",
        2,
        "Printer op de 2e verdieping geeft papierstoring",
    ),
    (
        "e005",
        "outlook",
        "",
        "gedeelde-mailbox",
        3,
        "Toegang nodig tot de mailbox verhuur@",
    ),
    (
        "e006",
        "huurdersportaal",
        "reparatie",
        "huurder-helpen",
        2,
        "Huurder kan geen foto uploaden bij reparatieverzoek",
    ),
    (
        "e007",
        "office",
        "excel",
        "werkwijze",
        1,
        "Hoe maak ik een draaitabel van de leegstandslijst?",
    ),
    (
        "e008",
        "erp",
        "onderhoud",
        "rapportage",
        4,
        "Wens: overzicht openstaande reparaties per aannemer",
    ),
    (
        "e009",
        "sharepoint",
        "",
        "rechten",
        3,
        "Nieuwe collega heeft geen toegang tot de teamsite Vastgoed",
    ),
    (
        "e011",
        "telefonie",
        "",
        "doorschakelen",
        1,
        "Hoe schakel ik mijn toestel door naar mijn mobiel?",
    ),
];

/// Loads the demo tenant. Returns (directory rows written, demo tickets present).
pub async fn load(ctx: &AppContext) -> anyhow::Result<(i32, usize)> {
    let now = ctx.clock.now();
    let mut seen = HashSet::new();
    let departments: Vec<_> = departments()
        .iter()
        .enumerate()
        .map(|(i, d)| directory_rules::parse_department(i, d, &mut seen))
        .collect::<Result<_, _>>()
        .map_err(|r| anyhow::anyhow!("demo department refused: {:?}", r.violations))?;
    let mut seen = HashSet::new();
    let employees: Vec<_> = employees()
        .iter()
        .enumerate()
        .map(|(i, e)| directory_rules::parse_employee(i, e, &mut seen).map(|row| (i, row)))
        .collect::<Result<_, _>>()
        .map_err(|r| anyhow::anyhow!("demo employee refused: {:?}", r.violations))?;
    let (people, refused) =
        directory::import_employees(&ctx.store, departments, employees, now).await?;
    anyhow::ensure!(refused.is_empty(), "demo employees refused: {refused:?}");
    let mut seen = HashSet::new();
    let apps: Vec<_> = applications()
        .iter()
        .enumerate()
        .map(|(i, a)| directory_rules::parse_application(i, a, &mut seen))
        .collect::<Result<_, _>>()
        .map_err(|r| anyhow::anyhow!("demo application refused: {:?}", r.violations))?;
    let catalogue = directory::upsert_applications(&ctx.store, apps, now).await?;
    let key_users = register_key_users(ctx, now).await?;

    let api = TicketsApi::new(ctx.clone());
    for (n, (reporter, app, module, topic, category, title)) in TICKETS.iter().enumerate() {
        let caller = Caller {
            subject: (*reporter).into(),
            roles: [Role::Employee].into(),
        };
        let request = pb::CreateTicketRequest {
            request_id: format!("demo-ticket-{n}"),
            application: (*app).into(),
            module: (*module).into(),
            topic: (*topic).into(),
            title: (*title).into(),
            description: format!("{title}. (Demoticket van De Linde.)"),
            category: *category,
            ..Default::default()
        };
        // A second load replays the fixed request ids: no duplicates.
        api.file_ticket(&caller, request)
            .await
            .map_err(|e| anyhow::anyhow!("demo ticket {n}: {e}"))?;
    }
    Ok((
        people.created + people.updated + catalogue.created + catalogue.updated + key_users,
        TICKETS.len(),
    ))
}

/// Adds the demo key users that are not registered yet; returns how many.
async fn register_key_users(
    ctx: &AppContext,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<i32> {
    use kerndesk_store::entity::key_user_assignment as assignment;
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
    let db = ctx.store.connection();
    let mut added = 0;
    for (employee, application, role, hours) in KEY_USERS {
        let exists = assignment::Entity::find()
            .filter(assignment::Column::Employee.eq(*employee))
            .filter(assignment::Column::Application.eq(*application))
            .filter(assignment::Column::Module.eq(""))
            .one(db)
            .await?
            .is_some();
        if exists {
            continue;
        }
        assignment::ActiveModel {
            employee: Set((*employee).into()),
            application: Set((*application).into()),
            module: Set(String::new()),
            role: Set(role.as_str().into()),
            hours_per_week: Set(*hours),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?;
        added += 1;
    }
    Ok(added)
}
