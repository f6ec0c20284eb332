//! Directory upserts and lists. Each bulk call is one transaction.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use kerndesk_proto::intake::v1 as pb;
use kerndesk_runtime::Error;
use kerndesk_store::Store;
use kerndesk_store::entity::{
    application, application_module, application_topic, department, employee,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use super::rules::{ApplicationRow, DepartmentRow, EmployeeRow, NamedChild};

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub created: i32,
    pub updated: i32,
    pub unchanged: i32,
}

/// Upserts departments, then employees. Employees whose department neither
/// exists nor is in this import are refused (returned), not written.
pub async fn import_employees(
    store: &Store,
    departments: Vec<DepartmentRow>,
    employees: Vec<(usize, EmployeeRow)>,
    now: DateTime<Utc>,
) -> Result<(Counts, Vec<pb::RowRefusal>), Error> {
    let mut counts = Counts::default();
    let txn = store.begin_write().await?;

    let mut known: HashMap<String, department::Model> = department::Entity::find()
        .all(&txn)
        .await?
        .into_iter()
        .map(|d| (d.code.clone(), d))
        .collect();
    for d in departments {
        match known.get(&d.code) {
            Some(existing) if existing.name == d.name => counts.unchanged += 1,
            Some(existing) => {
                let mut row = existing.clone().into_active_model();
                row.name = Set(d.name.clone());
                row.updated_at = Set(now);
                known.insert(d.code.clone(), row.update(&txn).await?);
                counts.updated += 1;
            }
            None => {
                let row = department::ActiveModel {
                    code: Set(d.code.clone()),
                    name: Set(d.name),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
                .insert(&txn)
                .await?;
                known.insert(d.code, row);
                counts.created += 1;
            }
        }
    }

    let mut refused = Vec::new();
    let ids: Vec<String> = employees.iter().map(|(_, e)| e.id.clone()).collect();
    let mut existing: HashMap<String, employee::Model> = HashMap::new();
    for chunk in ids.chunks(500) {
        for e in employee::Entity::find()
            .filter(employee::Column::Id.is_in(chunk.to_vec()))
            .all(&txn)
            .await?
        {
            existing.insert(e.id.clone(), e);
        }
    }
    for (index, e) in employees {
        if !known.contains_key(&e.department) {
            refused.push(pb::RowRefusal {
                index: index as i32,
                key: e.id.clone(),
                violations: vec![format!(
                    "employees[{index}].department: no department {:?}; add it to departments",
                    e.department
                )],
            });
            continue;
        }
        match existing.get(&e.id) {
            Some(old)
                if old.display_name == e.display_name
                    && old.email == e.email
                    && old.department == e.department
                    && old.active == e.active =>
            {
                counts.unchanged += 1
            }
            Some(old) => {
                let mut row = old.clone().into_active_model();
                row.display_name = Set(e.display_name);
                row.email = Set(e.email);
                row.department = Set(e.department);
                row.active = Set(e.active);
                row.updated_at = Set(now);
                row.update(&txn).await?;
                counts.updated += 1;
            }
            None => {
                employee::ActiveModel {
                    id: Set(e.id),
                    display_name: Set(e.display_name),
                    email: Set(e.email),
                    department: Set(e.department),
                    active: Set(e.active),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
                .insert(&txn)
                .await?;
                counts.created += 1;
            }
        }
    }
    txn.commit().await?;
    Ok((counts, refused))
}

/// Upserts applications; each one's module and topic lists are replaced
/// (children not listed are deactivated, never deleted: old tickets keep
/// pointing at them).
pub async fn upsert_applications(
    store: &Store,
    apps: Vec<ApplicationRow>,
    now: DateTime<Utc>,
) -> Result<Counts, Error> {
    let mut counts = Counts::default();
    let txn = store.begin_write().await?;
    for app in apps {
        let old = application::Entity::find_by_id(app.code.clone())
            .one(&txn)
            .await?;
        let mut changed = match &old {
            None => {
                application::ActiveModel {
                    code: Set(app.code.clone()),
                    name: Set(app.name.clone()),
                    active: Set(app.active),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
                .insert(&txn)
                .await?;
                true
            }
            Some(old) if old.name != app.name || old.active != app.active => {
                let mut row = old.clone().into_active_model();
                row.name = Set(app.name.clone());
                row.active = Set(app.active);
                row.updated_at = Set(now);
                row.update(&txn).await?;
                true
            }
            Some(_) => false,
        };
        changed |= replace_modules(&txn, &app.code, &app.modules).await?;
        changed |= replace_topics(&txn, &app.code, &app.topics).await?;
        if old.is_none() {
            counts.created += 1;
        } else if changed {
            // Its modules or topics may be what changed: the application's
            // update time says so either way.
            application::Entity::update_many()
                .col_expr(
                    application::Column::UpdatedAt,
                    sea_orm::sea_query::Expr::value(now),
                )
                .filter(application::Column::Code.eq(app.code.clone()))
                .exec(&txn)
                .await?;
            counts.updated += 1;
        } else {
            counts.unchanged += 1;
        }
    }
    txn.commit().await?;
    Ok(counts)
}

// Modules and topics are two tables of the same shape; sea-orm entities are
// distinct types, so the replace logic is spelled out per table through one
// macro rather than a trait dance.
macro_rules! replace_children {
    ($name:ident, $entity:ident) => {
        async fn $name<C: ConnectionTrait>(
            db: &C,
            app: &str,
            wanted: &[NamedChild],
        ) -> Result<bool, Error> {
            let existing: HashMap<String, $entity::Model> = $entity::Entity::find()
                .filter($entity::Column::Application.eq(app))
                .all(db)
                .await?
                .into_iter()
                .map(|m| (m.code.clone(), m))
                .collect();
            let mut changed = false;
            let listed: HashSet<&str> = wanted.iter().map(|c| c.code.as_str()).collect();
            for (position, child) in wanted.iter().enumerate() {
                let position = position as i32;
                match existing.get(&child.code) {
                    Some(old)
                        if old.name == child.name && old.active && old.position == position => {}
                    Some(old) => {
                        let mut row = old.clone().into_active_model();
                        row.name = Set(child.name.clone());
                        row.active = Set(true);
                        row.position = Set(position);
                        row.update(db).await?;
                        changed = true;
                    }
                    None => {
                        $entity::ActiveModel {
                            application: Set(app.to_owned()),
                            code: Set(child.code.clone()),
                            name: Set(child.name.clone()),
                            active: Set(true),
                            position: Set(position),
                        }
                        .insert(db)
                        .await?;
                        changed = true;
                    }
                }
            }
            for old in existing.values() {
                if old.active && !listed.contains(old.code.as_str()) {
                    let mut row = old.clone().into_active_model();
                    row.active = Set(false);
                    row.update(db).await?;
                    changed = true;
                }
            }
            Ok(changed)
        }
    };
}

replace_children!(replace_modules, application_module);
replace_children!(replace_topics, application_topic);

/// One page of applications by code, with their modules and topics.
pub async fn list_applications<C: ConnectionTrait>(
    db: &C,
    include_inactive: bool,
    after_code: Option<String>,
    limit: u64,
) -> Result<Vec<pb::Application>, Error> {
    let mut query = application::Entity::find();
    if !include_inactive {
        query = query.filter(application::Column::Active.eq(true));
    }
    if let Some(after) = after_code {
        query = query.filter(application::Column::Code.gt(after));
    }
    let apps = query
        .order_by_asc(application::Column::Code)
        .limit(limit)
        .all(db)
        .await?;
    let codes: Vec<String> = apps.iter().map(|a| a.code.clone()).collect();
    let mut modules: HashMap<String, Vec<pb::Module>> = HashMap::new();
    let mut topics: HashMap<String, Vec<pb::Topic>> = HashMap::new();
    if !codes.is_empty() {
        let mut q = application_module::Entity::find()
            .filter(application_module::Column::Application.is_in(codes.clone()));
        if !include_inactive {
            q = q.filter(application_module::Column::Active.eq(true));
        }
        for m in q
            .order_by_asc(application_module::Column::Position)
            .all(db)
            .await?
        {
            modules.entry(m.application).or_default().push(pb::Module {
                code: m.code,
                name: m.name,
            });
        }
        let mut q = application_topic::Entity::find()
            .filter(application_topic::Column::Application.is_in(codes));
        if !include_inactive {
            q = q.filter(application_topic::Column::Active.eq(true));
        }
        for t in q
            .order_by_asc(application_topic::Column::Position)
            .all(db)
            .await?
        {
            topics.entry(t.application).or_default().push(pb::Topic {
                code: t.code,
                name: t.name,
            });
        }
    }
    Ok(apps
        .into_iter()
        .map(|a| pb::Application {
            modules: modules.remove(&a.code).unwrap_or_default(),
            topics: topics.remove(&a.code).unwrap_or_default(),
            code: a.code,
            name: a.name,
            active: a.active,
        })
        .collect())
}

pub async fn list_departments<C: ConnectionTrait>(
    db: &C,
    after_code: Option<String>,
    limit: u64,
) -> Result<Vec<department::Model>, Error> {
    let mut query = department::Entity::find();
    if let Some(after) = after_code {
        query = query.filter(department::Column::Code.gt(after));
    }
    Ok(query
        .order_by_asc(department::Column::Code)
        .limit(limit)
        .all(db)
        .await?)
}
