//! The order lifecycle: `pending_credit -> approved | on_credit_hold ->
//! partially_fulfilled -> fulfilled -> closed`, and `cancelled` before
//! anything ships. Every command asks here whether it may proceed.

use otc_shared::domain::OrderStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Amend,
    Cancel,
    Ship,
    Close,
    ReleaseHold,
    DecideCredit,
}

impl Command {
    fn describe(self) -> &'static str {
        match self {
            Self::Amend => "amended",
            Self::Cancel => "cancelled",
            Self::Ship => "shipped",
            Self::Close => "closed",
            Self::ReleaseHold => "released from credit hold",
            Self::DecideCredit => "credit-checked",
        }
    }
}

/// `Ok` if `command` applies to an order in `status`; otherwise why not.
pub fn allows(status: OrderStatus, command: Command) -> Result<(), String> {
    use OrderStatus::*;
    let allowed = match command {
        Command::Amend | Command::Cancel => {
            matches!(status, PendingCredit | Approved | OnCreditHold)
        }
        Command::Ship => matches!(status, Approved | PartiallyFulfilled),
        Command::Close => matches!(status, Fulfilled),
        Command::ReleaseHold => matches!(status, OnCreditHold),
        Command::DecideCredit => matches!(status, PendingCredit | OnCreditHold),
    };
    if allowed {
        return Ok(());
    }
    let hint = match (status, command) {
        (PendingCredit, Command::Ship) => "; it waits for its credit check",
        (OnCreditHold, Command::Ship) => "; it is on credit hold",
        (PartiallyFulfilled | Fulfilled, Command::Amend | Command::Cancel) => {
            "; part of it has shipped"
        }
        (PartiallyFulfilled, Command::Close) => "; not everything has shipped",
        _ => "",
    };
    Err(format!(
        "an order that is {} cannot be {}{hint}",
        status.as_str(),
        command.describe()
    ))
}

/// The status after a shipment, from whether every line is fully shipped.
pub fn after_shipment(all_lines_shipped: bool) -> OrderStatus {
    if all_lines_shipped {
        OrderStatus::Fulfilled
    } else {
        OrderStatus::PartiallyFulfilled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lifecycle_table() {
        use OrderStatus::*;
        for status in OrderStatus::ALL {
            let cancellable = allows(*status, Command::Cancel).is_ok();
            assert_eq!(
                cancellable,
                matches!(status, PendingCredit | Approved | OnCreditHold),
                "{status:?}"
            );
            assert_eq!(
                allows(*status, Command::Ship).is_ok(),
                matches!(status, Approved | PartiallyFulfilled)
            );
            assert_eq!(
                allows(*status, Command::Close).is_ok(),
                *status == Fulfilled
            );
        }
        let refusal = allows(OnCreditHold, Command::Ship).unwrap_err();
        assert_eq!(
            refusal,
            "an order that is on_credit_hold cannot be shipped; it is on credit hold"
        );
    }
}
