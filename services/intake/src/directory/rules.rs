//! What a valid directory row is. Bulk calls refuse bad rows one by one
//! (reporting each) and write the good ones: one typo in a 900-row HR export
//! must not block the other 899.

use std::collections::HashSet;

use kerndesk_proto::intake::v1 as pb;

use crate::tickets::rules::{is_code, is_employee_id};

/// Most rows one bulk call takes; larger imports are split by the client.
pub const MAX_ROWS: usize = 5_000;
pub const NAME_MAX_CHARS: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepartmentRow {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmployeeRow {
    pub id: String,
    pub display_name: String,
    pub email: Option<String>,
    pub department: String,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedChild {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationRow {
    pub code: String,
    pub name: String,
    pub active: bool,
    pub modules: Vec<NamedChild>,
    pub topics: Vec<NamedChild>,
}

/// Collects the problems of one row.
struct Row {
    path: String,
    problems: Vec<String>,
}

impl Row {
    fn new(list: &str, index: usize) -> Self {
        Self {
            path: format!("{list}[{index}]"),
            problems: Vec::new(),
        }
    }

    fn check(&mut self, ok: bool, field: &str, why: &str) {
        if !ok {
            self.problems.push(format!("{}.{field}: {why}", self.path));
        }
    }

    fn finish<T>(self, index: usize, key: &str, row: T) -> Result<T, pb::RowRefusal> {
        if self.problems.is_empty() {
            Ok(row)
        } else {
            Err(pb::RowRefusal {
                index: index as i32,
                key: key.to_owned(),
                violations: self.problems,
            })
        }
    }
}

fn is_name(text: &str) -> bool {
    let n = text.chars().count();
    (1..=NAME_MAX_CHARS).contains(&n) && !text.chars().any(char::is_control)
}

pub fn parse_department(
    index: usize,
    d: &pb::Department,
    seen: &mut HashSet<String>,
) -> Result<DepartmentRow, pb::RowRefusal> {
    let mut row = Row::new("departments", index);
    let code = d.code.trim();
    let name = d.name.trim();
    row.check(
        is_code(code),
        "code",
        "must be a code: 1-40 of a-z, 0-9 and '-'",
    );
    row.check(is_name(name), "name", "must be 1-200 characters");
    row.check(
        seen.insert(code.to_owned()),
        "code",
        "appears twice in this request",
    );
    row.finish(
        index,
        code,
        DepartmentRow {
            code: code.to_owned(),
            name: name.to_owned(),
        },
    )
}

pub fn parse_employee(
    index: usize,
    e: &pb::Employee,
    seen: &mut HashSet<String>,
) -> Result<EmployeeRow, pb::RowRefusal> {
    let mut row = Row::new("employees", index);
    let id = e.id.trim();
    let name = e.display_name.trim();
    let email = e.email.trim();
    let department = e.department.trim();
    row.check(
        is_employee_id(id),
        "id",
        "must be 1-64 of A-Z, a-z, 0-9, '.', '_', '@' and '-'",
    );
    row.check(is_name(name), "display_name", "must be 1-200 characters");
    row.check(
        email.is_empty() || is_email(email),
        "email",
        "must be an e-mail address",
    );
    row.check(
        is_code(department),
        "department",
        "must be a department code",
    );
    row.check(
        seen.insert(id.to_owned()),
        "id",
        "appears twice in this request",
    );
    row.finish(
        index,
        id,
        EmployeeRow {
            id: id.to_owned(),
            display_name: name.to_owned(),
            email: (!email.is_empty()).then(|| email.to_owned()),
            department: department.to_owned(),
            active: e.active,
        },
    )
}

fn is_email(text: &str) -> bool {
    match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && text.len() <= 254
                && !text.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    }
}

pub fn parse_application(
    index: usize,
    a: &pb::Application,
    seen: &mut HashSet<String>,
) -> Result<ApplicationRow, pb::RowRefusal> {
    let mut row = Row::new("applications", index);
    let code = a.code.trim();
    let name = a.name.trim();
    row.check(
        is_code(code),
        "code",
        "must be a code: 1-40 of a-z, 0-9 and '-'",
    );
    row.check(is_name(name), "name", "must be 1-200 characters");
    row.check(
        seen.insert(code.to_owned()),
        "code",
        "appears twice in this request",
    );
    let mut children = |list: &[(String, String)], field: &str| {
        let mut codes = HashSet::new();
        let mut out = Vec::new();
        for (i, (c, n)) in list.iter().enumerate() {
            let (c, n) = (c.trim(), n.trim());
            row.check(is_code(c), &format!("{field}[{i}].code"), "must be a code");
            row.check(
                is_name(n),
                &format!("{field}[{i}].name"),
                "must be 1-200 characters",
            );
            row.check(
                codes.insert(c.to_owned()),
                &format!("{field}[{i}].code"),
                "appears twice in this application",
            );
            out.push(NamedChild {
                code: c.to_owned(),
                name: n.to_owned(),
            });
        }
        out
    };
    let modules = children(
        &a.modules
            .iter()
            .map(|m| (m.code.clone(), m.name.clone()))
            .collect::<Vec<_>>(),
        "modules",
    );
    let topics = children(
        &a.topics
            .iter()
            .map(|t| (t.code.clone(), t.name.clone()))
            .collect::<Vec<_>>(),
        "topics",
    );
    row.finish(
        index,
        code,
        ApplicationRow {
            code: code.to_owned(),
            name: name.to_owned(),
            active: a.active,
            modules,
            topics,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_employee_rows_name_each_field() {
        let mut seen = HashSet::new();
        let refusal = parse_employee(
            3,
            &pb::Employee {
                id: "has space".into(),
                display_name: String::new(),
                email: "no-at-sign".into(),
                department: "Finance".into(),
                active: true,
            },
            &mut seen,
        )
        .unwrap_err();
        assert_eq!(refusal.index, 3);
        let all = refusal.violations.join("\n");
        for field in [
            "employees[3].id",
            "employees[3].display_name",
            "employees[3].email",
            "employees[3].department",
        ] {
            assert!(all.contains(field), "{field} missing in {all}");
        }
    }

    #[test]
    fn duplicates_in_one_request_are_refused() {
        let mut seen = HashSet::new();
        let d = pb::Department {
            code: "finance".into(),
            name: "Financiën".into(),
        };
        assert!(parse_department(0, &d, &mut seen).is_ok());
        assert!(parse_department(1, &d, &mut seen).is_err());
    }
}
