//! The proto impl of `kerndesk.intake.v1.Directory`.

use std::collections::HashSet;

use kerndesk_proto::intake::v1 as pb;
use kerndesk_proto::intake::v1::directory_server::Directory;
use kerndesk_runtime::auth::{Caller, Role};
use kerndesk_runtime::{AppContext, Violations, paging};
use tonic::{Request, Response, Status};

use super::queries;
use super::rules::{self, MAX_ROWS};

pub struct DirectoryApi {
    ctx: AppContext,
}

impl DirectoryApi {
    pub fn new(ctx: AppContext) -> Self {
        Self { ctx }
    }
}

fn check_row_count(v: &mut Violations, field: &str, n: usize) {
    v.check(
        n <= MAX_ROWS,
        field,
        format!("at most {MAX_ROWS} rows per call, got {n}"),
    );
}

#[tonic::async_trait]
impl Directory for DirectoryApi {
    async fn import_employees(
        &self,
        request: Request<pb::ImportEmployeesRequest>,
    ) -> Result<Response<pb::ImportEmployeesResponse>, Status> {
        Caller::of(&request)?.require_any(&[Role::Admin])?;
        let req = request.into_inner();
        let mut v = Violations::default();
        check_row_count(&mut v, "departments", req.departments.len());
        check_row_count(&mut v, "employees", req.employees.len());
        v.check(
            !(req.departments.is_empty() && req.employees.is_empty()),
            "employees",
            "nothing to import",
        );
        v.finish()?;

        let mut seen = HashSet::new();
        let mut refused_departments = Vec::new();
        let mut departments = Vec::new();
        for (i, d) in req.departments.iter().enumerate() {
            match rules::parse_department(i, d, &mut seen) {
                Ok(row) => departments.push(row),
                Err(refusal) => refused_departments.push(refusal),
            }
        }
        let mut seen = HashSet::new();
        let mut refused_employees = Vec::new();
        let mut employees = Vec::new();
        for (i, e) in req.employees.iter().enumerate() {
            match rules::parse_employee(i, e, &mut seen) {
                Ok(row) => employees.push((i, row)),
                Err(refusal) => refused_employees.push(refusal),
            }
        }
        let (counts, more_refused) = queries::import_employees(
            &self.ctx.store,
            departments,
            employees,
            self.ctx.clock.now(),
        )
        .await?;
        refused_employees.extend(more_refused);
        refused_employees.sort_by_key(|r| r.index);
        tracing::info!(
            created = counts.created,
            updated = counts.updated,
            unchanged = counts.unchanged,
            refused = refused_departments.len() + refused_employees.len(),
            "directory imported"
        );
        Ok(Response::new(pb::ImportEmployeesResponse {
            created: counts.created,
            updated: counts.updated,
            unchanged: counts.unchanged,
            refused_departments,
            refused_employees,
        }))
    }

    async fn upsert_applications(
        &self,
        request: Request<pb::UpsertApplicationsRequest>,
    ) -> Result<Response<pb::UpsertApplicationsResponse>, Status> {
        Caller::of(&request)?.require_any(&[Role::Admin])?;
        let req = request.into_inner();
        let mut v = Violations::default();
        check_row_count(&mut v, "applications", req.applications.len());
        v.check(
            !req.applications.is_empty(),
            "applications",
            "nothing to upsert",
        );
        v.finish()?;
        let mut seen = HashSet::new();
        let mut refused = Vec::new();
        let mut apps = Vec::new();
        for (i, a) in req.applications.iter().enumerate() {
            match rules::parse_application(i, a, &mut seen) {
                Ok(row) => apps.push(row),
                Err(refusal) => refused.push(refusal),
            }
        }
        let counts =
            queries::upsert_applications(&self.ctx.store, apps, self.ctx.clock.now()).await?;
        Ok(Response::new(pb::UpsertApplicationsResponse {
            created: counts.created,
            updated: counts.updated,
            unchanged: counts.unchanged,
            refused,
        }))
    }

    async fn list_applications(
        &self,
        request: Request<pb::ListApplicationsRequest>,
    ) -> Result<Response<pb::ListApplicationsResponse>, Status> {
        let caller = Caller::of(&request)?;
        let req = request.into_inner();
        if req.include_inactive {
            caller.require_any(&[Role::Admin])?;
        }
        let size = paging::page_size(req.page_size, 100, 500)?;
        let filters = format!("include_inactive={}", req.include_inactive);
        let after = paging::decode(&req.page_token, &filters)?;
        let mut apps = queries::list_applications(
            self.ctx.store.connection(),
            req.include_inactive,
            after,
            size + 1,
        )
        .await?;
        let next_page_token = paging::next_page(&mut apps, size, |a| a.code.clone(), &filters);
        Ok(Response::new(pb::ListApplicationsResponse {
            applications: apps,
            next_page_token,
        }))
    }

    async fn list_departments(
        &self,
        request: Request<pb::ListDepartmentsRequest>,
    ) -> Result<Response<pb::ListDepartmentsResponse>, Status> {
        Caller::of(&request)?;
        let req = request.into_inner();
        let size = paging::page_size(req.page_size, 100, 500)?;
        let after = paging::decode(&req.page_token, "")?;
        let mut departments: Vec<pb::Department> =
            queries::list_departments(self.ctx.store.connection(), after, size + 1)
                .await?
                .into_iter()
                .map(|d| pb::Department {
                    code: d.code,
                    name: d.name,
                })
                .collect();
        let next_page_token = paging::next_page(&mut departments, size, |d| d.code.clone(), "");
        Ok(Response::new(pb::ListDepartmentsResponse {
            departments,
            next_page_token,
        }))
    }
}
