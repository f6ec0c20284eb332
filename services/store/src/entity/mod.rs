//! sea-orm entities, one per table. Columns holding vocabulary (status,
//! category, ...) are text; [`crate::model`] parses them.

pub mod application;
pub mod application_module;
pub mod application_topic;
pub mod comment;
pub mod department;
pub mod employee;
pub mod idempotency_record;
pub mod key_user_absence;
pub mod key_user_assignment;
pub mod rating;
pub mod ticket;
pub mod ticket_event;
pub mod time_entry;
