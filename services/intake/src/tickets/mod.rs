//! `kerndesk.intake.v1.Tickets`.

pub mod api;
pub mod queries;
pub mod rules;
pub mod writer;
