// SPDX-License-Identifier: LGPL-3.0-only
//! The trussed backend dispatcher for the emulated card.
//!
//! opcard needs, besides trussed's core backend, three trussed API
//! extensions: `AuthExtension` (PINs, from trussed-auth-backend),
//! `ChunkedExtension` and `WrapKeyToFileExtension` (both from
//! trussed-staging). With the `rsa` feature, RSA requests go to
//! trussed-rsa-alloc's `SoftwareRsa` backend first.

use trussed::{
    Platform,
    backend::BackendId,
    serde_extensions::{ExtensionDispatch, ExtensionId, ExtensionImpl},
    service::ServiceResources,
    types::Context,
};
use trussed_auth::AuthExtension;
use trussed_auth_backend::{AuthBackend, AuthContext, FilesystemLayout};
use trussed_chunked::ChunkedExtension;
use trussed_core::{
    Error,
    api::{Reply, Request, reply, request},
    types::Location,
};
use trussed_staging::{StagingBackend, StagingContext};
use trussed_wrap_key_to_file::WrapKeyToFileExtension;

/// The custom backends, in the order a request tries them (then core).
#[derive(Debug)]
pub enum BackendIds {
    Auth,
    Staging,
    #[cfg(feature = "rsa")]
    Rsa,
}

/// The extensions the dispatcher serves (ids are private to this runner).
#[derive(Debug, Clone, Copy)]
pub enum ExtensionIds {
    Auth,
    Chunked,
    WrapKeyToFile,
}

impl From<ExtensionIds> for u8 {
    fn from(id: ExtensionIds) -> u8 {
        match id {
            ExtensionIds::Auth => 0,
            ExtensionIds::Chunked => 1,
            ExtensionIds::WrapKeyToFile => 2,
        }
    }
}

impl TryFrom<u8> for ExtensionIds {
    type Error = Error;
    fn try_from(id: u8) -> Result<Self, Error> {
        match id {
            0 => Ok(Self::Auth),
            1 => Ok(Self::Chunked),
            2 => Ok(Self::WrapKeyToFile),
            _ => Err(Error::FunctionNotSupported),
        }
    }
}

/// Backend list for the opcard client: custom backends first, then core.
#[cfg(not(feature = "rsa"))]
pub const BACKENDS: &[BackendId<BackendIds>] = &[
    BackendId::Custom(BackendIds::Auth),
    BackendId::Custom(BackendIds::Staging),
    BackendId::Core,
];

/// Backend list for the opcard client: custom backends first, then core.
#[cfg(feature = "rsa")]
pub const BACKENDS: &[BackendId<BackendIds>] = &[
    BackendId::Custom(BackendIds::Auth),
    BackendId::Custom(BackendIds::Staging),
    BackendId::Custom(BackendIds::Rsa),
    BackendId::Core,
];

/// Per-client state of the custom backends.
#[derive(Default)]
pub struct DispatchContext {
    auth: AuthContext,
    staging: StagingContext,
}

/// Dispatches trussed requests from opcard to the right backend.
pub struct Dispatcher {
    auth: AuthBackend,
    staging: StagingBackend,
}

impl Dispatcher {
    pub fn new() -> Self {
        Self {
            auth: AuthBackend::new(Location::Internal, FilesystemLayout::V0),
            staging: StagingBackend::new(),
        }
    }
}

impl Default for Dispatcher {
    fn default() -> Self {
        Self::new()
    }
}

impl ExtensionId<AuthExtension> for Dispatcher {
    type Id = ExtensionIds;
    const ID: ExtensionIds = ExtensionIds::Auth;
}

impl ExtensionId<ChunkedExtension> for Dispatcher {
    type Id = ExtensionIds;
    const ID: ExtensionIds = ExtensionIds::Chunked;
}

impl ExtensionId<WrapKeyToFileExtension> for Dispatcher {
    type Id = ExtensionIds;
    const ID: ExtensionIds = ExtensionIds::WrapKeyToFile;
}

impl ExtensionDispatch for Dispatcher {
    type BackendId = BackendIds;
    type Context = DispatchContext;
    type ExtensionId = ExtensionIds;

    fn core_request<P: Platform>(
        &mut self,
        backend: &BackendIds,
        ctx: &mut Context<DispatchContext>,
        request: &Request,
        resources: &mut ServiceResources<P>,
    ) -> Result<Reply, Error> {
        match backend {
            #[cfg(feature = "rsa")]
            BackendIds::Rsa => {
                use trussed::backend::Backend as _;
                trussed_rsa_alloc::SoftwareRsa.request(&mut ctx.core, &mut (), request, resources)
            }
            _ => {
                let _ = (ctx, request, resources);
                Err(Error::RequestNotAvailable)
            }
        }
    }

    fn extension_request<P: Platform>(
        &mut self,
        backend: &BackendIds,
        extension: &ExtensionIds,
        ctx: &mut Context<DispatchContext>,
        request: &request::SerdeExtension,
        resources: &mut ServiceResources<P>,
    ) -> Result<reply::SerdeExtension, Error> {
        match (backend, extension) {
            (BackendIds::Auth, ExtensionIds::Auth) => {
                ExtensionImpl::<AuthExtension>::extension_request_serialized(
                    &mut self.auth,
                    &mut ctx.core,
                    &mut ctx.backends.auth,
                    request,
                    resources,
                )
            }
            (BackendIds::Staging, ExtensionIds::Chunked) => {
                ExtensionImpl::<ChunkedExtension>::extension_request_serialized(
                    &mut self.staging,
                    &mut ctx.core,
                    &mut ctx.backends.staging,
                    request,
                    resources,
                )
            }
            (BackendIds::Staging, ExtensionIds::WrapKeyToFile) => {
                ExtensionImpl::<WrapKeyToFileExtension>::extension_request_serialized(
                    &mut self.staging,
                    &mut ctx.core,
                    &mut ctx.backends.staging,
                    request,
                    resources,
                )
            }
            _ => Err(Error::RequestNotAvailable),
        }
    }
}
