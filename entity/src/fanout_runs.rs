//! A fan-out's child in one tenant: the run it started there, or the identical active run it
//! joined (`joined`), whose outcome counts for the fan-out all the same.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "fanout_runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub fanout_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    pub run_id: Uuid,
    pub joined: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::fanouts::Entity",
        from = "Column::FanoutId",
        to = "super::fanouts::Column::Id",
        on_delete = "Cascade"
    )]
    Fanout,
    #[sea_orm(
        belongs_to = "super::runs::Entity",
        from = "Column::RunId",
        to = "super::runs::Column::Id",
        on_delete = "Cascade"
    )]
    Run,
}

impl Related<super::fanouts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Fanout.def()
    }
}

impl Related<super::runs::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Run.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
