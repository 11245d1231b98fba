use dataflow_core::prelude::*;

#[derive(Model)]
#[dataflow(table = "_dataflow_jobs")]
pub struct Jobs {
    pub id: i64,
}

#[allow(non_camel_case_types)]
#[derive(Model)]
pub struct _DataflowTasks {
    pub id: i64,
}

#[derive(Model)]
#[dataflow(table = "sqlite_stuff")]
pub struct Stuff {
    pub id: i64,
}

fn main() {}
