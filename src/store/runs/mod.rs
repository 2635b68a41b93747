//! Run Records and their item rows: the database half of the orchestration protocol.
//! Every state change here is a guarded (compare-and-set) update.
//!
//! Split by concern: the records themselves, their claim/lease lifecycle, and their items;
//! every public name is re-exported here, so callers keep using `store::runs::…`.

mod cancel;
mod items;
mod lease;
mod records;
mod surroundings;

pub use cancel::*;
pub use items::*;
pub use lease::*;
pub use records::*;
pub use surroundings::{Surroundings, surroundings};
