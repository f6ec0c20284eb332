//! Between the stored vocabulary ([`kerndesk_store::model`]) and the wire
//! enums. Unknown stored text maps to `*_UNSPECIFIED`, never to a panic.

use chrono::{DateTime, Utc};
use kerndesk_proto::intake::v1 as pb;
use kerndesk_store::model::{Category, Channel, Impact, Priority, TicketStatus, Urgency};

pub fn timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: at.timestamp_subsec_nanos() as i32,
    }
}

pub fn from_timestamp(ts: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    if !(0..1_000_000_000).contains(&ts.nanos) {
        return None;
    }
    DateTime::from_timestamp(ts.seconds, ts.nanos as u32)
}

macro_rules! enum_map {
    ($to_pb:ident, $from_pb:ident, $model:ident, $pb:ident { $($m:ident <=> $p:ident),+ $(,)? }) => {
        pub fn $to_pb(text: &str) -> pb::$pb {
            match $model::parse(text) {
                $(Some($model::$m) => pb::$pb::$p,)+
                None => pb::$pb::Unspecified,
            }
        }

        /// `None` for `*_UNSPECIFIED` and for numbers the enum does not have.
        pub fn $from_pb(value: i32) -> Option<$model> {
            match pb::$pb::try_from(value).ok()? {
                $(pb::$pb::$p => Some($model::$m),)+
                pb::$pb::Unspecified => None,
            }
        }
    };
}

enum_map!(status_to_pb, status_from_pb, TicketStatus, TicketStatus {
    New <=> New,
    WithKeyUser <=> WithKeyUser,
    WithSupplier <=> WithSupplier,
    WaitingOnEmployee <=> WaitingOnEmployee,
    Resolved <=> Resolved,
    Closed <=> Closed,
    Withdrawn <=> Withdrawn,
});

enum_map!(category_to_pb, category_from_pb, Category, Category {
    Question <=> Question,
    Incident <=> Incident,
    Request <=> Request,
    Wish <=> Wish,
});

enum_map!(impact_to_pb, impact_from_pb, Impact, Impact {
    Low <=> Low,
    Medium <=> Medium,
    High <=> High,
});

enum_map!(urgency_to_pb, urgency_from_pb, Urgency, Urgency {
    Low <=> Low,
    Medium <=> Medium,
    High <=> High,
});

enum_map!(priority_to_pb, priority_from_pb, Priority, Priority {
    Low <=> Low,
    Medium <=> Medium,
    High <=> High,
    Critical <=> Critical,
});

enum_map!(channel_to_pb, channel_from_pb, Channel, Channel {
    Portal <=> Portal,
    Phone <=> Phone,
    Email <=> Email,
    WalkIn <=> WalkIn,
});
