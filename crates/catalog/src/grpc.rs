//! The `Catalog` gRPC contract, each method a thin call into its use case.

use crate::service::CatalogService;
use mercato_proto::catalog::catalog_server::Catalog;
use mercato_proto::catalog::*;
use mercato_proto::jobs::{Job, JobRequest, ListJobsRequest, ListJobsResponse, StartExportRequest};
use tonic::{Request, Response, Status};

#[tonic::async_trait]
impl Catalog for CatalogService {
    async fn import_categories(
        &self,
        r: Request<mercato_proto::imports::ImportCategoriesRequest>,
    ) -> Result<Response<mercato_proto::imports::ImportReply>, Status> {
        Ok(Response::new(self.import_categories(r.into_inner()).await?))
    }

    async fn import_products(
        &self,
        r: Request<mercato_proto::imports::ImportProductsRequest>,
    ) -> Result<Response<mercato_proto::imports::ImportReply>, Status> {
        Ok(Response::new(self.import_products(r.into_inner()).await?))
    }

    async fn import_checksums(
        &self,
        r: Request<mercato_proto::imports::ChecksumsRequest>,
    ) -> Result<Response<mercato_proto::imports::ChecksumsReply>, Status> {
        Ok(Response::new(self.import_checksums(r.into_inner()).await?))
    }

    async fn imported_records(
        &self,
        r: Request<mercato_proto::imports::RecordsRequest>,
    ) -> Result<Response<mercato_proto::imports::CatalogRecords>, Status> {
        Ok(Response::new(self.imported_records(r.into_inner()).await?))
    }

    async fn get_import_progress(
        &self,
        r: Request<mercato_proto::imports::ImportProgressRequest>,
    ) -> Result<Response<mercato_proto::imports::ImportProgress>, Status> {
        Ok(Response::new(self.get_import_progress(r.into_inner()).await?))
    }

    async fn create_product(&self, r: Request<CreateProductRequest>) -> Result<Response<Product>, Status> {
        Ok(Response::new(self.create_product(r.into_inner()).await?))
    }

    async fn update_product(&self, r: Request<UpdateProductRequest>) -> Result<Response<Product>, Status> {
        Ok(Response::new(self.update_product(r.into_inner()).await?))
    }

    async fn delete_product(
        &self,
        r: Request<DeleteProductRequest>,
    ) -> Result<Response<DeleteProductResponse>, Status> {
        Ok(Response::new(self.delete_product(r.into_inner()).await?))
    }

    async fn get_product(&self, r: Request<GetProductRequest>) -> Result<Response<Product>, Status> {
        Ok(Response::new(self.get_product(r.into_inner()).await?))
    }

    async fn list_products(
        &self,
        r: Request<ListProductsRequest>,
    ) -> Result<Response<ListProductsResponse>, Status> {
        Ok(Response::new(self.list_products(r.into_inner()).await?))
    }

    async fn create_category(&self, r: Request<CreateCategoryRequest>) -> Result<Response<Category>, Status> {
        Ok(Response::new(self.create_category(r.into_inner()).await?))
    }

    async fn list_categories(
        &self,
        r: Request<ListCategoriesRequest>,
    ) -> Result<Response<ListCategoriesResponse>, Status> {
        Ok(Response::new(self.list_categories(r.into_inner()).await?))
    }

    async fn search(&self, r: Request<SearchRequest>) -> Result<Response<SearchResponse>, Status> {
        Ok(Response::new(self.search(r.into_inner()).await?))
    }

    async fn get_synonyms(&self, r: Request<GetSynonymsRequest>) -> Result<Response<Synonyms>, Status> {
        Ok(Response::new(self.get_synonyms(r.into_inner()).await?))
    }

    async fn set_synonyms(&self, r: Request<SetSynonymsRequest>) -> Result<Response<Synonyms>, Status> {
        Ok(Response::new(self.set_synonyms(r.into_inner()).await?))
    }

    async fn add_product_image(
        &self,
        r: Request<AddProductImageRequest>,
    ) -> Result<Response<ProductImage>, Status> {
        Ok(Response::new(self.add_product_image(r.into_inner()).await?))
    }

    async fn update_product_image(
        &self,
        r: Request<UpdateProductImageRequest>,
    ) -> Result<Response<ProductImage>, Status> {
        Ok(Response::new(self.update_product_image(r.into_inner()).await?))
    }

    async fn delete_product_image(
        &self,
        r: Request<DeleteProductImageRequest>,
    ) -> Result<Response<DeleteProductImageResponse>, Status> {
        Ok(Response::new(self.delete_product_image(r.into_inner()).await?))
    }

    async fn reindex_search(&self, r: Request<ReindexSearchRequest>) -> Result<Response<Job>, Status> {
        Ok(Response::new(self.reindex_search(r.into_inner()).await?))
    }

    async fn start_export(&self, r: Request<StartExportRequest>) -> Result<Response<Job>, Status> {
        Ok(Response::new(self.start_export(r.into_inner()).await?))
    }

    async fn list_jobs(&self, r: Request<ListJobsRequest>) -> Result<Response<ListJobsResponse>, Status> {
        Ok(Response::new(self.jobs.list(r.into_inner()).await?))
    }

    async fn get_job(&self, r: Request<JobRequest>) -> Result<Response<Job>, Status> {
        Ok(Response::new(self.jobs.get(r.into_inner()).await?))
    }

    async fn cancel_job(&self, r: Request<JobRequest>) -> Result<Response<Job>, Status> {
        Ok(Response::new(self.jobs.cancel(r.into_inner()).await?))
    }

    async fn retry_job(&self, r: Request<JobRequest>) -> Result<Response<Job>, Status> {
        Ok(Response::new(self.jobs.retry(r.into_inner()).await?))
    }
}
