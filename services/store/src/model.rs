//! The stored vocabulary. Values are stored as UPPER_SNAKE text, the same
//! words as the proto enums without their prefix, so the database reads
//! well in psql and reports can group on them directly.

use std::fmt;

macro_rules! stored_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

stored_enum!(
    /// Where a ticket is in its lifecycle.
    TicketStatus {
        New => "NEW",
        WithKeyUser => "WITH_KEY_USER",
        WithSupplier => "WITH_SUPPLIER",
        WaitingOnEmployee => "WAITING_ON_EMPLOYEE",
        Resolved => "RESOLVED",
        Closed => "CLOSED",
        Withdrawn => "WITHDRAWN",
    }
);

impl TicketStatus {
    /// Still being worked on: someone owes the employee an answer.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Self::New | Self::WithKeyUser | Self::WithSupplier | Self::WaitingOnEmployee
        )
    }

    /// Nothing more happens to the ticket.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Closed | Self::Withdrawn)
    }
}

stored_enum!(
    Category {
        Question => "QUESTION",
        Incident => "INCIDENT",
        Request => "REQUEST",
        Wish => "WISH",
    }
);

stored_enum!(
    Impact {
        Low => "LOW",
        Medium => "MEDIUM",
        High => "HIGH",
    }
);

stored_enum!(
    Urgency {
        Low => "LOW",
        Medium => "MEDIUM",
        High => "HIGH",
    }
);

stored_enum!(
    Priority {
        Low => "LOW",
        Medium => "MEDIUM",
        High => "HIGH",
        Critical => "CRITICAL",
    }
);

stored_enum!(
    Channel {
        Portal => "PORTAL",
        Phone => "PHONE",
        Email => "EMAIL",
        WalkIn => "WALK_IN",
    }
);

stored_enum!(
    /// What a `ticket_events` row records.
    EventKind {
        Created => "CREATED",
        CommentAdded => "COMMENT_ADDED",
        Rated => "RATED",
        Withdrawn => "WITHDRAWN",
        Routed => "ROUTED",
        Accepted => "ACCEPTED",
        AskedEmployee => "ASKED_EMPLOYEE",
        EmployeeReplied => "EMPLOYEE_REPLIED",
        Reassigned => "REASSIGNED",
        Escalated => "ESCALATED",
        Acknowledged => "ACKNOWLEDGED",
        SupplierUpdate => "SUPPLIER_UPDATE",
        HandedBack => "HANDED_BACK",
        Resolved => "RESOLVED",
        Reopened => "REOPENED",
        Closed => "CLOSED",
        SlaToDeputy => "SLA_TO_DEPUTY",
        SlaToSupplier => "SLA_TO_SUPPLIER",
        TimeLogged => "TIME_LOGGED",
    }
);

stored_enum!(
    /// A key user's formal role for an application.
    KeyUserRole {
        Primary => "PRIMARY",
        Deputy => "DEPUTY",
    }
);

stored_enum!(
    /// How a key user (or the supplier) resolved a ticket.
    ResolutionKind {
        HowTo => "HOW_TO",
        Fixed => "FIXED",
        Configuration => "CONFIGURATION",
        WishRecorded => "WISH_RECORDED",
        TrainingNeeded => "TRAINING_NEEDED",
    }
);

stored_enum!(
    /// Why a ticket went where it went without a person deciding.
    RoutingReason {
        PrimaryKeyUser => "PRIMARY_KEY_USER",
        DeputyKeyUser => "DEPUTY_KEY_USER",
        NoKeyUser => "NO_KEY_USER",
        AllAbsent => "ALL_ABSENT",
        EscalatedByKeyUser => "ESCALATED_BY_KEY_USER",
        SlaResponseMissed => "SLA_RESPONSE_MISSED",
    }
);
