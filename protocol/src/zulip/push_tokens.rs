//! `POST|DELETE users/me/android_gcm_reg_id` and `POST|DELETE users/me/apns_device_token`.
//!
//! Absent from the 2024 OpenAPI file; shapes follow spec §6 and Zulip's newer OpenAPI
//! (`add-fcm-token`, `add-apns-token`, ...).

use serde::{Deserialize, Serialize};

use crate::endpoint::{Empty, endpoint};

endpoint! {
    /// Registers an FCM token: the device gets `call` pushes.
    AddAndroidGcmRegId: Post "users/me/android_gcm_reg_id", auth Basic,
    name "zulip.android_gcm_reg_id_add", path (), AndroidGcmRegIdRequest => Empty
}

endpoint! {
    /// Forgets an FCM token (sign-out, token rotation).
    RemoveAndroidGcmRegId: Delete "users/me/android_gcm_reg_id", auth Basic,
    name "zulip.android_gcm_reg_id_remove", path (), AndroidGcmRegIdRequest => Empty
}

endpoint! {
    /// Registers an APNs token for the iOS app `appid`.
    AddApnsDeviceToken: Post "users/me/apns_device_token", auth Basic,
    name "zulip.apns_token_add", path (), ApnsDeviceTokenAddRequest => Empty
}

endpoint! {
    /// Forgets an APNs token.
    RemoveApnsDeviceToken: Delete "users/me/apns_device_token", auth Basic,
    name "zulip.apns_token_remove", path (), ApnsDeviceTokenRemoveRequest => Empty
}

/// Parameters of both `android_gcm_reg_id` endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AndroidGcmRegIdRequest {
    /// The FCM registration token.
    pub token: String,
}

/// Parameters of `POST apns_device_token`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ApnsDeviceTokenAddRequest {
    /// The APNs device token (hex).
    pub token: String,
    /// The iOS bundle id; becomes the `apns-topic` of pushes. Required since Zulip 8.0.
    pub appid: String,
}

/// Parameters of `DELETE apns_device_token`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ApnsDeviceTokenRemoveRequest {
    pub token: String,
}
