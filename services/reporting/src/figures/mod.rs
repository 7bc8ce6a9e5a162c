//! Figures computed from the read models, as of any date.

pub mod aging;
pub mod behaviour;
pub mod exceptions;
pub mod facts;
pub mod forecast;
pub mod history;
pub mod kpis;
pub mod statistics;
