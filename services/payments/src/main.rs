//! `otc-payments`: see the crate documentation.

fn main() -> std::process::ExitCode {
    otc_shared::runtime::run_main(otc_payments::SERVICE, otc_payments::install)
}
