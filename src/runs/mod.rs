//! Run orchestration: de-duplicated starts, claims, heartbeats, item results, terminal
//! transitions, and the reaper that gives every run a terminal state.

pub mod worker;
