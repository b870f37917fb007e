//! Categories: the public tree, and creation for owners and staff.

use crate::access::{Public, Staff, StoreScope};
use crate::dto::{CategoryView, CreateCategoryBody};
use crate::extract::ApiJson;
use crate::read_cache::ReadCondition;
use crate::state::GatewayState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use mercato_proto::catalog::{CreateCategoryRequest, ListCategoriesRequest};
use mercato_runtime::error::ServiceError;
use std::collections::HashMap;

/// The category tree of a store.
#[utoipa::path(get, path = "/v1/stores/{store}/categories", tag = "catalog",
    params(("store" = String, Path, description = "store slug"), crate::dto::IfNoneMatch),
    responses((status = 200, body = Vec<CategoryView>, description = "The top-level categories, each with its children", headers(("ETag" = String, description = "The version of this answer, for `If-None-Match`"))),
              (status = 304, description = "The client's copy (`If-None-Match`) is current"),
              (status = 404, description = "No store has this slug")))]
pub async fn list_categories(
    State(state): State<GatewayState>,
    scope: StoreScope<Public>,
    read: ReadCondition,
) -> Result<Response, ServiceError> {
    let catalog = state.catalog();
    let fetch = |store_id| async move {
        let flat = catalog
            .list_categories(ListCategoriesRequest { store_id })
            .await?;
        Ok(build_tree(flat.categories.into_iter().map(Into::into).collect()))
    };
    state.reads().read(&read, scope.store.id.clone(), fetch).await
}

/// Nests categories under their parents; orphans (a parent we did not get) become roots.
fn build_tree(flat: Vec<CategoryView>) -> Vec<CategoryView> {
    let ids: std::collections::HashSet<String> = flat.iter().map(|c| c.id.clone()).collect();
    let mut children: HashMap<String, Vec<CategoryView>> = HashMap::new();
    let mut roots = Vec::new();
    for c in flat {
        match &c.parent_id {
            Some(p) if ids.contains(p) => children.entry(p.clone()).or_default().push(c),
            _ => roots.push(c),
        }
    }
    fn attach(node: &mut CategoryView, children: &mut HashMap<String, Vec<CategoryView>>) {
        if let Some(mut kids) = children.remove(&node.id) {
            for k in &mut kids {
                attach(k, children);
            }
            node.children = kids;
        }
    }
    for r in &mut roots {
        attach(r, &mut children);
    }
    roots
}

/// Create a category (owner or staff).
#[utoipa::path(post, path = "/v1/stores/{store}/categories", tag = "catalog", request_body = CreateCategoryBody,
    params(("store" = String, Path, description = "store slug")), security(("bearer" = [])),
    responses((status = 201, body = CategoryView, description = "The new category"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner or staff"),
              (status = 404, description = "No store has this slug"),
              (status = 409, description = "`slug_taken`: the slug is taken in this store"),
              (status = 422, description = "A field is invalid or the parent is unknown; `errors` names each one")))]
pub async fn create_category(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    ApiJson(body): ApiJson<CreateCategoryBody>,
) -> Result<(StatusCode, axum::Json<CategoryView>), ServiceError> {
    let store = scope.store;
    let category = state
        .catalog()
        .create_category(CreateCategoryRequest {
            store_id: store.id.clone(),
            slug: body.slug,
            name: body.name,
            parent: body.parent.unwrap_or_default(),
        })
        .await?;
    state.reads().invalidate(&store.id);
    Ok((StatusCode::CREATED, axum::Json(category.into())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat(id: &str, parent: Option<&str>) -> CategoryView {
        CategoryView {
            id: id.into(),
            slug: id.into(),
            name: id.into(),
            parent_id: parent.map(Into::into),
            children: vec![],
        }
    }

    #[test]
    fn categories_nest_under_their_parents() {
        let tree = build_tree(vec![
            cat("a", None),
            cat("b", Some("a")),
            cat("c", Some("b")),
            cat("d", None),
        ]);
        assert_eq!(tree.len(), 2);
        assert_eq!(tree[0].children[0].children[0].id, "c");
    }
}
