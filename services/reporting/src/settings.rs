//! The `reporting.*` section of the service's settings
//! (`OTC_REPORTING__FOLD__BATCH_SIZE=5000`, …).

use serde::Deserialize;

use crate::consumer::FoldSettings;
use crate::dashboard::DashboardSettings;
use crate::snapshots::SnapshotSettings;

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ReportingSettings {
    pub fold: FoldSettings,
    pub snapshots: SnapshotSettings,
    pub dashboard: DashboardSettings,
}
