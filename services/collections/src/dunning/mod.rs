//! Dunning at work: runs that generate notices ([`run`]), the durable daily
//! scheduler that starts them and carries on interrupted ones
//! ([`scheduler`]), and the worker that delivers notices by email, webhook
//! or letter ([`delivery`]).

pub mod delivery;
pub mod letter;
pub mod run;
pub mod scheduler;
pub mod settings;
