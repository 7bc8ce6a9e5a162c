//! `otc-reporting`: see the crate documentation.

fn main() -> std::process::ExitCode {
    otc_shared::runtime::run_main(otc_reporting::SERVICE, otc_reporting::install)
}
