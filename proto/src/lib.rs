//! Generated protobuf types and gRPC stubs of the suite's contracts
//! (`proto/otc/...`), plus the descriptor set that gRPC reflection serves.

// Generated code: the restriction lints that guard our own code do not apply.
#![allow(
    clippy::all,
    clippy::pedantic,
    clippy::as_conversions,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs
)]

/// Encoded `FileDescriptorSet` of every contract, for `tonic-reflection`.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/otc_descriptor.bin"));

pub mod otc {
    pub mod types {
        pub mod v1 {
            tonic::include_proto!("otc.types.v1");
        }
    }
    pub mod events {
        pub mod v1 {
            tonic::include_proto!("otc.events.v1");
        }
    }
    pub mod order {
        pub mod v1 {
            tonic::include_proto!("otc.order.v1");
        }
    }
    pub mod billing {
        pub mod v1 {
            tonic::include_proto!("otc.billing.v1");
        }
    }
    pub mod payments {
        pub mod v1 {
            tonic::include_proto!("otc.payments.v1");
        }
    }
    pub mod collections {
        pub mod v1 {
            tonic::include_proto!("otc.collections.v1");
        }
    }
    pub mod ops {
        pub mod v1 {
            tonic::include_proto!("otc.ops.v1");
        }
    }
    pub mod reporting {
        pub mod v1 {
            tonic::include_proto!("otc.reporting.v1");
        }
    }
}

pub use otc::billing::v1 as billing;
pub use otc::collections::v1 as collections;
pub use otc::events::v1 as events;
pub use otc::ops::v1 as ops;
pub use otc::order::v1 as order;
pub use otc::payments::v1 as payments;
pub use otc::reporting::v1 as reporting;
pub use otc::types::v1 as types;
