//! Category use cases: create one, list the tree.

use crate::domain::{CategoryId, CategoryRecord};
use crate::events;
use crate::requests;
use crate::service::{CatalogService, store_id};
use mercato_proto::catalog as pb;
use mercato_runtime::error::ServiceError;
use mercato_runtime::time::now_ms;

impl CatalogService {
    pub(crate) async fn create_category(
        &self,
        req: pb::CreateCategoryRequest,
    ) -> Result<pb::Category, ServiceError> {
        let store = store_id(&req.store_id)?;
        let parent = self.lookup_category(&store, &req.parent).await?;
        let new = requests::new_category(&req, parent)?;
        let category = CategoryRecord {
            id: CategoryId::new(),
            slug: new.slug.as_str().to_owned(),
            name: new.name,
            parent_id: new.parent.map(|p| p.id),
            created_at_ms: now_ms(),
        };
        let event = events::category_created(&store, &category);
        self.store.insert_category(&store, &category, &event).await?;
        self.committed();
        Ok(category.to_proto(&store))
    }

    /// Every category of the store, flat, by name; `parent_id` links the tree.
    pub(crate) async fn list_categories(
        &self,
        req: pb::ListCategoriesRequest,
    ) -> Result<pb::ListCategoriesResponse, ServiceError> {
        let store = store_id(&req.store_id)?;
        let categories = self.store.categories(&store).await?;
        Ok(pb::ListCategoriesResponse {
            categories: categories.iter().map(|c| c.to_proto(&store)).collect(),
        })
    }
}
