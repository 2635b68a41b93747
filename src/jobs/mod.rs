//! The work runs exist for, one module per operation: each turns a claimed run into item
//! results through the Graph layer.

use crate::runs::{ExecError, Execution};

pub async fn execute(execution: &Execution) -> Result<(), ExecError> {
    let _ = execution;
    todo!()
}
