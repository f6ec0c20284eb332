//! `kerndesk.intake.v1.Directory`.

pub mod api;
pub mod queries;
pub mod rules;
