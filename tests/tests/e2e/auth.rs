//! Every RPC is authenticated and authorised; each refusal is tested.

use kerndesk_proto::intake::v1 as pb;
use kerndesk_runtime::auth::{Claims, Role};
use kerndesk_tests::*;
use tonic::Code;

/// Calls every intake RPC with `tickets`/`directory` and returns the codes.
async fn call_every_rpc(
    tickets: &mut Tickets,
    directory: &mut Directory,
) -> Vec<(&'static str, tonic::Status)> {
    let mut refusals = Vec::new();
    macro_rules! call {
        ($name:literal, $fut:expr) => {
            match $fut.await {
                Ok(_) => panic!("{} was not refused", $name),
                Err(status) => refusals.push(($name, status)),
            }
        };
    }
    call!(
        "CreateTicket",
        tickets.create_ticket(new_ticket("a", "Een vraag"))
    );
    call!(
        "GetTicket",
        tickets.get_ticket(pb::GetTicketRequest { id: 1 })
    );
    call!(
        "ListTickets",
        tickets.list_tickets(pb::ListTicketsRequest::default())
    );
    call!(
        "AddComment",
        tickets.add_comment(pb::AddCommentRequest {
            request_id: "c".into(),
            ticket_id: 1,
            body: "hoi".into()
        })
    );
    call!(
        "RateTicket",
        tickets.rate_ticket(pb::RateTicketRequest {
            ticket_id: 1,
            score: 5,
            remark: String::new()
        })
    );
    call!(
        "WithdrawTicket",
        tickets.withdraw_ticket(pb::WithdrawTicketRequest {
            ticket_id: 1,
            ..Default::default()
        })
    );
    call!(
        "ImportEmployees",
        directory.import_employees(seed_employees())
    );
    call!(
        "UpsertApplications",
        directory.upsert_applications(seed_applications())
    );
    call!(
        "ListApplications",
        directory.list_applications(pb::ListApplicationsRequest::default())
    );
    call!(
        "ListDepartments",
        directory.list_departments(pb::ListDepartmentsRequest::default())
    );
    refusals
}

#[tokio::test]
async fn every_rpc_refuses_a_missing_token() {
    let app = spawn_intake().await;
    let refusals = call_every_rpc(&mut app.tickets(None), &mut app.directory(None)).await;
    assert_eq!(refusals.len(), 10);
    for (rpc, status) in refusals {
        assert_eq!(status.code(), Code::Unauthenticated, "{rpc}");
        assert_refused(&status, Code::Unauthenticated, reason::TOKEN_MISSING);
    }
}

#[tokio::test]
async fn every_rpc_refuses_bad_tokens() {
    let app = spawn_intake().await;
    let now = chrono::Utc::now().timestamp();
    let expired = app.token_with(&Claims {
        sub: "e1".into(),
        tenant: TENANT.into(),
        roles: vec!["admin".into()],
        iat: now - 7200,
        exp: now - 3600,
    });
    let other_tenant = app.token_with(&Claims {
        sub: "e1".into(),
        tenant: "another-corporation".into(),
        roles: vec!["admin".into()],
        iat: now,
        exp: now + 600,
    });
    let forged = kerndesk_runtime::auth::Authenticator::hs256(
        TENANT,
        b"not-the-deployment-secret-not-it!!",
        std::sync::Arc::new(kerndesk_runtime::clock::SystemClock),
    )
    .issue("e1", &[Role::Admin], std::time::Duration::from_secs(600));

    for (token, code, reason) in [
        (
            "garbage".to_owned(),
            Code::Unauthenticated,
            reason::TOKEN_INVALID,
        ),
        (expired, Code::Unauthenticated, reason::TOKEN_INVALID),
        (forged, Code::Unauthenticated, reason::TOKEN_INVALID),
        (other_tenant, Code::PermissionDenied, reason::WRONG_TENANT),
    ] {
        let refusals = call_every_rpc(
            &mut app.tickets(Some(&token)),
            &mut app.directory(Some(&token)),
        )
        .await;
        for (rpc, status) in refusals {
            assert_eq!(status.code(), code, "{rpc}: {status:?}");
            assert_refused(&status, code, reason);
        }
    }
}

#[tokio::test]
async fn directory_writes_need_the_admin_role() {
    let app = spawn_intake().await;
    for roles in [
        vec![Role::Employee],
        vec![Role::KeyUser],
        vec![Role::SupplierAgent],
        vec![Role::ContractManager],
        vec![],
    ] {
        let mut dir = app.directory_as("e1", &roles);
        let status = dir.import_employees(seed_employees()).await.unwrap_err();
        assert_refused(&status, Code::PermissionDenied, reason::ROLE_NOT_ALLOWED);
        let status = dir
            .upsert_applications(seed_applications())
            .await
            .unwrap_err();
        assert_refused(&status, Code::PermissionDenied, reason::ROLE_NOT_ALLOWED);
    }
    assert_eq!(app.count("employees").await, 0);
    assert_eq!(app.count("applications").await, 0);
}

#[tokio::test]
async fn a_token_without_known_roles_reads_the_catalogue_but_files_only_for_itself() {
    let app = spawn_intake().await;
    app.seed().await;
    // Roles are about what one may do to others' data; filing one's own
    // ticket needs only to be an active employee.
    let mut tickets = app.tickets_as("e1", &[]);
    let t = tickets
        .create_ticket(new_ticket("r1", "Inloggen lukt niet"))
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    assert_eq!(t.reporter, "e1");
    let mut on_behalf = new_ticket("r2", "Voor een collega");
    on_behalf.on_behalf_of = "e2".into();
    let status = tickets.create_ticket(on_behalf).await.unwrap_err();
    assert_refused(&status, Code::PermissionDenied, reason::ROLE_NOT_ALLOWED);
}
