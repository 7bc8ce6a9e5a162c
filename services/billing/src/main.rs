//! `otc-billing`: see the crate documentation.

fn main() -> std::process::ExitCode {
    otc_shared::runtime::run_main(otc_billing::SERVICE, otc_billing::install)
}
