//! Global user accounts; access to tenants comes from `memberships`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Lowercased by the application before it is stored or looked up.
    #[sea_orm(unique)]
    pub email: String,
    /// Argon2 PHC string.
    pub password_hash: String,
    pub disabled: bool,
    /// May add tenants and purge them (granted with `policyvault user add --platform-admin`).
    pub platform_admin: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::memberships::Entity")]
    Memberships,
    #[sea_orm(has_many = "super::api_tokens::Entity")]
    ApiTokens,
    #[sea_orm(has_many = "super::notifications::Entity")]
    Notifications,
    #[sea_orm(has_many = "super::sessions::Entity")]
    Sessions,
}

impl Related<super::memberships::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Memberships.def()
    }
}

impl Related<super::api_tokens::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ApiTokens.def()
    }
}

impl Related<super::notifications::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Notifications.def()
    }
}

impl Related<super::sessions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Sessions.def()
    }
}

/// The tenants the user is a member of, through `memberships`.
impl Related<super::tenants::Entity> for Entity {
    fn to() -> RelationDef {
        super::memberships::Relation::Tenant.def()
    }

    fn via() -> Option<RelationDef> {
        Some(super::memberships::Relation::User.def().rev())
    }
}

impl ActiveModelBehavior for ActiveModel {}
