use dataflow_core::prelude::*;

#[derive(Model)]
pub struct AStructWhoseSnakeCaseTableNameIsLongerThanPostgresKeepsIdentifiers {
    pub id: i64,
}

#[derive(Model)]
#[dataflow(table = "short_enough")]
pub struct Fine {
    pub id: i64,
    pub a_field_whose_name_is_longer_than_the_sixty_three_bytes_postgres_keeps: String,
}

fn main() {}
