//! The `kerndesk` command and the assembly it shares with the tests: which
//! services a process runs, on which store, behind which server.

pub mod app;
pub mod demo;
