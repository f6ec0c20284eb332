//! The directory: idempotent bulk upserts with per-row refusals, and the
//! catalogue the portal builds its form from.

use kerndesk_proto::intake::v1 as pb;
use kerndesk_runtime::auth::Role;
use kerndesk_tests::*;
use tonic::Code;

#[tokio::test]
async fn importing_employees_is_an_idempotent_upsert() {
    let app = spawn_intake().await;
    let mut dir = app.directory_as("admin", &[Role::Admin]);
    let first = dir
        .import_employees(seed_employees())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (first.created, first.updated, first.unchanged),
        (7, 0, 0),
        "2 departments + 5 employees"
    );

    let again = dir
        .import_employees(seed_employees())
        .await
        .unwrap()
        .into_inner();
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 7));

    let mut changed = seed_employees();
    changed.employees[0].department = "financien".into();
    changed.employees[1].active = false;
    changed.departments[1].name = "Financiën & Control".into();
    let third = dir.import_employees(changed).await.unwrap().into_inner();
    assert_eq!((third.created, third.updated, third.unchanged), (0, 3, 4));
    assert_eq!(app.count("employees").await, 5);
    assert_eq!(app.count("departments").await, 2);

    // e2 is now inactive: cannot file.
    dir.upsert_applications(seed_applications()).await.unwrap();
    let status = app
        .tickets_as("e2", &[Role::Employee])
        .create_ticket(new_ticket("r", "Nog actief?"))
        .await
        .unwrap_err();
    assert_refused(&status, Code::FailedPrecondition, reason::NOT_IN_DIRECTORY);
}

#[tokio::test]
async fn bad_rows_are_refused_one_by_one_and_good_rows_land() {
    let app = spawn_intake().await;
    let mut dir = app.directory_as("admin", &[Role::Admin]);
    let mut req = seed_employees();
    req.departments.push(pb::Department {
        code: "Bad Code".into(),
        name: String::new(),
    });
    req.employees.push(pb::Employee {
        id: "bad id".into(),
        display_name: String::new(),
        email: "not-an-address".into(),
        department: "verhuur".into(),
        active: true,
    });
    req.employees.push(pb::Employee {
        id: "e9".into(),
        display_name: "Zonder afdeling".into(),
        email: String::new(),
        department: "onbekend".into(),
        active: true,
    });
    req.employees.push(req.employees[0].clone());
    let out = dir.import_employees(req).await.unwrap().into_inner();
    assert_eq!(out.created, 7);
    assert_eq!(out.refused_departments.len(), 1);
    let dept = &out.refused_departments[0];
    assert_eq!(dept.index, 2);
    assert!(
        dept.violations
            .iter()
            .any(|v| v.starts_with("departments[2].code"))
    );
    assert!(
        dept.violations
            .iter()
            .any(|v| v.starts_with("departments[2].name"))
    );

    let rows: Vec<_> = out
        .refused_employees
        .iter()
        .map(|r| (r.index, r.key.as_str()))
        .collect();
    assert_eq!(rows, [(5, "bad id"), (6, "e9"), (7, "e1")]);
    let bad = out.refused_employees[0].violations.join("\n");
    for field in [
        "employees[5].id",
        "employees[5].display_name",
        "employees[5].email",
    ] {
        assert!(bad.contains(field), "{field} in {bad}");
    }
    assert!(out.refused_employees[1].violations[0].contains("employees[6].department"));
    assert!(out.refused_employees[2].violations[0].contains("twice"));
    assert_eq!(app.count("employees").await, 5);

    let status = dir
        .import_employees(pb::ImportEmployeesRequest::default())
        .await
        .unwrap_err();
    assert_bad_fields(&status, &["employees"]);
}

#[tokio::test]
async fn the_catalogue_lists_active_applications_with_modules_and_topics_in_order() {
    let app = spawn_intake().await;
    app.seed().await;
    let mut employee = app.directory_as("e1", &[Role::Employee]);
    let apps = employee
        .list_applications(pb::ListApplicationsRequest::default())
        .await
        .unwrap()
        .into_inner();
    let codes: Vec<_> = apps.applications.iter().map(|a| a.code.as_str()).collect();
    assert_eq!(codes, ["erp", "teams"], "inactive fax is hidden");
    let erp = &apps.applications[0];
    assert_eq!(
        erp.modules
            .iter()
            .map(|m| m.code.as_str())
            .collect::<Vec<_>>(),
        ["huur", "onderhoud"]
    );
    assert_eq!(
        erp.topics
            .iter()
            .map(|t| t.code.as_str())
            .collect::<Vec<_>>(),
        ["werkwijze", "rapportage"]
    );

    let status = employee
        .list_applications(pb::ListApplicationsRequest {
            include_inactive: true,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_refused(&status, Code::PermissionDenied, reason::ROLE_NOT_ALLOWED);

    // Dropping a module deactivates it: old tickets keep their reference,
    // new tickets cannot use it.
    let mut admin = app.directory_as("admin", &[Role::Admin]);
    let mut upsert = seed_applications();
    upsert.applications[0].modules.remove(0);
    let out = admin
        .upsert_applications(upsert)
        .await
        .unwrap()
        .into_inner();
    assert_eq!((out.created, out.updated, out.unchanged), (0, 1, 2));
    let all = admin
        .list_applications(pb::ListApplicationsRequest {
            include_inactive: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.applications.len(), 3);
    let erp_modules: Vec<_> = all.applications[0]
        .modules
        .iter()
        .map(|m| m.code.as_str())
        .collect();
    assert!(
        erp_modules.contains(&"huur"),
        "inactive module listed for admins"
    );
    let status = app
        .tickets_as("e1", &[Role::Employee])
        .create_ticket(new_ticket("r", "Oude module"))
        .await
        .unwrap_err();
    assert_bad_fields(&status, &["module"]);

    let again = admin
        .upsert_applications(seed_applications())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (again.created, again.updated, again.unchanged),
        (0, 1, 2),
        "module reactivated"
    );
    let same = admin
        .upsert_applications(seed_applications())
        .await
        .unwrap()
        .into_inner();
    assert_eq!((same.created, same.updated, same.unchanged), (0, 0, 3));
}

#[tokio::test]
async fn bad_applications_are_refused_per_row() {
    let app = spawn_intake().await;
    let mut admin = app.directory_as("admin", &[Role::Admin]);
    let mut req = seed_applications();
    req.applications.push(pb::Application {
        code: "crm".into(),
        name: "CRM".into(),
        active: true,
        modules: vec![
            pb::Module {
                code: "a".into(),
                name: "A".into(),
            },
            pb::Module {
                code: "a".into(),
                name: "A again".into(),
            },
        ],
        topics: vec![pb::Topic {
            code: "Bad".into(),
            name: String::new(),
        }],
    });
    let out = admin.upsert_applications(req).await.unwrap().into_inner();
    assert_eq!(out.created, 3);
    assert_eq!(out.refused.len(), 1);
    let v = out.refused[0].violations.join("\n");
    for field in [
        "applications[3].modules[1].code",
        "applications[3].topics[0].code",
        "applications[3].topics[0].name",
    ] {
        assert!(v.contains(field), "{field} in {v}");
    }
    assert_eq!(app.count("applications").await, 3);
}

#[tokio::test]
async fn departments_page_by_code() {
    let app = spawn_intake().await;
    let mut admin = app.directory_as("admin", &[Role::Admin]);
    let departments: Vec<_> = (0..7)
        .map(|i| pb::Department {
            code: format!("afd-{i}"),
            name: format!("Afdeling {i}"),
        })
        .collect();
    admin
        .import_employees(pb::ImportEmployeesRequest {
            departments,
            employees: vec![],
        })
        .await
        .unwrap();
    let mut employee = app.directory_as("e1", &[Role::Employee]);
    let mut req = pb::ListDepartmentsRequest {
        page_size: 3,
        ..Default::default()
    };
    let mut codes = Vec::new();
    loop {
        let page = employee
            .list_departments(req.clone())
            .await
            .unwrap()
            .into_inner();
        codes.extend(page.departments.into_iter().map(|d| d.code));
        if page.next_page_token.is_empty() {
            break;
        }
        req.page_token = page.next_page_token;
    }
    assert_eq!(
        codes,
        (0..7).map(|i| format!("afd-{i}")).collect::<Vec<_>>()
    );
}
