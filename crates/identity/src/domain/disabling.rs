//! Who may disable or re-enable whose account: the rules without IO.
//!
//! Checked in this order, so that a caller learns nothing about an account it may not change
//! and each refusal otherwise names the most specific reason: only staff change accounts;
//! nobody changes their own; only the owner changes staff (and owner) accounts, while staff may
//! change customers'; a store keeps at least one enabled owner.

use mercato_runtime::auth::Role;

/// The caller asking, as its verified token names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Actor<'a> {
    pub user_id: &'a str,
    pub role: Role,
}

/// The account to change, as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target<'a> {
    pub user_id: &'a str,
    pub role: Role,
    pub disabled: bool,
}

/// Why a change of an account's state is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DisableRefusal {
    #[error("you cannot disable or enable your own account")]
    OwnAccount,
    #[error("the store's last owner cannot be disabled")]
    LastOwner,
    #[error("only the store's owner may disable or enable staff accounts")]
    NotOwner,
    #[error("only the store's owner and staff may disable or enable accounts")]
    NotStaff,
}

/// Whether `actor` may set `target` to `disable`, given how many enabled owners the store has
/// (`enabled_owners`, counting the target when it is one).
pub fn check(
    actor: Actor<'_>,
    target: Target<'_>,
    disable: bool,
    enabled_owners: i64,
) -> Result<(), DisableRefusal> {
    if !matches!(actor.role, Role::Owner | Role::Staff) {
        return Err(DisableRefusal::NotStaff);
    }
    if actor.user_id == target.user_id {
        return Err(DisableRefusal::OwnAccount);
    }
    if actor.role == Role::Staff && target.role != Role::Customer {
        return Err(DisableRefusal::NotOwner);
    }
    let owner_lost = target.role == Role::Owner && !target.disabled;
    if disable && owner_lost && enabled_owners <= 1 {
        return Err(DisableRefusal::LastOwner);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role) -> Actor<'static> {
        Actor {
            user_id: "actor",
            role,
        }
    }

    fn target(role: Role) -> Target<'static> {
        Target {
            user_id: "target",
            role,
            disabled: false,
        }
    }

    #[test]
    fn the_owner_disables_staff_and_customers_and_staff_only_customers() {
        for role in [Role::Staff, Role::Customer] {
            assert_eq!(check(actor(Role::Owner), target(role), true, 1), Ok(()));
        }
        assert_eq!(check(actor(Role::Staff), target(Role::Customer), true, 1), Ok(()));
        assert_eq!(
            check(actor(Role::Staff), target(Role::Staff), true, 1),
            Err(DisableRefusal::NotOwner)
        );
        assert_eq!(
            check(actor(Role::Customer), target(Role::Customer), true, 1),
            Err(DisableRefusal::NotStaff)
        );
    }

    #[test]
    fn nobody_changes_their_own_account_in_either_direction() {
        for role in [Role::Owner, Role::Staff] {
            let me = Target {
                user_id: "actor",
                role,
                disabled: false,
            };
            for disable in [true, false] {
                assert_eq!(
                    check(actor(role), me, disable, 1),
                    Err(DisableRefusal::OwnAccount)
                );
            }
        }
    }

    #[test]
    fn the_last_enabled_owner_cannot_be_disabled_but_one_of_two_can() {
        let owner = target(Role::Owner);
        assert_eq!(
            check(actor(Role::Staff), owner, true, 1),
            Err(DisableRefusal::NotOwner),
            "staff learn nothing about the owners"
        );
        assert_eq!(
            check(actor(Role::Customer), owner, true, 1),
            Err(DisableRefusal::NotStaff)
        );
        assert_eq!(
            check(actor(Role::Owner), owner, true, 1),
            Err(DisableRefusal::LastOwner)
        );
        assert_eq!(check(actor(Role::Owner), owner, true, 2), Ok(()));
        assert_eq!(check(actor(Role::Owner), owner, false, 1), Ok(()));
    }
}
