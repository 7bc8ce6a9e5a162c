//! `otc-order`: see the crate documentation.

fn main() -> std::process::ExitCode {
    otc_shared::runtime::run_main(otc_order::SERVICE, otc_order::install)
}
