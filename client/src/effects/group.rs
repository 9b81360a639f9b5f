//! The group call requests the UI core asks for, and the [`GroupMsg`] each result becomes.

use zulip_calls_protocol::ErrorCode;

use crate::app::{AnswerError, GroupCommand, GroupMsg, GroupSnapshot};
use crate::backend::api::ClientError;
use crate::backend::calls::Calls;
use crate::backend::groups::NewGroupCall;

/// Sends the request `command` stands for.
pub async fn request(calls: &Calls, command: GroupCommand) -> GroupMsg {
    let text = |err: ClientError| err.to_string();
    match command {
        GroupCommand::Start {
            user_ids,
            call_type,
            title,
        } => {
            let new = NewGroupCall {
                user_ids,
                call_type,
                title,
            };
            GroupMsg::Started(calls.create_group(&new).await.map_err(text))
        }
        GroupCommand::Invite { call_id, user_ids } => GroupMsg::Invited {
            call_id,
            result: calls
                .invite_to_group(call_id, &user_ids)
                .await
                .map_err(text),
        },
        GroupCommand::Join(call_id) => GroupMsg::Joined {
            call_id,
            result: calls.join_group(call_id).await.map_err(answer_error),
        },
        GroupCommand::Decline(call_id) => GroupMsg::Declined {
            call_id,
            result: calls
                .decline_group(call_id)
                .await
                .map(|_| ())
                .map_err(answer_error),
        },
        GroupCommand::Leave(call_id) => GroupMsg::Left {
            call_id,
            result: calls.leave_group(call_id).await.map(|_| ()).map_err(text),
        },
        GroupCommand::End(call_id) => GroupMsg::Ended {
            call_id,
            result: calls.end_group(call_id).await.map(|_| ()).map_err(text),
        },
        GroupCommand::Load(call_id) => {
            let result = async {
                let call = calls.group_status(call_id).await?;
                let participants = calls.group_participants(call_id).await?.participants;
                Ok(GroupSnapshot { call, participants })
            }
            .await
            .map_err(text);
            GroupMsg::Loaded { call_id, result }
        }
    }
}

/// An answer to an invitation that failed: final when the server refused it for the call's
/// sake (over, full, not mine: 400, 403, 404), worth another try otherwise.
fn answer_error(err: ClientError) -> AnswerError {
    let over = matches!(
        err.code(),
        Some(ErrorCode::BadRequest | ErrorCode::CallNotFound | ErrorCode::NotAParticipant)
    ) || matches!(err, ClientError::NoGroupCalls { .. });
    if over {
        AnswerError::CallOver(err.to_string())
    } else {
        AnswerError::NotSent(err.to_string())
    }
}
