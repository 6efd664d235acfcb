//! `/findings`: what the rules and citizens raised, converted or dismissed by coordinators.

pub mod act;
pub mod list;

use crate::applications::Actor;
use crate::auth::Caller;

pub fn actor(caller: &Caller) -> Actor {
    Actor {
        id: caller.user_id.to_string(),
        role: caller.role,
    }
}
